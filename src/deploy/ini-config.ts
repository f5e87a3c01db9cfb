// The deployment INI (reference data-bus-topology §3.2), validated with line numbers:
//
//   [general]            net = 192.168.1.0/24, gw = 192.168.1.1, interface = eth0
//   [web]                ip, services = ssh, http, archetype, distro, hostname, nmap_os, mutate_interval, amount
//   [web.ssh]            persona keys of one service of decky (or group) `web`
//   [custom-foo]         bring-your-own service: not supported yet (a clear error)
//
// `amount = N` (1..100) expands a section into deckies <name>-01 … <name>-NN; a `[name.service]`
// section then applies to each of them. Unlike the original, unknown keys, settings for a decky
// that does not exist and dotted decky names are errors rather than silently ignored.
import { ConfigError } from '../core/errors.ts';
import { parseIni, type IniEntry, type IniSection } from '../core/ini.ts';
import { findService } from '../deckies/catalog.ts';
import type { OsFamily } from '../deckies/service.ts';
import type { DeckyRequest, NetworkRequest } from './build.ts';

export interface IniDeployConfig {
  network: NetworkRequest;
  deckies: DeckyRequest[];
  /** `decky|service` → `file:line` of the section that configured it. */
  configLines: Map<string, string>;
}

export const MAX_AMOUNT = 100;
const GENERAL_KEYS = ['net', 'gw', 'interface'];
const DECKY_KEYS = ['ip', 'services', 'archetype', 'distro', 'hostname', 'nmap_os', 'nmap-os', 'mutate_interval', 'mutate-interval', 'amount'];
const NMAP_OS: Record<string, OsFamily> = { linux: 'linux', windows: 'windows', windows_server: 'windows', bsd: 'bsd', embedded: 'embedded', cisco: 'embedded' };

function get(section: IniSection, ...keys: string[]): IniEntry | undefined {
  return section.entries.find((e) => keys.includes(e.key));
}

function checkKeys(section: IniSection, allowed: readonly string[], source: string, what: string): void {
  for (const e of section.entries) {
    if (!allowed.includes(e.key)) throw new ConfigError(`${source}:${e.line}: unknown key '${e.key}' in [${section.name}] (${what} keys: ${allowed.join(', ')})`);
  }
}

