// What every transport checks before publishing: the subject, the type and the payload. These are
// programming errors, so they throw (transport trouble never does). Valid subjects are remembered,
// so a publisher pays for the grammar check once per distinct subject.
import { MAX_BODY_BYTES, type Payload } from './types.ts';
import { assertSubject } from './subject.ts';
import { isValidType, MAX_TYPE_BYTES } from './frame.ts';

const MAX_REMEMBERED = 4096;
const knownSubjects = new Map<string, Buffer>();

/** Checks a publish subject and returns its UTF-8 bytes (cached). Throws SubjectError. */
export function subjectBytes(topic: string): Buffer {
  let bytes = knownSubjects.get(topic);
  if (bytes === undefined) {
    assertSubject(topic);
    bytes = Buffer.from(topic, 'utf8');
    if (knownSubjects.size >= MAX_REMEMBERED) knownSubjects.clear();
    knownSubjects.set(topic, bytes);
  }
  return bytes;
}

export function checkType(type: string): void {
  if (typeof type !== 'string' || !isValidType(type)) {
    throw new TypeError(`event type ${JSON.stringify(type)} must be at most ${MAX_TYPE_BYTES} printable ASCII characters without spaces`);
  }
}

export class PayloadTooLargeError extends RangeError {
  constructor(bytes: number) {
    super(`bus payload is ${bytes} bytes; the limit is ${MAX_BODY_BYTES} (1 MiB). Publish a reference (an id to look up) instead of the data`);
    this.name = 'PayloadTooLargeError';
  }
}

/** Serialises a payload to JSON text, checking that it is a JSON object within the size limit. */
export function serialisePayload(payload: Payload): string {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new TypeError(`bus payload must be a plain object, got ${payload === null ? 'null' : Array.isArray(payload) ? 'an array' : typeof payload}`);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (err) {
    throw new TypeError(`bus payload is not JSON-serialisable: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof json !== 'string' || json.charCodeAt(0) !== 0x7b) {
    throw new TypeError('bus payload must serialise to a JSON object (check its toJSON method)');
  }
  // UTF-8 needs at least one byte per UTF-16 unit and at most three.
  if (json.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(Buffer.byteLength(json));
  if (json.length * 3 > MAX_BODY_BYTES) {
    const bytes = Buffer.byteLength(json);
    if (bytes > MAX_BODY_BYTES) throw new PayloadTooLargeError(bytes);
  }
  return json;
}
