// A parser for the subset of POSIX sh that attackers type: lists (; & newline), && and ||,
// pipelines, quoting ('…', "…", $'…', backslash), $VAR/${VAR}, $(…) and `…`, redirections,
// assignments, ( … ) and { …; } groups, and the if/for/while compounds. Everything is bounded:
// the caller caps the input length, and nesting depth is limited here.

export type WordPart =
  | { t: 'lit'; v: string; quoted: boolean }
  | { t: 'var'; name: string; quoted: boolean }
  | { t: 'sub'; src: string; quoted: boolean };

export type Word = WordPart[];

export interface Redirect {
  fd: number;
  op: '>' | '>>' | '<' | '>&' | '<&' | '<<' | '<<<' | '&>';
  target: Word;
}

export interface SimpleCommand {
  type: 'simple';
  assigns: { name: string; value: Word }[];
  words: Word[];
  redirects: Redirect[];
}

export interface GroupCommand {
  type: 'group';
  subshell: boolean;
  body: List;
  redirects: Redirect[];
}

export interface IfCommand {
  type: 'if';
  branches: { cond: List; body: List }[];
  otherwise?: List;
}

export interface ForCommand {
  type: 'for';
  name: string;
  items: Word[];
  body: List;
}

export interface WhileCommand {
  type: 'while';
  until: boolean;
  cond: List;
  body: List;
}

export type Command = SimpleCommand | GroupCommand | IfCommand | ForCommand | WhileCommand;

export interface Pipeline {
  negate: boolean;
  commands: Command[];
}

export interface AndOr {
  first: Pipeline;
  rest: { op: '&&' | '||'; pipeline: Pipeline }[];
  background: boolean;
}

export type List = AndOr[];

export class ParseError extends Error {}

type Token = { k: 'word'; parts: Word; raw: string } | { k: 'op'; v: string } | { k: 'io'; fd: number; v: string };

const OPERATORS = ['&&', '||', ';;', '>>', '>&', '<&', '<<<', '<<', '&>', '>|', ';', '&', '|', '(', ')', '<', '>', '\n'];
const MAX_DEPTH = 16;
const MAX_TOKENS = 4096;

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r';
}

function isMeta(c: string): boolean {
  return isSpace(c) || c === '\n' || c === ';' || c === '&' || c === '|' || c === '(' || c === ')' || c === '<' || c === '>';
}

/** Index just past the `)` matching an opening `$(` whose body starts at `i`. */
function matchParen(src: string, i: number): number {
  let depth = 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') i += 2;
    else if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end === -1) throw new ParseError('unexpected EOF while looking for matching `\'\'');
      i = end + 1;
    } else if (c === '"') i = matchDouble(src, i + 1);
    else if (c === '(') { depth++; i++; }
    else if (c === ')') {
      depth--;
      i++;
      if (depth === 0) return i;
    } else i++;
  }
  throw new ParseError("unexpected EOF while looking for matching `)'");
}

/** Index just past the closing `"` of a double-quoted string whose body starts at `i`. */
function matchDouble(src: string, i: number): number {
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else if (c === '$' && src[i + 1] === '(') i = matchParen(src, i + 2);
    else if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end === -1) throw new ParseError('unexpected EOF while looking for matching ``\'');
      i = end + 1;
    } else i++;
  }
  throw new ParseError('unexpected EOF while looking for matching `"\'');
}

const ANSI_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };

/** Decodes the body of $'…'. */
export function ansiC(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\' || i + 1 >= body.length) { out += c; continue; }
    const n = body[++i]!;
    if (n in ANSI_ESCAPES) out += ANSI_ESCAPES[n];
    else if (n === 'x') {
      const m = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 1));
      if (m) { out += String.fromCharCode(parseInt(m[0], 16)); i += m[0].length; } else out += '\\x';
    } else if (n >= '0' && n <= '7') {
      const m = /^[0-7]{1,3}/.exec(body.slice(i))!;
      out += String.fromCharCode(parseInt(m[0], 8) & 0xff);
      i += m[0].length - 1;
    } else out += '\\' + n;
  }
  return out;
}