export function parseDeployIni(text: string, source: string): IniDeployConfig {
  if (text.trim() === '') throw new ConfigError(`${source}: the file is empty; it needs at least one decky section`);
  const sections = parseIni(text.replace(/\r\n?/g, '\n'), source);
  const preamble = sections.find((s) => s.name === '');
  if (preamble && preamble.entries.length > 0) throw new ConfigError(`${source}:${preamble.entries[0].line}: '${preamble.entries[0].key}' is outside any [section]`);

  const network: NetworkRequest = {};
  const deckySections: IniSection[] = [];
  const serviceSections: { section: IniSection; decky: string; service: string }[] = [];
  for (const section of sections) {
    if (section.name === '') continue;
    const at = `${source}:${section.line}`;
    if (section.name === 'general') {
      checkKeys(section, GENERAL_KEYS, source, '[general]');
      network.subnet = get(section, 'net')?.value || undefined;
      network.gateway = get(section, 'gw')?.value || undefined;
      network.interface = get(section, 'interface')?.value || undefined;
      continue;
    }
    if (section.name.startsWith('custom-')) throw new ConfigError(`${at}: [${section.name}]: custom services are not supported yet; use the built-in services (decnet services)`);
    if (section.name.includes(' ')) throw new ConfigError(`${at}: section name [${section.name}] may not contain spaces`);
    const dot = section.name.lastIndexOf('.');
    if (dot >= 0) {
      const decky = section.name.slice(0, dot);
      const service = section.name.slice(dot + 1);
      if (!findService(service)) throw new ConfigError(`${at}: [${section.name}]: '${service}' is not a service, and decky names may not contain dots (settings sections are [<decky>.<service>])`);
      serviceSections.push({ section, decky, service });
      continue;
    }
    checkKeys(section, DECKY_KEYS, source, 'decky');
    deckySections.push(section);
  }
  if (deckySections.length === 0) throw new ConfigError(`${source}: no decky sections; add one, e.g. [web-01] with services = ssh, http`);

  const deckies: DeckyRequest[] = [];
  const groups = new Map<string, DeckyRequest[]>();
  for (const section of deckySections) {
    const at = (e?: IniEntry) => `${source}:${e?.line ?? section.line}`;
    const amountEntry = get(section, 'amount');
    let amount = 1;
    if (amountEntry) {
      if (!/^\d+$/.test(amountEntry.value) || Number(amountEntry.value) < 1) throw new ConfigError(`${at(amountEntry)}: [${section.name}] amount must be a positive integer, got ${JSON.stringify(amountEntry.value)}`);
      amount = Number(amountEntry.value);
      if (amount > MAX_AMOUNT) throw new ConfigError(`${at(amountEntry)}: [${section.name}] amount ${amount} exceeds the maximum allowed (${MAX_AMOUNT})`);
    }
    const ip = get(section, 'ip');
    if (ip && amount > 1) throw new ConfigError(`${at(ip)}: [${section.name}] cannot combine ip= with amount=${amount}; let the addresses be allocated, or write one section per decky`);
    const hostname = get(section, 'hostname');
    if (hostname && amount > 1) throw new ConfigError(`${at(hostname)}: [${section.name}] cannot combine hostname= with amount=${amount}`);
    const servicesEntry = get(section, 'services');
    let services: string[] | undefined;
    if (servicesEntry) {
      services = servicesEntry.value.split(',').map((s) => s.trim()).filter(Boolean);
      if (services.length === 0) throw new ConfigError(`${at(servicesEntry)}: [${section.name}] services= is empty`);
      const unknown = services.filter((s) => !findService(s));
      if (unknown.length > 0) throw new ConfigError(`${at(servicesEntry)}: unknown service(s) in [${section.name}]: ${unknown.join(', ')} (run \`decnet services\` for the list)`);
    }
    const nmap = get(section, 'nmap_os', 'nmap-os');
    let osFamily: OsFamily | undefined;
    if (nmap) {
      osFamily = NMAP_OS[nmap.value.toLowerCase()];
      if (!osFamily) throw new ConfigError(`${at(nmap)}: [${section.name}] nmap_os must be one of ${Object.keys(NMAP_OS).join(', ')}`);
    }
    const mutate = get(section, 'mutate_interval', 'mutate-interval');
    let mutateInterval: number | undefined;
    if (mutate) {
      if (!/^\d+$/.test(mutate.value) || Number(mutate.value) < 1) throw new ConfigError(`${at(mutate)}: [${section.name}] mutate_interval= must be a positive integer (minutes)`);
      mutateInterval = Number(mutate.value);
    }
    const base = {
      services,
      archetype: get(section, 'archetype')?.value || undefined,
      distro: get(section, 'distro')?.value || undefined,
      osFamily,
      mutateInterval,
    };
    const members: DeckyRequest[] = [];
    for (let i = 1; i <= amount; i++) {
      const name = amount > 1 ? `${section.name}-${String(i).padStart(2, '0')}` : section.name;
      const r: DeckyRequest = { name, where: at(), ...base };
      if (ip) r.ip = ip.value;
      if (hostname) r.hostname = hostname.value;
      members.push(r);
    }
    deckies.push(...members);
    groups.set(section.name, members);
  }

  const configLines = new Map<string, string>();
  for (const { section, decky, service } of serviceSections) {
    const at = `${source}:${section.line}`;
    const targets = groups.get(decky) ?? deckies.filter((d) => d.name === decky);
    if (targets.length === 0) throw new ConfigError(`${at}: [${section.name}]: there is no decky or group named '${decky}'`);
    const config: Record<string, string> = {};
    for (const e of section.entries) {
      const key = e.key.replace(/-/g, '_');
      if (!/^[a-z][a-z0-9_]{0,31}$/.test(key)) throw new ConfigError(`${source}:${e.line}: setting name '${e.key}' must be letters, digits and '_' (at most 32)`);
      config[key] = e.value;
    }
    for (const t of targets) {
      t.config = { ...(t.config ?? {}), [service]: { ...(t.config?.[service] ?? {}), ...config } };
      t.configWhere = { ...(t.configWhere ?? {}), [service]: at };
      configLines.set(`${t.name}|${service}`, at);
    }
  }
  return { network, deckies, configLines };
}
