// Network tools. Nothing here opens a socket, resolves a name or fetches a URL: each tool records
// what the attacker asked for (`download`, `outbound_connect`) and prints the failure a host with
// filtered egress would show.
import { isIP } from 'node:net';
import type { CommandContext, CommandFn } from '../types.ts';
import { BUSYBOX_BUILD } from '../distro-facts.ts';

const MAX_URLS = 16;

/** Normalises what wget/curl accept as a URL (a scheme is optional). Undefined if unusable. */
export function parseTarget(raw: string, defaultScheme = 'http'): URL | undefined {
  if (raw.length > 2048) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `${defaultScheme}://${raw}`;
  try {
    const url = new URL(withScheme);
    return url.hostname ? url : undefined;
  } catch {
    return undefined;
  }
}

function defaultPort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : url.protocol === 'ftp:' ? 21 : url.protocol === 'tftp:' ? 69 : 80;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

function stamp(): string {
  return new Date().toISOString().replace('T', ' ').slice(0, 19);
}

/** A short, jittered pause, as a refused connection takes a round trip. */
function rtt(c: CommandContext): Promise<void> {
  return c.sh.sleep(40 + Math.floor(Math.random() * 120));
}

function recordDownload(c: CommandContext, url: string, tool: string, dest?: string): void {
  c.sh.record('download', { url: url.slice(0, 2048), tool, dest, cwd: c.sh.cwd, user: c.sh.user.name });
}

function wgetArgs(args: string[]): { urls: string[]; quiet: boolean; dest?: string } {
  const urls: string[] = [];
  let quiet = false;
  let dest: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-O' || a === '-P' || a === '--output-document' || a === '-o' || a === '-U' || a === '--user-agent' || a === '-t' || a === '-T') {
      const v = args[++i];
      if (a === '-O' || a === '-P' || a === '--output-document') dest = v;
      continue;
    }
    if (a.startsWith('-O') && a.length > 2) { dest = a.slice(2); continue; }
    if (a.startsWith('--output-document=')) { dest = a.slice(18); continue; }
    if (a === '-q' || a === '--quiet') { quiet = true; continue; }
    if (a.startsWith('-')) { if (a.includes('q') && !a.startsWith('--')) quiet = true; continue; }
    urls.push(a);
  }
  return dest === undefined ? { urls, quiet } : { urls, quiet, dest };
}

async function wget(c: CommandContext): Promise<number> {
  const { urls, quiet, dest } = wgetArgs(c.args);
  const busybox = c.sh.isBusybox;
  if (urls.length === 0) {
    c.err(busybox ? `${BUSYBOX_BUILD} multi-call binary.\n\nUsage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n` : "wget: missing URL\nUsage: wget [OPTION]... [URL]...\n\nTry `wget --help' for more options.\n");
    return 1;
  }
  let status = 0;
  for (const raw of urls.slice(0, MAX_URLS)) {
    const url = parseTarget(raw);
    recordDownload(c, url?.href ?? raw, busybox ? 'busybox-wget' : 'wget', dest);
    if (!url) {
      if (!quiet) c.err(busybox ? `wget: bad address '${raw}'\n` : `${raw}: Invalid host name.\n`);
      status = 1;
      continue;
    }
    const host = hostOf(url);
    const port = defaultPort(url);
    if (!busybox && !quiet) c.err(`--${stamp()}--  ${url.href}\n`);
    await rtt(c);
    if (isIP(host) === 0) {
      if (busybox) c.err(`wget: bad address '${host}'\n`);
      else if (!quiet) c.err(`Resolving ${host} (${host})... failed: Temporary failure in name resolution.\nwget: unable to resolve host address ‘${host}’\n`);
      status = busybox ? 1 : 4;
      continue;
    }
    if (busybox) c.err(`Connecting to ${host} (${host}:${port})\nwget: can't connect to remote host (${host}): Connection refused\n`);
    else if (!quiet) c.err(`Connecting to ${host}:${port}... failed: Connection refused.\n`);
    status = busybox ? 1 : 4;
  }
  return status;
}

const CURL_WITH_VALUE = new Set(['-o', '-H', '-A', '-d', '-X', '-u', '-e', '-m', '--data', '--header', '--user-agent', '--output', '--connect-timeout', '--max-time', '-x', '--proxy', '-b', '-c', '-T', '-F', '--retry']);

function curlArgs(args: string[]): { urls: string[]; silent: boolean; showErrors: boolean; dest?: string } {
  const urls: string[] = [];
  let silent = false;
  let showErrors = false;
  let dest: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (CURL_WITH_VALUE.has(a)) {
      const v = args[++i];
      if (a === '-o' || a === '--output') dest = v;
      continue;
    }
    if (a === '--url') { urls.push(args[++i] ?? ''); continue; }
    if (a.startsWith('--')) { if (a === '--silent') silent = true; if (a === '--show-error') showErrors = true; continue; }
    if (a.startsWith('-') && a.length > 1) {
      if (a.includes('s')) silent = true;
      if (a.includes('S')) showErrors = true;
      if (a.includes('O')) dest = '(remote name)';
      continue;
    }
    urls.push(a);
  }
  return dest === undefined ? { urls, silent, showErrors } : { urls, silent, showErrors, dest };
}

