// `nmap -sV` against one decky must name the impersonated product on every port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { findService } from '../../src/deckies/catalog.ts';
import { startTestDecky } from './harness.ts';

const EXPECTED: Record<string, RegExp> = {
  ssh: /OpenSSH/,
  http: /nginx/,
  ftp: /vsftpd/,
  smtp: /Postfix/,
  mysql: /MySQL|MariaDB/,
  redis: /Redis/,
  telnet: /telnet/i,
  postgres: /PostgreSQL/,
};

function nmap(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('nmap', args, { timeout: 150_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

function nmapAvailable(): Promise<boolean> {
  return new Promise((resolve) => execFile('nmap', ['--version'], (err) => resolve(!err)));
}

interface Found {
  state: string;
  name: string;
  product: string;
  version: string;
}

function parsePorts(xml: string): Map<number, Found> {
  const out = new Map<number, Found>();
  for (const m of xml.matchAll(/<port protocol="tcp" portid="(\d+)">([\s\S]*?)<\/port>/g)) {
    const body = m[2];
    const attr = (tag: string, name: string) => new RegExp(`<${tag}\\b[^>]*\\b${name}="([^"]*)"`).exec(body)?.[1] ?? '';
    out.set(Number(m[1]), { state: attr('state', 'state'), name: attr('service', 'name'), product: attr('service', 'product'), version: attr('service', 'version') });
  }
  return out;
}

test('nmap -sV names the impersonated product on every port', { timeout: 180_000 }, async (t) => {
  if (!(await nmapAvailable())) {
    t.skip('nmap is not installed (apt-get install -y nmap)');
    return;
  }
  const present: string[] = [];
  for (const name of Object.keys(EXPECTED)) {
    try {
      await findService(name)!.load();
      present.push(name);
    } catch {
      t.diagnostic(`service ${name} does not exist yet; not scanned`);
    }
  }
  if (present.length === 0) {
    t.skip('none of the scanned services exists yet');
    return;
  }
  const d = await startTestDecky({ services: present, persona: { hostname: 'SRV-ORION-17', distro: 'debian' } });
  try {
    const ports = present.map((s) => d.port(s));
    const xml = await nmap(['-sV', '-Pn', '-n', '--version-intensity', '7', '-p', ports.join(','), '-oX', '-', d.ip]);
    const found = parsePorts(xml);
    const problems: string[] = [];
    for (const service of present) {
      const port = d.port(service);
      const f = found.get(port);
      t.diagnostic(`${service} ${port}: ${f ? `${f.state} ${f.name} product="${f.product}" version="${f.version}"` : 'not reported'}`);
      if (!f || f.state !== 'open' || !EXPECTED[service].test(`${f.product} ${f.name}`)) problems.push(`${service} on ${port}: expected ${EXPECTED[service]}, nmap said ${JSON.stringify(f)}`);
    }
    assert.deepEqual(problems, []);
  } finally {
    await d.stop();
  }
});