/** Parses `$…` at `i` (the `$`) into a part; returns the part and the index after it. */
function dollar(src: string, i: number, quoted: boolean): [WordPart, number] {
  const n = src[i + 1];
  if (n === '(') {
    if (src[i + 2] === '(') {
      // Arithmetic: $(( … )) — kept as a substitution the interpreter evaluates safely.
      const end = matchParen(src, i + 2);
      if (src[end - 2] !== ')') throw new ParseError("unexpected EOF while looking for matching `))'");
      return [{ t: 'sub', src: '((' + src.slice(i + 3, end - 2) + '))', quoted }, end];
    }
    const end = matchParen(src, i + 2);
    return [{ t: 'sub', src: src.slice(i + 2, end - 1), quoted }, end];
  }
  if (n === '{') {
    const end = src.indexOf('}', i + 2);
    if (end === -1) throw new ParseError("unexpected EOF while looking for matching `}'");
    return [{ t: 'var', name: src.slice(i + 2, end), quoted }, end + 1];
  }
  const m = /^([A-Za-z_][A-Za-z0-9_]*|[0-9?$#!@*-])/.exec(src.slice(i + 1));
  if (m) return [{ t: 'var', name: m[1]!, quoted }, i + 1 + m[1]!.length];
  return [{ t: 'lit', v: '$', quoted }, i + 1];
}

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    if (tokens.length > MAX_TOKENS) throw new ParseError('line too complex');
    const c = src[i]!;
    if (isSpace(c)) { i++; continue; }
    if (c === '\\' && src[i + 1] === '\n') { i += 2; continue; }
    if (c === '#') {
      const nl = src.indexOf('\n', i);
      i = nl === -1 ? src.length : nl;
      continue;
    }
    // IO number: digits directly followed by < or >.
    const io = /^(\d+)(>>|>&|<&|<<|>|<)/.exec(src.slice(i, i + 12));
    if (io) {
      tokens.push({ k: 'io', fd: Number(io[1]), v: io[2]! });
      i += io[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op) {
      tokens.push({ k: 'op', v: op === '>|' ? '>' : op });
      i += op.length;
      continue;
    }
    // A word.
    const parts: Word = [];
    const start = i;
    let lit = '';
    const flush = (quoted: boolean): void => {
      if (lit) parts.push({ t: 'lit', v: lit, quoted });
      lit = '';
    };
    while (i < src.length && !isMeta(src[i]!)) {
      const ch = src[i]!;
      if (ch === '\\') {
        flush(false);
        if (i + 1 < src.length) parts.push({ t: 'lit', v: src[i + 1]!, quoted: true });
        i += 2;
      } else if (ch === "'") {
        flush(false);
        const end = src.indexOf("'", i + 1);
        if (end === -1) throw new ParseError("unexpected EOF while looking for matching `''");
        parts.push({ t: 'lit', v: src.slice(i + 1, end), quoted: true });
        i = end + 1;
      } else if (ch === '$' && src[i + 1] === "'") {
        flush(false);
        let j = i + 2;
        while (j < src.length && src[j] !== "'") j += src[j] === '\\' ? 2 : 1;
        if (j >= src.length) throw new ParseError("unexpected EOF while looking for matching `''");
        parts.push({ t: 'lit', v: ansiC(src.slice(i + 2, j)), quoted: true });
        i = j + 1;
      } else if (ch === '"') {
        flush(false);
        const end = matchDouble(src, i + 1);
        let j = i + 1;
        let q = '';
        let any = false;
        while (j < end - 1) {
          const d = src[j]!;
          if (d === '\\' && '$`"\\\n'.includes(src[j + 1] ?? '')) {
            if (src[j + 1] !== '\n') q += src[j + 1];
            j += 2;
          } else if (d === '$') {
            const [part, next] = dollar(src, j, true);
            if (part.t === 'lit') q += part.v;
            else {
              if (q) parts.push({ t: 'lit', v: q, quoted: true });
              q = '';
              parts.push(part);
              any = true;
            }
            j = next;
          } else if (d === '`') {
            const close = src.indexOf('`', j + 1);
            if (q) parts.push({ t: 'lit', v: q, quoted: true });
            q = '';
            parts.push({ t: 'sub', src: src.slice(j + 1, close), quoted: true });
            any = true;
            j = close + 1;
          } else {
            q += d;
            j++;
          }
        }
        if (q || !any) parts.push({ t: 'lit', v: q, quoted: true });
        i = end;
      } else if (ch === '$') {
        flush(false);
        const [part, next] = dollar(src, i, false);
        parts.push(part);
        i = next;
      } else if (ch === '`') {
        flush(false);
        const close = src.indexOf('`', i + 1);
        if (close === -1) throw new ParseError('unexpected EOF while looking for matching ``\'');
        parts.push({ t: 'sub', src: src.slice(i + 1, close), quoted: false });
        i = close + 1;
      } else {
        lit += ch;
        i++;
      }
    }
    flush(false);
    tokens.push({ k: 'word', parts, raw: src.slice(start, i) });
  }
  return tokens;
}

const RESERVED = new Set(['if', 'then', 'elif', 'else', 'fi', 'for', 'in', 'do', 'done', 'while', 'until', '{', '}', '!']);

class Parser {
  private pos = 0;
  private depth = 0;
  private readonly tokens: Token[];

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private isOp(v: string): boolean {
    const t = this.peek();
    return t?.k === 'op' && t.v === v;
  }

  /** The token is an unquoted plain word equal to `v` (a reserved word in command position). */
  private isWord(v: string): boolean {
    const t = this.peek();
    return t?.k === 'word' && t.raw === v;
  }

  private unexpected(): never {
    const t = this.peek();
    if (!t) throw new ParseError('syntax error: unexpected end of file');
    const text = t.k === 'word' ? t.raw : t.k === 'io' ? `${t.fd}${t.v}` : t.v === '\n' ? 'newline' : t.v;
    throw new ParseError(`syntax error near unexpected token \`${text}'`);
  }

  private skipNewlines(): void {
    while (this.isOp('\n')) this.pos++;
  }

  parseProgram(): List {
    const list = this.parseList([]);
    if (this.pos < this.tokens.length) this.unexpected();
    return list;
  }

  /** Parses and-or lists until one of `stops` (reserved words) or `)` / end. */
  private parseList(stops: string[]): List {
    if (++this.depth > MAX_DEPTH) throw new ParseError('nesting too deep');
    const list: List = [];
    for (;;) {
      this.skipNewlines();
      const t = this.peek();
      if (!t) break;
      if (t.k === 'op' && (t.v === ')' || t.v === ';;')) break;
      if (t.k === 'word' && stops.includes(t.raw)) break;
      if (t.k === 'op' && (t.v === ';' || t.v === '&')) this.unexpected();
      const andOr = this.parseAndOr();
      list.push(andOr);
      if (this.isOp(';') || this.isOp('\n')) this.pos++;
      else if (this.isOp('&')) { this.pos++; andOr.background = true; }
      else break;
    }
    this.depth--;
    return list;
  }

  private parseAndOr(): AndOr {
    const first = this.parsePipeline();
    const rest: AndOr['rest'] = [];
    while (this.isOp('&&') || this.isOp('||')) {
      const op = (this.tokens[this.pos++] as { v: '&&' | '||' }).v;
      this.skipNewlines();
      rest.push({ op, pipeline: this.parsePipeline() });
    }
    return { first, rest, background: false };
  }

  private parsePipeline(): Pipeline {
    let negate = false;
    if (this.isWord('!')) { negate = true; this.pos++; }
    const commands = [this.parseCommand()];
    while (this.isOp('|')) {
      this.pos++;
      this.skipNewlines();
      commands.push(this.parseCommand());
    }
    return { negate, commands };
  }

  private expectWord(v: string): void {
    if (!this.isWord(v)) this.unexpected();
    this.pos++;
  }

  private parseCommand(): Command {
    const t = this.peek();
    if (!t) this.unexpected();
    if (t.k === 'op' && t.v === '(') {
      this.pos++;
      const body = this.parseList([]);
      if (!this.isOp(')')) this.unexpected();
      this.pos++;
      return { type: 'group', subshell: true, body, redirects: this.parseRedirects() };
    }
    if (t.k === 'word') {
      switch (t.raw) {
        case '{': {
          this.pos++;
          const body = this.parseList(['}']);
          this.expectWord('}');
          return { type: 'group', subshell: false, body, redirects: this.parseRedirects() };
        }
        case 'if': {
          this.pos++;
          const branches: IfCommand['branches'] = [];
          let otherwise: List | undefined;
          for (;;) {
            const cond = this.parseList(['then']);
            this.expectWord('then');
            const body = this.parseList(['elif', 'else', 'fi']);
            branches.push({ cond, body });
            if (this.isWord('elif')) { this.pos++; continue; }
            if (this.isWord('else')) { this.pos++; otherwise = this.parseList(['fi']); }
            this.expectWord('fi');
            break;
          }
          const cmd: IfCommand = { type: 'if', branches };
          if (otherwise) cmd.otherwise = otherwise;
          return cmd;
        }
        case 'for': {
          this.pos++;
          const name = this.peek();
          if (name?.k !== 'word' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name.raw)) this.unexpected();
          this.pos++;
          const items: Word[] = [];
          this.skipNewlines();
          if (this.isWord('in')) {
            this.pos++;
            while (this.peek()?.k === 'word' && !this.isWord('do')) items.push((this.tokens[this.pos++] as { parts: Word }).parts);
          }
          if (this.isOp(';') || this.isOp('\n')) this.pos++;
          this.skipNewlines();
          this.expectWord('do');
          const body = this.parseList(['done']);
          this.expectWord('done');
          return { type: 'for', name: name.raw, items, body };
        }
        case 'while':
        case 'until': {
          this.pos++;
          const cond = this.parseList(['do']);
          this.expectWord('do');
          const body = this.parseList(['done']);
          this.expectWord('done');
          return { type: 'while', until: t.raw === 'until', cond, body };
        }
        case 'then': case 'elif': case 'else': case 'fi': case 'do': case 'done': case '}': case 'in':
          this.unexpected();
      }
    }
    return this.parseSimple();
  }

  private parseRedirect(): Redirect | undefined {
    const t = this.peek();
    if (!t) return undefined;
    let fd: number;
    let op: string;
    if (t.k === 'io') { fd = t.fd; op = t.v; }
    else if (t.k === 'op' && ['>', '>>', '<', '>&', '<&', '<<', '<<<', '&>'].includes(t.v)) {
      op = t.v;
      fd = op.startsWith('<') ? 0 : 1;
    } else return undefined;
    this.pos++;
    const target = this.peek();
    if (target?.k !== 'word') this.unexpected();
    this.pos++;
    return { fd, op: op as Redirect['op'], target: target.parts };
  }

  private parseRedirects(): Redirect[] {
    const out: Redirect[] = [];
    for (let r = this.parseRedirect(); r; r = this.parseRedirect()) out.push(r);
    return out;
  }

  private parseSimple(): SimpleCommand {
    const cmd: SimpleCommand = { type: 'simple', assigns: [], words: [], redirects: [] };
    for (;;) {
      const r = this.parseRedirect();
      if (r) { cmd.redirects.push(r); continue; }
      const t = this.peek();
      if (t?.k !== 'word') break;
      const assign = cmd.words.length === 0 ? /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(t.raw) : null;
      if (assign && t.parts[0]?.t === 'lit' && !t.parts[0].quoted) {
        const first = t.parts[0];
        const value: Word = [{ ...first, v: first.v.slice(assign[0].length) }, ...t.parts.slice(1)];
        cmd.assigns.push({ name: assign[1]!, value });
        this.pos++;
        continue;
      }
      // A reserved word ends a simple command only in command position.
      if (cmd.words.length === 0 && cmd.assigns.length === 0 && RESERVED.has(t.raw) && t.raw !== '!') break;
      cmd.words.push(t.parts);
      this.pos++;
    }
    if (cmd.words.length === 0 && cmd.assigns.length === 0 && cmd.redirects.length === 0) this.unexpected();
    return cmd;
  }
}

export function parse(src: string): List {
  return new Parser(tokenize(src)).parseProgram();
}