async function curl(c: CommandContext): Promise<number> {
  const { urls, silent, showErrors, dest } = curlArgs(c.args);
  if (urls.length === 0) {
    c.err("curl: try 'curl --help' or 'curl --manual' for more information\n");
    return 2;
  }
  let status = 0;
  for (const raw of urls.slice(0, MAX_URLS)) {
    const url = parseTarget(raw);
    recordDownload(c, url?.href ?? raw, 'curl', dest);
    const say = (msg: string): void => { if (!silent || showErrors) c.err(msg); };
    if (!url) { say(`curl: (3) URL using bad/illegal format or missing URL\n`); status = 3; continue; }
    const host = hostOf(url);
    await rtt(c);
    if (isIP(host) === 0) { say(`curl: (6) Could not resolve host: ${host}\n`); status = 6; continue; }
    say(`curl: (7) Failed to connect to ${host} port ${defaultPort(url)} after ${Math.floor(Math.random() * 4)} ms: Couldn't connect to server\n`);
    status = 7;
  }
  return status;
}

function tftpArgs(args: string[]): { host?: string; port?: string; remote?: string; local?: string } {
  let remote: string | undefined;
  let local: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-r') remote = args[++i];
    else if (a === '-l') local = args[++i];
    else if (a === '-c') { i++; if (args[i] === 'get' || args[i] === 'put') { remote = args[++i]; } }
    else if (a.startsWith('-')) continue;
    else rest.push(a);
  }
  return { host: rest[0], port: rest[1], remote, local };
}

function tftpUrl(t: ReturnType<typeof tftpArgs>): string {
  return `tftp://${t.host}${t.port ? ':' + t.port : ''}/${t.remote ?? t.local ?? ''}`;
}

async function tftp(c: CommandContext): Promise<number> {
  const t = tftpArgs(c.args);
  const { host, remote, local } = t;
  if (!host) { c.err('Usage: tftp [OPTIONS] HOST [PORT]\n'); return 1; }
  recordDownload(c, tftpUrl(t), 'tftp', local ?? remote);
  await c.sh.sleep(2000);
  c.err('tftp: timeout\n');
  return 1;
}

function ftpgetArgs(args: string[]): string[] {
  return args.filter((a, i) => !a.startsWith('-') && !['-u', '-p', '-P'].includes(args[i - 1] ?? ''));
}

async function ftpget(c: CommandContext): Promise<number> {
  const [host, local, remote] = ftpgetArgs(c.args);
  if (!host || !local) { c.err(`Usage: ${c.name} [OPTIONS] HOST [LOCAL_FILE] REMOTE_FILE\n`); return 1; }
  recordDownload(c, `ftp://${host}/${(remote ?? local).replace(/^\/+/, '')}`, c.name, local);
  await rtt(c);
  c.err(`${c.name}: can't connect to remote host (${host}): Connection refused\n`);
  return 1;
}

function recordConnect(c: CommandContext, host: string, port: number | string): void {
  c.sh.record('outbound_connect', { tool: c.name, host: host.slice(0, 255), port: String(port).slice(0, 8) });
}

async function ssh(c: CommandContext): Promise<number> {
  const withValue = new Set(['-p', '-i', '-l', '-o', '-F', '-L', '-R', '-D', '-J', '-b', '-c', '-m', '-P']);
  let port = '22';
  const ops: string[] = [];
  for (let i = 0; i < c.args.length; i++) {
    const a = c.args[i]!;
    if (withValue.has(a)) { const v = c.args[++i]; if (a === '-p' || a === '-P') port = v ?? port; continue; }
    if (a.startsWith('-')) continue;
    ops.push(a);
  }
  if (c.name === 'scp') {
    const remote = ops.find((o) => /^[^/]*:/.test(o));
    if (!remote || ops.length < 2) { c.err('usage: scp [-346ABCOpqRrsTv] [-c cipher] [-D sftp_server_path] [-F ssh_config]\n           [-i identity_file] [-J destination] [-l limit] [-o ssh_option]\n           [-P port] [-S program] [-X sftp_option] source ... target\n'); return 1; }
    const host = remote.split(':')[0]!.split('@').pop()!;
    recordDownload(c, `scp://${remote.replace(':', '/')}`, 'scp');
    recordConnect(c, host, port);
    await rtt(c);
    c.err(`ssh: connect to host ${host} port ${port}: Connection refused\r\nlost connection\n`);
    return 1;
  }
  const target = ops[0];
  if (!target) {
    c.err('usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface] [-b bind_address]\n           [-c cipher_spec] [-D [bind_address:]port] [-E log_file]\n           [-e escape_char] [-F configfile] [-I pkcs11] [-i identity_file]\n           [-J destination] [-L address] [-l login_name] [-m mac_spec]\n           [-O ctl_cmd] [-o option] [-P tag] [-p port] [-R address]\n           [-S ctl_path] [-W host:port] [-w local_tun[:remote_tun]]\n           destination [command [argument ...]]\n');
    return 255;
  }
  const host = target.split('@').pop()!;
  recordConnect(c, host, port);
  await rtt(c);
  if (isIP(host) === 0) { c.err(`ssh: Could not resolve hostname ${host}: Temporary failure in name resolution\r\n`); return 255; }
  c.err(`ssh: connect to host ${host} port ${port}: Connection refused\r\n`);
  return 255;
}

