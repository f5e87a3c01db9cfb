// Name-based UUIDs (RFC 9562 §5.5, version 5, SHA-1). Tag ids and STIX ids are derived from what
// they describe, so replaying the same events or exporting the same tags gives the same ids.
import { createHash } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function uuidBytes(uuid: string): Buffer {
  if (!UUID.test(uuid)) throw new Error(`not a UUID: ${uuid}`);
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

export function uuidv5(namespace: string, name: string): string {
  const h = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Namespace of DECNET TTP tag ids (a fixed random UUID; changing it changes every tag id). */
export const TAG_NAMESPACE = '6f2d3c1e-8a47-4b5e-9c0d-2e7f41a6b3d8';
/** Namespace of the STIX objects DECNET mints (identity, observed-data, sightings, bundles). */
export const STIX_NAMESPACE = 'c5a0e3f4-1b2d-4e6a-8f7c-9d3b2a1e0f64';
/** STIX 2.1 §2.9: the namespace for deterministic cyber-observable (SCO) ids. */
export const STIX_SCO_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';
