// Host names in the style each kind of machine really uses, so a fleet does not share one pattern.
import type { HostnameStyle } from './distros.ts';

const WORDS = [
  'alpha', 'bravo', 'delta', 'echo', 'foxtrot', 'gamma', 'helios', 'ion', 'juno', 'kilo', 'lima', 'mercury', 'nova',
  'orion', 'pluto', 'quasar', 'rigel', 'sigma', 'titan', 'umbra', 'vega', 'wolf', 'xray', 'zephyr', 'files',
];
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length)];
}

function twoDigits(random: () => number): number {
  return 10 + Math.floor(random() * 90);
}

function alnum(n: number, random: () => number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += pick([...ALNUM], random);
  return s;
}

/**
 * A host name for a distro style. `archetype` refines Windows names (workstations are
 * DESKTOP-XXXXXXX, servers WIN-XXXXXXXXXXX, domain controllers DC01-style).
 */
export function generateHostname(style: HostnameStyle, archetype = '', random: () => number = Math.random): string {
  const word = pick(WORDS, random);
  switch (style) {
    case 'rhel':
      return `${word}${twoDigits(random)}.localdomain`;
    case 'minimal':
      return `${word}-${twoDigits(random)}`;
    case 'rolling': {
      let other = pick(WORDS, random);
      if (other === word) other = WORDS[(WORDS.indexOf(word) + 1) % WORDS.length];
      return `${word}-${other}`;
    }
    case 'windows':
      if (archetype === 'domain-controller') return `DC${String(1 + Math.floor(random() * 4)).padStart(2, '0')}`;
      if (archetype === 'windows-workstation') return `DESKTOP-${alnum(7, random)}`;
      return `WIN-${alnum(11, random)}`;
    default:
      return `SRV-${word.toUpperCase()}-${twoDigits(random)}`;
  }
}