async function nc(c: CommandContext): Promise<number> {
  const ops = c.args.filter((a, i) => !a.startsWith('-') && !['-p', '-w', '-s', '-e', '-c', '-q', '-i'].includes(c.args[i - 1] ?? ''));
  if (c.args.some((a) => /^-[a-z]*l/.test(a))) {
    c.sh.record('outbound_connect', { tool: c.name, listen: true, port: (ops[0] ?? c.args[c.args.indexOf('-p') + 1] ?? '').slice(0, 8) });
    await c.sh.sleep(c.sh.limits.maxSleepMs);
    return 1;
  }
  const [host, port] = ops;
  if (!host) { c.err(c.name === 'telnet' ? '' : 'usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n'); return 1; }
  recordConnect(c, host, port ?? (c.name === 'telnet' ? 23 : ''));
  await rtt(c);
  if (c.name === 'telnet') {
    c.out(`Trying ${host}...\n`);
    c.err(isIP(host) ? `telnet: Unable to connect to remote host: Connection refused\n` : `telnet: could not resolve ${host}/${port ?? 'telnet'}: Temporary failure in name resolution\n`);
    return 1;
  }
  if (isIP(host) === 0) { c.err(`nc: getaddrinfo for host "${host}" port ${port ?? ''}: Temporary failure in name resolution\n`); return 1; }
  if (c.args.some((a) => a.includes('v'))) c.err(`nc: connect to ${host} port ${port ?? ''} (tcp) failed: Connection refused\n`);
  return 1;
}

async function ping(c: CommandContext): Promise<number> {
  let count = 4;
  const ci = c.args.indexOf('-c');
  if (ci !== -1) count = Math.max(1, Math.min(10, Number(c.args[ci + 1]) || 4));
  const host = c.args.filter((a, i) => !a.startsWith('-') && !['-c', '-i', '-W', '-s', '-w', '-t'].includes(c.args[i - 1] ?? ''))[0];
  if (!host) { c.err('ping: usage error: Destination address required\n'); return 1; }
  recordConnect(c, host, 'icmp');
  if (isIP(host) === 0) { await rtt(c); c.err(`ping: ${host}: Temporary failure in name resolution\n`); return 2; }
  c.out(`PING ${host} (${host}) 56(84) bytes of data.\n`);
  await c.sh.sleep(count * 1000);
  c.out(`\n--- ${host} ping statistics ---\n${count} packets transmitted, 0 received, 100% packet loss, time ${count * 1000 - 990}ms\n\n`);
  return 1;
}

async function dnsLookup(c: CommandContext): Promise<number> {
  const name = c.args.find((a) => !a.startsWith('-') && !a.startsWith('@') && !a.startsWith('+'));
  if (name) c.sh.record('outbound_connect', { tool: c.name, host: name.slice(0, 255), port: '53' });
  await c.sh.sleep(1500);
  if (c.name === 'dig') c.out(`\n; <<>> DiG 9.18.24-1-Debian <<>> ${c.args.join(' ')}\n;; global options: +cmd\n;; connection timed out; no servers could be reached\n\n`);
  else if (c.name === 'host') c.out(';; connection timed out; no servers could be reached\n');
  else c.out(';; connection timed out; no servers could be reached\n\n');
  return c.name === 'dig' ? 9 : 1;
}

/**
 * A download tool the persona does not have (tftp on Debian, curl on BusyBox): the shell says
 * "command not found", but what the attacker tried to fetch is still worth recording.
 */
export function recordMissingFetch(c: CommandContext): void {
  const tool = `${c.name} (not installed)`;
  switch (c.name) {
    case 'wget':
      for (const u of wgetArgs(c.args).urls.slice(0, MAX_URLS)) recordDownload(c, parseTarget(u)?.href ?? u, tool);
      return;
    case 'curl':
      for (const u of curlArgs(c.args).urls.slice(0, MAX_URLS)) recordDownload(c, parseTarget(u)?.href ?? u, tool);
      return;
    case 'tftp': {
      const t = tftpArgs(c.args);
      if (t.host) recordDownload(c, tftpUrl(t), tool);
      return;
    }
    case 'ftpget': {
      const [host, local, remote] = ftpgetArgs(c.args);
      if (host && local) recordDownload(c, `ftp://${host}/${(remote ?? local).replace(/^\/+/, '')}`, tool);
    }
  }
}

export const NET_COMMANDS: Record<string, CommandFn> = {
  wget, curl, tftp, ftpget, ftpput: ftpget, ssh, scp: ssh, nc, ncat: nc, netcat: nc, telnet: nc, ping, nslookup: dnsLookup, dig: dnsLookup, host: dnsLookup,
};
