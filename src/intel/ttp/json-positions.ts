// A strict JSON (RFC 8259) parser that remembers where each value starts, so a rule validator can
// say `file.json:42:7` instead of "somewhere in the file". JSON.parse cannot report positions of
// values, only of syntax errors. Duplicate keys are an error here (JSON.parse silently keeps the
// last one, which hides mistakes in hand-written rule files). Depth and size are bounded.

export interface Position {
  line: number;
  column: number;
}

export class JsonSyntaxError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(message: string, pos: Position) {
    super(`${pos.line}:${pos.column}: ${message}`);
    this.name = 'JsonSyntaxError';
    this.line = pos.line;
    this.column = pos.column;
  }
}

export interface ParsedJson {
  value: unknown;
  /** Where a container (object or array) starts. */
  positionOf(container: object): Position | undefined;
  /** Where the value under `key` (object) or index (array) starts; falls back to the container's start. */
  positionIn(container: object, key: string | number): Position | undefined;
}

const MAX_DEPTH = 64;
export const MAX_JSON_CHARS = 4 * 1024 * 1024;

export function parseJsonWithPositions(text: string): ParsedJson {
  if (text.length > MAX_JSON_CHARS) {
    throw new JsonSyntaxError(`file is larger than ${MAX_JSON_CHARS} characters`, { line: 1, column: 1 });
  }
  const starts = new WeakMap<object, Position>();
  const members = new WeakMap<object, Map<string | number, Position>>();
  let i = 0;
  let line = 1;
  let lineStart = 0;

  const here = (): Position => ({ line, column: i - lineStart + 1 });
  const fail = (message: string): never => {
    throw new JsonSyntaxError(message, here());
  };

  const skipWs = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0d) i++;
      else if (c === 0x0a) {
        i++;
        line++;
        lineStart = i;
      } else break;
    }
  };

  const describe = (): string => (i >= text.length ? 'end of file' : JSON.stringify(text[i]));

  const parseString = (): string => {
    i++; // opening quote
    let out = '';
    let runStart = i;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(runStart, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in string (escape it, e.g. \\n)');
      if (c === 0x5c) {
        out += text.slice(runStart, i);
        const e = text[i + 1];
        i += 2;
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const hex = text.slice(i, i + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape (needs 4 hex digits)');
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            i -= 2; // point at the backslash
            fail(`bad escape \\${e ?? ''} in string (regex backslashes must be doubled in JSON: "\\\\b")`);
        }
        runStart = i;
        continue;
      }
      i++;
    }
  };

  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const parseNumber = (): number => {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m || m[0] === '-' || m[0].length === 0) fail('bad number');
    i += m![0].length;
    return Number(m![0]);
  };

  const literal = (word: string, value: unknown): unknown => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return value;
    }
    return fail(`unexpected ${describe()}`);
  };

  const parseValue = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    skipWs();
    const c = text[i];
    if (c === '{') return parseObject(depth);
    if (c === '[') return parseArray(depth);
    if (c === '"') return parseString();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return parseNumber();
    return fail(`unexpected ${describe()} (expected a value)`);
  };

  const parseObject = (depth: number): Record<string, unknown> => {
    const obj: Record<string, unknown> = Object.create(null);
    const pos = new Map<string, Position>();
    starts.set(obj, here());
    members.set(obj, pos);
    i++;
    skipWs();
    if (text[i] === '}') {
      i++;
      return obj;
    }
    for (;;) {
      skipWs();
      if (text[i] !== '"') fail(`unexpected ${describe()} (expected a "key")`);
      const keyPos = here();
      const key = parseString();
      if (pos.has(key)) throw new JsonSyntaxError(`duplicate key "${key}"`, keyPos);
      skipWs();
      if (text[i] !== ':') fail(`unexpected ${describe()} (expected ":")`);
      i++;
      skipWs();
      pos.set(key, here());
      obj[key] = parseValue(depth + 1);
      skipWs();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return obj;
      }
      fail(`unexpected ${describe()} (expected "," or "}")`);
    }
  };

  const parseArray = (depth: number): unknown[] => {
    const arr: unknown[] = [];
    const pos = new Map<number, Position>();
    starts.set(arr, here());
    members.set(arr, pos);
    i++;
    skipWs();
    if (text[i] === ']') {
      i++;
      return arr;
    }
    for (;;) {
      skipWs();
      pos.set(arr.length, here());
      arr.push(parseValue(depth + 1));
      skipWs();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return arr;
      }
      fail(`unexpected ${describe()} (expected "," or "]")`);
    }
  };

  if (text.charCodeAt(0) === 0xfeff) i = 1; // tolerate a UTF-8 byte order mark
  const value = parseValue(0);
  skipWs();
  if (i < text.length) fail(`unexpected ${describe()} after the end of the document`);

  return {
    value,
    positionOf: (container) => starts.get(container),
    positionIn: (container, key) => members.get(container)?.get(key) ?? starts.get(container),
  };
}
