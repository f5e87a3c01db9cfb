// What a decky's web server looks like for its persona: the Server header a stock install of that distro
// sends, which fake application fits its archetype, and a stable per-decky seed for versions and content.
import { createHash } from 'node:crypto';
import { personaFacts } from '../personas/facts.ts';
import type { Persona } from '../service.ts';

export const FAKE_APPS = ['none', 'router', 'wordpress', 'nas', 'phpmyadmin', 'tomcat', 'jenkins'] as const;
export type FakeAppName = (typeof FAKE_APPS)[number];

/** PHP version string per distro (X-Powered-By with expose_php on, the php.ini-production default). */
const PHP_BY_DISTRO: Record<string, string> = {
  debian: 'PHP/8.2.20',
  ubuntu22: 'PHP/8.1.2-1ubuntu2.18',
  ubuntu20: 'PHP/7.4.3-4ubuntu2.23',
  rocky9: 'PHP/8.0.30',
  centos7: 'PHP/5.4.16',
  alpine: 'PHP/8.2.20',
  fedora: 'PHP/8.2.20',
  kali: 'PHP/8.2.20',
  arch: 'PHP/8.3.9',
};

export function appForArchetype(archetype: string): FakeAppName {
  switch (archetype) {
    case 'web-server':
      return 'wordpress';
    case 'iot-device':
    case 'printer':
      return 'router';
    case 'file-server':
      return 'nas';
    case 'database-server':
      return 'phpmyadmin';
    case 'devops-host':
      return 'jenkins';
    default:
      return 'none';
  }
}

/** Resolves the `server_header` key: 'auto', 'nginx', 'apache', 'iis', 'none', or a literal header value. */
export function serverHeaderFor(persona: Persona, configured: string, app: FakeAppName): string {
  const key = configured.trim();
  const facts = personaFacts(persona);
  const windows = facts.osFamily === 'windows';
  switch (key.toLowerCase()) {
    case 'none':
      return '';
    case 'nginx':
      return windows ? 'nginx/1.24.0' : facts.nginx;
    case 'apache':
      return windows ? 'Apache/2.4.58 (Win64)' : facts.apache;
    case 'iis':
      return 'Microsoft-IIS/10.0';
    case '':
    case 'auto':
      break;
    default:
      return key;
  }
  if (app === 'tomcat') return ''; // Tomcat sends no Server header by default
  if (app === 'jenkins') return 'Jetty(10.0.20)';
  if (windows) return facts.nginx; // the persona's IIS
  if (app === 'router') return facts.osFamily === 'embedded' ? '' : facts.nginx; // uhttpd sends none
  // LAMP stacks on RHEL-likes are usually Apache httpd.
  if ((app === 'phpmyadmin' || app === 'wordpress') && /^(rocky|centos|fedora)/.test(facts.distro)) return facts.apache;
  return facts.nginx;
}

export function phpVersionFor(persona: Persona): string {
  return PHP_BY_DISTRO[personaFacts(persona).distro] ?? 'PHP/8.2.20';
}

/** A stable 32-bit seed per decky, so versions and content differ between deckies but not between restarts. */
export function seedOf(...parts: string[]): number {
  return createHash('sha256').update(parts.join('\0')).digest().readUInt32BE(0);
}

export function pick<T>(seed: number, items: readonly T[]): T {
  return items[seed % items.length]!;
}

/** "SRV-ALPHA-12" → "Alpha"; "files42.localdomain" → "Files". */
export function siteNameFor(hostname: string): string {
  const word = hostname.toLowerCase().replace(/^srv-/, '').split(/[.\-_\d]/).find((w) => w.length > 1) ?? 'intranet';
  return word[0]!.toUpperCase() + word.slice(1);
}
