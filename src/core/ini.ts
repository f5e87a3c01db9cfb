// A small INI reader that keeps line numbers, so every validation error can point at its line.
// Syntax: `[section]` or `[kind name]` headers, `key = value` (or `key: value`), `#` and `;` comments
// at line start, values may continue on indented lines.
import { ConfigError } from './errors.ts';

export interface IniEntry {
  key: string;
  value: string;
  line: number;
}

export interface IniSection {
  /** The header text inside the brackets, trimmed. '' for entries before any header. */
  name: string;
  line: number;
  entries: IniEntry[];
}

export const MAX_INI_BYTES = 1024 * 1024;

export function parseIni(text: string, source: string): IniSection[] {
  if (text.length > MAX_INI_BYTES) throw new ConfigError(`${source}: file is larger than ${MAX_INI_BYTES} bytes`);
  const sections: IniSection[] = [{ name: '', line: 0, entries: [] }];
  let last: IniEntry | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    if (/^\s/.test(raw) && last) {
      last.value = `${last.value}\n${trimmed}`;
      return;
    }
    if (trimmed.startsWith('[')) {
      if (!trimmed.endsWith(']')) throw new ConfigError(`${source}:${line}: section header is missing its closing ']'`);
      const name = trimmed.slice(1, -1).trim().replace(/\s+/g, ' ');
      if (!name) throw new ConfigError(`${source}:${line}: empty section name`);
      if (sections.some((s) => s.name === name)) throw new ConfigError(`${source}:${line}: section [${name}] appears twice`);
      sections.push({ name, line, entries: [] });
      last = undefined;
      return;
    }
    const match = /^([A-Za-z0-9_.-]+)\s*[=:]\s*(.*)$/.exec(trimmed);
    if (!match) throw new ConfigError(`${source}:${line}: expected 'key = value', got ${JSON.stringify(trimmed.slice(0, 60))}`);
    const section = sections[sections.length - 1];
    const key = match[1].toLowerCase();
    if (section.entries.some((e) => e.key === key)) throw new ConfigError(`${source}:${line}: key '${key}' is set twice in [${section.name}]`);
    last = { key, value: match[2].trim(), line };
    section.entries.push(last);
  });
  return sections;
}

/** Parses '64M', '1G', '512K' or a plain byte count into bytes. */
export function parseSize(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)i?B?$/i.exec(value.trim());
  if (!m) return undefined;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(m[1]) * unit);
}
