// STIX 2.1 bundle of TTP tags. For each tag: an observed-data of the attacker's address and a
// sighting of MITRE's attack-pattern (referenced by its canonical STIX id), sighted by the
// organisation that runs the honeypot. Every id is derived from what the object describes, so the
// same tags always export to the same bundle.
import { isIPv4, isIPv6 } from 'node:net';
import type { AttackCatalogue, Technique } from './catalogue.ts';
import type { TtpTag } from './types.ts';
import { STIX_NAMESPACE, STIX_SCO_NAMESPACE, uuidv5 } from './uuid5.ts';

export interface StixObject {
  type: string;
  id: string;
  spec_version?: string;
  [property: string]: unknown;
}

export interface StixBundle {
  type: 'bundle';
  id: string;
  objects: StixObject[];
}

export interface StixExportOptions {
  catalogue: AttackCatalogue;
  /** The organisation that operates the honeypot (the identity that sights). Default 'DECNET'. */
  identityName?: string;
  /** created/modified of objects that have no natural time (identity, attack patterns). A fixed default keeps exports reproducible. */
  created?: string;
}

const DEFAULT_CREATED = '2025-01-01T00:00:00.000Z';
const MAX_DESCRIPTION = 1024;

function stixTime(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new Error(`not a timestamp: ${iso}`);
  return new Date(ms).toISOString(); // millisecond precision, UTC, Z
}

/** MITRE's attack-pattern, restated under its canonical id so sightings resolve inside the bundle. */
function attackPattern(t: Technique, created: string): StixObject {
  return {
    type: 'attack-pattern',
    spec_version: '2.1',
    id: t.stixId,
    created,
    modified: created,
    name: t.name,
    external_references: [{ source_name: 'mitre-attack', external_id: t.id, url: t.url }],
    kill_chain_phases: t.tactics.map((phase) => ({ kill_chain_name: 'mitre-attack', phase_name: phase })),
  };
}

/** The cyber-observable for an address, with the STIX 2.1 deterministic id (UUIDv5 of its canonical JSON). */
function addressObject(ip: string): StixObject | undefined {
  const type = isIPv4(ip) ? 'ipv4-addr' : isIPv6(ip) ? 'ipv6-addr' : undefined;
  if (!type) return undefined;
  return { type, spec_version: '2.1', id: `${type}--${uuidv5(STIX_SCO_NAMESPACE, JSON.stringify({ value: ip }))}`, value: ip };
}

function describe(tag: TtpTag): string {
  const e = tag.evidence;
  const what = e.matched ?? e.text;
  const agg = e.aggregate ? ` (${e.aggregate.count} events in ${e.aggregate.window_s} s since ${e.aggregate.first_ts})` : '';
  const text = `${tag.technique_id} ${tag.technique_name} by ${tag.attacker_ip} on ${tag.decky}/${tag.service}: ${e.event} ${what}${agg}`;
  return text.length > MAX_DESCRIPTION ? text.slice(0, MAX_DESCRIPTION - 1) + '…' : text;
}

export function exportStix(tags: readonly TtpTag[], opts: StixExportOptions): StixBundle {
  const created = stixTime(opts.created ?? DEFAULT_CREATED);
  const identityName = opts.identityName ?? 'DECNET';
  const identityId = `identity--${uuidv5(STIX_NAMESPACE, `identity|${identityName}`)}`;
  const identity: StixObject = {
    type: 'identity',
    spec_version: '2.1',
    id: identityId,
    created,
    modified: created,
    name: identityName,
    identity_class: 'organization',
    description: 'Operator of a DECNET honeypot fleet; sightings are attacker activity observed on its decoys.',
  };

  const patterns = new Map<string, StixObject>();
  const addresses = new Map<string, StixObject>();
  const observations: StixObject[] = [];
  for (const tag of tags) {
    const technique = opts.catalogue.techniques.get(tag.technique_id);
    if (!technique) throw new Error(`tag ${tag.id}: technique ${tag.technique_id} is not in ATT&CK ${opts.catalogue.version}`);
    if (!patterns.has(technique.id)) patterns.set(technique.id, attackPattern(technique, created));
    const ts = stixTime(tag.ts);
    let observedRefs: string[] | undefined;
    let address = addresses.get(tag.attacker_ip);
    if (!address) {
      address = addressObject(tag.attacker_ip);
      if (address) addresses.set(tag.attacker_ip, address);
    }
    if (address) {
      const observed: StixObject = {
        type: 'observed-data',
        spec_version: '2.1',
        id: `observed-data--${uuidv5(STIX_NAMESPACE, `observed-data|${tag.id}`)}`,
        created: ts,
        modified: ts,
        created_by_ref: identityId,
        first_observed: ts,
        last_observed: ts,
        number_observed: 1,
        object_refs: [address.id],
      };
      observations.push(observed);
      observedRefs = [observed.id];
    }
    const sighting: StixObject = {
      type: 'sighting',
      spec_version: '2.1',
      id: `sighting--${uuidv5(STIX_NAMESPACE, `sighting|${tag.id}`)}`,
      created: ts,
      modified: ts,
      created_by_ref: identityId,
      description: describe(tag),
      first_seen: ts,
      last_seen: ts,
      count: 1,
      confidence: Math.round(tag.confidence * 100),
      sighting_of_ref: technique.stixId,
      where_sighted_refs: [identityId],
      x_decnet_tag_id: tag.id,
      x_decnet_rule_id: tag.rule_id,
      x_decnet_rule_version: tag.rule_version,
      x_decnet_attacker_ip: tag.attacker_ip,
      x_decnet_decky: tag.decky,
      x_decnet_service: tag.service,
      x_decnet_evidence: tag.evidence,
    };
    if (observedRefs) sighting.observed_data_refs = observedRefs;
    observations.push(sighting);
  }

  const objects = [identity, ...[...patterns.values()].sort((a, b) => String(a.name).localeCompare(String(b.name))), ...addresses.values(), ...observations];
  const bundleId = `bundle--${uuidv5(STIX_NAMESPACE, 'bundle|' + objects.map((o) => o.id).sort().join(','))}`;
  return { type: 'bundle', id: bundleId, objects };
}
