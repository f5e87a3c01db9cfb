// `decnet services`, `decnet archetypes`, `decnet distros`: the catalog and the personas as tables or JSON.
import type { ParsedArgs } from './args.ts';
import { SERVICES } from '../deckies/catalog.ts';
import { ARCHETYPES } from '../deckies/personas/archetypes.ts';
import { DISTROS, WINDOWS_BUILDS } from '../deckies/personas/distros.ts';
import { renderTable } from './table.ts';

function out(args: ParsedArgs, data: unknown, table: () => string): number {
  process.stdout.write(args.options.json === true ? JSON.stringify(data, null, 2) + '\n' : table());
  return 0;
}

export async function services(args: ParsedArgs): Promise<number> {
  const data = SERVICES.map((s) => ({ name: s.name, ports: [...s.ports], summary: s.summary }));
  return out(args, data, () => renderTable(['SERVICE', 'PORTS', 'DESCRIPTION'], data.map((s) => [s.name, s.ports.join(', '), s.summary])));
}

export async function archetypes(args: ParsedArgs): Promise<number> {
  const data = ARCHETYPES.map((a) => ({ slug: a.slug, name: a.displayName, os_family: a.osFamily, services: [...a.services], distros: [...a.distros], description: a.description }));
  return out(args, data, () => renderTable(['ARCHETYPE', 'OS', 'SERVICES', 'DISTROS', 'DESCRIPTION'], data.map((a) => [a.slug, a.os_family, a.services.join(','), a.distros.join(','), a.description])));
}

export async function distros(args: ParsedArgs): Promise<number> {
  const data = [...DISTROS, ...WINDOWS_BUILDS].map((d) => ({ slug: d.slug, name: d.displayName, os_family: d.osFamily, hostname_style: d.hostnameStyle, kernel: d.facts.kernelRelease, ssh: d.facts.sshVersion }));
  return out(args, data, () => renderTable(['DISTRO', 'NAME', 'OS', 'HOSTNAMES', 'KERNEL', 'SSH'], data.map((d) => [d.slug, d.name, d.os_family, d.hostname_style, d.kernel, d.ssh])));
}
