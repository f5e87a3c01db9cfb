// Bounded renderings of attacker bytes for event fields: enough to recognise a payload, never the
// whole of a large one (the event writer caps values too, but the cut belongs where the meaning is).

/** Hex of the first `max` bytes. */
export function hexPreview(buf: Buffer, max = 64): string {
  return buf.subarray(0, max).toString('hex');
}

/** Text of the first `max` bytes, decoded as UTF-8 when valid and as Latin-1 otherwise. */
export function textPreview(buf: Buffer, max = 512): string {
  const head = buf.subarray(0, max);
  const utf8 = head.toString('utf8');
  return utf8.includes('\ufffd') ? head.toString('latin1') : utf8;
}

/** A string cut to `max` characters. */
export function clip(s: string, max = 256): string {
  return s.length > max ? s.slice(0, max) : s;
}
