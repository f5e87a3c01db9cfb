// The log search language of the REST API and the dashboard:
//
//   decky:web1 service:ssh event:auth_attempt attacker:1.2.3.4 user:root "free text" word
//
// Tokens are separated by whitespace and all must match (AND). `decky:`, `service:`, `event:` and
// `attacker:` (also `attacker-ip:`, `attacker_ip:`) match their column exactly; any other
// `key:value` matches the event field `key` exactly; a bare word, or any fully quoted token,
// matches case-insensitively as a substring of the raw line, decky, service or attacker IP.
// Single or double quotes group text with spaces (`msg:"bad login"`); inside double quotes a
// backslash escapes the next character. Values always travel as SQL parameters.
import { DataError } from '../values.ts';

export const MAX_SEARCH_LENGTH = 512;
export const MAX_SEARCH_TERMS = 24;

export type LogColumn = 'decky' | 'service' | 'event_type' | 'attacker_ip';

export type SearchTerm =
  | { kind: 'column'; column: LogColumn; value: string }
  | { kind: 'field'; key: string; value: string }
  | { kind: 'text'; value: string };

const COLUMN_KEYS: Record<string, LogColumn> = {
  decky: 'decky',
  service: 'service',
  event: 'event_type',
  event_type: 'event_type',
  attacker: 'attacker_ip',
  'attacker-ip': 'attacker_ip',
  attacker_ip: 'attacker_ip',
};

const FIELD_KEY = /^[A-Za-z0-9_]{1,64}$/;

export class SearchSyntaxError extends DataError {
  constructor(message: string) {
    super('search', message);
    this.name = 'SearchSyntaxError';
  }
}

interface RawToken {
  text: string;
  /** Index in `text` of the first colon that was outside quotes, or -1. */
  colon: number;
  /** The token started with a quote: it is literal text, never key:value. */
  quotedStart: boolean;
}

function tokenise(input: string): RawToken[] {
  const tokens: RawToken[] = [];
  let i = 0;
  while (i < input.length) {
    while (i < input.length && /\s/.test(input[i])) i++;
    if (i >= input.length) break;
    let text = '';
    let colon = -1;
    const quotedStart = input[i] === '"' || input[i] === "'";
    while (i < input.length && !/\s/.test(input[i])) {
      const c = input[i];
      if (c === '"' || c === "'") {
        const open = i;
        i++;
        while (i < input.length && input[i] !== c) {
          if (c === '"' && input[i] === '\\' && i + 1 < input.length) i++;
          text += input[i];
          i++;
        }
        if (i >= input.length) {
          throw new SearchSyntaxError(`unbalanced ${c === '"' ? 'double' : 'single'} quote at position ${open + 1}; close it or remove it`);
        }
        i++; // closing quote
        continue;
      }
      if (c === ':' && colon === -1) colon = text.length;
      text += c;
      i++;
    }
    tokens.push({ text, colon, quotedStart });
  }
  return tokens;
}

/** Parses a search string into terms; a malformed one fails with a message saying what to fix. */
export function parseLogSearch(input: string | undefined | null): SearchTerm[] {
  if (input === undefined || input === null) return [];
  if (typeof input !== 'string') throw new SearchSyntaxError('must be a string');
  if (input.length > MAX_SEARCH_LENGTH) throw new SearchSyntaxError(`is ${input.length} characters long; the limit is ${MAX_SEARCH_LENGTH}`);
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(input)) throw new SearchSyntaxError('contains control characters');
  const tokens = tokenise(input);
  if (tokens.length > MAX_SEARCH_TERMS) throw new SearchSyntaxError(`has ${tokens.length} terms; the limit is ${MAX_SEARCH_TERMS}`);
  const terms: SearchTerm[] = [];
  for (const token of tokens) {
    if (token.quotedStart || token.colon <= 0) {
      if (token.text === '') continue; // "" matches everything; drop it
      terms.push({ kind: 'text', value: token.text });
      continue;
    }
    const key = token.text.slice(0, token.colon);
    const value = token.text.slice(token.colon + 1);
    if (value === '') throw new SearchSyntaxError(`${key}: needs a value (e.g. ${key}:something, or quote it: "${key}:")`);
    const column = COLUMN_KEYS[key.toLowerCase()];
    if (column) {
      terms.push({ kind: 'column', column, value });
    } else if (FIELD_KEY.test(key) && !value.startsWith('//')) {
      terms.push({ kind: 'field', key, value });
    } else {
      // Not a key (a URL such as http://x, or punctuation before the colon): search it as text.
      terms.push({ kind: 'text', value: token.text });
    }
  }
  return terms;
}
