// IMAP4rev1 command syntax (RFC 3501 §9) for the IMAP decoy: a tokenizer over a command line whose
// literals were already read, sequence sets, and string quoting for responses. Bounded: token and list
// counts and nesting depth are capped; malformed input yields ImapSyntaxError.

export class ImapSyntaxError extends Error {}

export type Token = { t: 'atom'; v: string } | { t: 'string'; v: string; raw: Buffer } | { t: 'list'; v: Token[] };

/** A command line as received: text segments, with each literal's bytes between them. */
export type Segments = Array<string | Buffer>;

const MAX_TOKENS = 2000;
const MAX_DEPTH = 8;

export function tokenize(segments: Segments): Token[] {
  let count = 0;
  const root: Token[] = [];
  const stack: Token[][] = [root];
  const push = (tok: Token): void => {
    if (++count > MAX_TOKENS) throw new ImapSyntaxError('too many tokens');
    stack[stack.length - 1]!.push(tok);
  };
  for (const seg of segments) {
    if (Buffer.isBuffer(seg)) {
      push({ t: 'string', v: seg.toString('utf8'), raw: seg });
      continue;
    }
    let i = 0;
    while (i < seg.length) {
      const c = seg[i]!;
      if (c === ' ') {
        i++;
      } else if (c === '(') {
        const list: Token[] = [];
        push({ t: 'list', v: list });
        stack.push(list);
        if (stack.length > MAX_DEPTH) throw new ImapSyntaxError('lists nested too deeply');
        i++;
      } else if (c === ')') {
        if (stack.length === 1) throw new ImapSyntaxError('unbalanced )');
        stack.pop();
        i++;
      } else if (c === '"') {
        let v = '';
        i++;
        for (;;) {
          if (i >= seg.length) throw new ImapSyntaxError('unterminated quoted string');
          const d = seg[i]!;
          if (d === '\\' && i + 1 < seg.length) {
            v += seg[i + 1];
            i += 2;
          } else if (d === '"') {
            i++;
            break;
          } else {
            v += d;
            i++;
          }
        }
        push({ t: 'string', v, raw: Buffer.from(v, 'utf8') });
      } else {
        // Atom; a [...] section (BODY[HEADER.FIELDS (FROM)]) is part of it, spaces and parens included.
        let v = '';
        let depth = 0;
        while (i < seg.length) {
          const d = seg[i]!;
          if (depth === 0 && (d === ' ' || d === '(' || d === ')' || d === '"')) break;
          if (d === '[') depth++;
          else if (d === ']') depth = Math.max(0, depth - 1);
          v += d;
          i++;
        }
        push({ t: 'atom', v });
      }
    }
  }
  if (stack.length !== 1) throw new ImapSyntaxError('unbalanced (');
  return root;
}

/** The text of an atom or string token (astring), else null. */
export function astring(tok: Token | undefined): string | null {
  if (!tok || tok.t === 'list') return null;
  return tok.v;
}

/**
 * Members of a sequence set ("1:3,7,9:*") among 1..max, ascending, at most `cap` of them. `*` is max.
 * Throws on syntax errors.
 */
export function sequenceSet(text: string, max: number, cap = 100_000): number[] {
  if (!/^[\d:*,]{1,4096}$/.test(text)) throw new ImapSyntaxError('invalid sequence set');
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [a, b] = part.split(':');
    const num = (s: string | undefined): number => {
      if (s === '*') return max;
      if (!s || !/^\d{1,10}$/.test(s) || Number(s) === 0) throw new ImapSyntaxError('invalid sequence number');
      return Number(s);
    };
    const lo = num(a);
    const hi = b === undefined ? lo : num(b);
    const from = Math.min(lo, hi);
    const to = Math.min(Math.max(lo, hi), max);
    for (let n = from; n <= to && out.size < cap; n++) out.add(n);
  }
  return [...out].sort((x, y) => x - y);
}

/** Quotes a response string: quoted when printable ASCII, a literal otherwise; NIL for undefined. */
export function imapString(s: string | undefined | null): string {
  if (s === undefined || s === null) return 'NIL';
  if (/^[\x20-\x7e]*$/.test(s) && s.length < 1024) return `"${s.replace(/[\\"]/g, '\\$&')}"`;
  return `{${Buffer.byteLength(s)}}\r\n${s}`;
}
