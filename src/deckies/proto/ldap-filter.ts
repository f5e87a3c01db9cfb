// LDAP search filters (RFC 4511 §4.5.1): decode from BER with depth and size bounds, render in the
// RFC 4515 string form for events, and evaluate against the small bait directories of the ldap
// decoy. Matching is case-insensitive, as for the directory strings these attributes hold.
import { BerError, BerReader, readTlv, type Tlv } from './ber.ts';

export type Filter =
  | { op: 'and' | 'or'; list: Filter[] }
  | { op: 'not'; filter: Filter }
  | { op: 'eq' | 'ge' | 'le' | 'approx'; attr: string; value: string }
  | { op: 'sub'; attr: string; initial?: string; any: string[]; final?: string }
  | { op: 'present'; attr: string }
  | { op: 'ext'; rule?: string; attr?: string; value: string; dn: boolean };

const MAX_DEPTH = 16;
const MAX_NODES = 256;

export function decodeFilter(t: Tlv): Filter {
  let nodes = 0;
  const text = (b: Buffer): string => b.toString('utf8');
  const walk = (el: Tlv, depth: number): Filter => {
    if (++nodes > MAX_NODES) throw new BerError('filter has too many terms');
    if (depth > MAX_DEPTH) throw new BerError('filter nested too deeply');
    const r = new BerReader(el.value);
    switch (el.tag) {
      case 0xa0:
      case 0xa1: {
        const list: Filter[] = [];
        while (r.hasMore()) list.push(walk(r.next(), depth + 1));
        return { op: el.tag === 0xa0 ? 'and' : 'or', list };
      }
      case 0xa2:
        return { op: 'not', filter: walk(readTlv(el.value), depth + 1) };
      case 0xa3:
      case 0xa5:
      case 0xa6:
      case 0xa8: {
        const attr = text(r.octetString());
        const value = text(r.octetString());
        const op = el.tag === 0xa3 ? 'eq' : el.tag === 0xa5 ? 'ge' : el.tag === 0xa6 ? 'le' : 'approx';
        return { op, attr, value };
      }
      case 0xa4: {
        const attr = text(r.octetString());
        const subs = r.sequence();
        const f: Filter = { op: 'sub', attr, any: [] };
        while (subs.hasMore()) {
          const s = subs.next();
          if (s.tag === 0x80) f.initial = text(s.value);
          else if (s.tag === 0x81) f.any.push(text(s.value));
          else if (s.tag === 0x82) f.final = text(s.value);
          else throw new BerError('bad substring element');
        }
        return f;
      }
      case 0x87:
        return { op: 'present', attr: text(el.value) };
      case 0xa9: {
        const f: Filter = { op: 'ext', value: '', dn: false };
        while (r.hasMore()) {
          const s = r.next();
          if (s.tag === 0x81) f.rule = text(s.value);
          else if (s.tag === 0x82) f.attr = text(s.value);
          else if (s.tag === 0x83) f.value = text(s.value);
          else if (s.tag === 0x84) f.dn = s.value[0] !== 0;
        }
        return f;
      }
      default:
        throw new BerError(`unknown filter choice 0x${el.tag.toString(16)}`);
    }
  };
  return walk(t, 0);
}

/** RFC 4515 value escaping (plus any non-printable byte). */
function esc(v: string): string {
  return v.replace(/[*()\\\x00-\x1f\x7f]/g, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

export function renderFilter(f: Filter): string {
  switch (f.op) {
    case 'and':
      return `(&${f.list.map(renderFilter).join('')})`;
    case 'or':
      return `(|${f.list.map(renderFilter).join('')})`;
    case 'not':
      return `(!${renderFilter(f.filter)})`;
    case 'eq':
      return `(${esc(f.attr)}=${esc(f.value)})`;
    case 'ge':
      return `(${esc(f.attr)}>=${esc(f.value)})`;
    case 'le':
      return `(${esc(f.attr)}<=${esc(f.value)})`;
    case 'approx':
      return `(${esc(f.attr)}~=${esc(f.value)})`;
    case 'present':
      return `(${esc(f.attr)}=*)`;
    case 'sub':
      return `(${esc(f.attr)}=${esc(f.initial ?? '')}*${f.any.map((a) => esc(a) + '*').join('')}${esc(f.final ?? '')})`;
    case 'ext':
      return `(${f.attr ? esc(f.attr) : ''}${f.dn ? ':dn' : ''}${f.rule ? ':' + esc(f.rule) : ''}:=${esc(f.value)})`;
  }
}

export type Entry = { dn: string; attrs: Record<string, string[]> };

function values(e: Entry, attr: string): string[] {
  const want = attr.toLowerCase();
  for (const [k, v] of Object.entries(e.attrs)) if (k.toLowerCase() === want) return v;
  return [];
}

export function matches(f: Filter, e: Entry): boolean {
  switch (f.op) {
    case 'and':
      return f.list.every((x) => matches(x, e));
    case 'or':
      return f.list.some((x) => matches(x, e));
    case 'not':
      return !matches(f.filter, e);
    case 'present':
      return f.attr.toLowerCase() === 'objectclass' || values(e, f.attr).length > 0;
    case 'eq':
    case 'approx':
      return values(e, f.attr).some((v) => v.toLowerCase() === f.value.toLowerCase());
    case 'ge':
      return values(e, f.attr).some((v) => v.toLowerCase() >= f.value.toLowerCase());
    case 'le':
      return values(e, f.attr).some((v) => v.toLowerCase() <= f.value.toLowerCase());
    case 'sub':
      return values(e, f.attr).some((raw) => {
        const v = raw.toLowerCase();
        let pos = 0;
        if (f.initial !== undefined) {
          if (!v.startsWith(f.initial.toLowerCase())) return false;
          pos = f.initial.length;
        }
        for (const a of f.any) {
          const i = v.indexOf(a.toLowerCase(), pos);
          if (i < 0) return false;
          pos = i + a.length;
        }
        return f.final === undefined || (v.length - f.final.length >= pos && v.endsWith(f.final.toLowerCase()));
      });
    case 'ext':
      return false;
  }
}
