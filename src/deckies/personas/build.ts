// Builds a complete Persona from an archetype (and optionally a distro and host name), for deploy
// plans and tests.
import { ConfigError } from '../../core/errors.ts';
import type { Persona } from '../service.ts';
import { ARCHETYPES, findArchetype } from './archetypes.ts';
import { findDistro } from './distros.ts';
import { generateHostname } from './hostname.ts';

export interface PersonaRequest {
  archetype: string;
  /** Default: the archetype's first preferred distro (or `distroIndex` into its list). */
  distro?: string;
  hostname?: string;
  /** Picks the archetype's preferred distros round-robin. */
  distroIndex?: number;
}

export function buildPersona(req: PersonaRequest, random: () => number = Math.random): Persona {
  const archetype = findArchetype(req.archetype);
  if (!archetype) throw new ConfigError(`unknown archetype ${JSON.stringify(req.archetype)} (known: ${ARCHETYPES.map((a) => a.slug).join(', ')})`);
  const slug = req.distro ?? archetype.distros[(req.distroIndex ?? 0) % archetype.distros.length];
  const distro = findDistro(slug);
  if (!distro) throw new ConfigError(`unknown distro ${JSON.stringify(slug)}`);
  if ((distro.osFamily === 'windows') !== (archetype.osFamily === 'windows')) {
    throw new ConfigError(`distro ${slug} does not fit archetype ${archetype.slug} (${archetype.osFamily}); use one of ${archetype.distros.join(', ')}`);
  }
  return {
    hostname: req.hostname ?? generateHostname(distro.hostnameStyle, archetype.slug, random),
    archetype: archetype.slug,
    distro: distro.slug,
    osFamily: archetype.osFamily,
  };
}
