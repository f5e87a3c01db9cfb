// What attacker tooling looks like from the outside: user agents, SSH client version strings, a
// few published HASSH client fingerprints, and C2 beacon cadences. Used by the ingester (to label
// fingerprint findings) and the profiler (tool guesses). Data and small pure functions only.

export type UserAgentCategory = 'empty' | 'scanner' | 'cli' | 'library' | 'bot' | 'browser' | 'nonstandard';

interface Signature {
  tool: string;
  re: RegExp;
}

const SCANNER_UAS: Signature[] = [
  { tool: 'nmap', re: /nmap/i },
  { tool: 'masscan', re: /masscan/i },
  { tool: 'zgrab', re: /zgrab/i },
  { tool: 'zmap', re: /zmap/i },
  { tool: 'nuclei', re: /nuclei/i },
  { tool: 'sqlmap', re: /sqlmap/i },
  { tool: 'gobuster', re: /gobuster/i },
  { tool: 'dirbuster', re: /dirbuster/i },
  { tool: 'dirb', re: /\bdirb\b/i },
  { tool: 'nikto', re: /nikto/i },
  { tool: 'feroxbuster', re: /feroxbuster/i },
  { tool: 'wfuzz', re: /wfuzz/i },
  { tool: 'ffuf', re: /\bffuf\b/i },
  { tool: 'wpscan', re: /wpscan/i },
  { tool: 'hydra', re: /hydra/i },
  { tool: 'metasploit', re: /metasploit/i },
  { tool: 'burp', re: /burp/i },
  { tool: 'acunetix', re: /acunetix/i },
  { tool: 'nessus', re: /nessus/i },
  { tool: 'openvas', re: /openvas/i },
  { tool: 'whatweb', re: /whatweb/i },
  { tool: 'censys', re: /censys/i },
  { tool: 'shodan', re: /shodan/i },
];

const CLI_UAS: Signature[] = [
  { tool: 'curl', re: /^curl\//i },
  { tool: 'wget', re: /^wget\//i },
  { tool: 'httpie', re: /^httpie\//i },
  { tool: 'powershell', re: /WindowsPowerShell/i },
];

const LIBRARY_UAS: Signature[] = [
  { tool: 'python-requests', re: /python-requests/i },
  { tool: 'python-urllib', re: /python-urllib/i },
  { tool: 'aiohttp', re: /aiohttp/i },
  { tool: 'httpx', re: /python-httpx/i },
  { tool: 'go-http-client', re: /Go-http-client/i },
  { tool: 'okhttp', re: /okhttp/i },
  { tool: 'java', re: /^Java\//i },
  { tool: 'apache-httpclient', re: /Apache-HttpClient/i },
  { tool: 'axios', re: /axios/i },
  { tool: 'node-fetch', re: /node-fetch|undici/i },
  { tool: 'libwww-perl', re: /libwww-perl/i },
  { tool: 'ruby', re: /^Ruby/i },
];

const BOT_UA = /bot|crawler|spider|slurp|monitor/i;
const BROWSER_UA = /^Mozilla\/\d/;

export interface UserAgentVerdict {
  category: UserAgentCategory;
  tool: string | null;
  signals: string[];
}

const INJECTION = /<script|';|' or '|1=1|\/\.\.\/|\/etc\/passwd|\$\{jndi:|\{\{|\$\(|`/i;

/** Classifies a User-Agent header value. */
export function classifyUserAgent(ua: string): UserAgentVerdict {
  const signals: string[] = [];
  if (ua.length > 0 && ua.length < 8) signals.push('suspicious_short');
  if (ua.length > 512) signals.push('suspicious_long');
  if (/[\x00-\x1f\x7f]/.test(ua)) signals.push('nonprintable');
  if (INJECTION.test(ua)) signals.push('injection_like');
  if (ua.trim() === '') return { category: 'empty', tool: null, signals };
  for (const [category, list] of [['scanner', SCANNER_UAS], ['cli', CLI_UAS], ['library', LIBRARY_UAS]] as const) {
    const hit = list.find((s) => s.re.test(ua));
    if (hit) return { category, tool: hit.tool, signals };
  }
  if (BOT_UA.test(ua)) return { category: 'bot', tool: null, signals };
  if (BROWSER_UA.test(ua)) return { category: 'browser', tool: null, signals };
  return { category: 'nonstandard', tool: null, signals };
}

/** SSH identification strings (RFC 4253 §4.2) of common clients and attack tools. */
const SSH_CLIENTS: Signature[] = [
  { tool: 'libssh2', re: /^SSH-2\.0-libssh2/i },
  { tool: 'libssh', re: /^SSH-2\.0-libssh[_-]/i },
  { tool: 'paramiko', re: /paramiko/i },
  { tool: 'go-ssh', re: /^SSH-2\.0-Go\b/i },
  { tool: 'asyncssh', re: /asyncssh/i },
  { tool: 'jsch', re: /jsch/i },
  { tool: 'putty', re: /putty/i },
  { tool: 'openssh', re: /^SSH-2\.0-OpenSSH/i },
  { tool: 'dropbear', re: /dropbear/i },
  { tool: 'ssh2js', re: /ssh2js/i },
  { tool: 'ruby-net-ssh', re: /Ruby\/Net::SSH/i },
  { tool: 'renci-sshnet', re: /Renci\.SshNet/i },
  { tool: 'zgrab', re: /zgrab/i },
  { tool: 'nmap', re: /nmap/i },
  { tool: 'medusa', re: /medusa/i },
  { tool: 'hydra', re: /hydra/i },
  { tool: 'metasploit', re: /metasploit/i },
];

/** The client implementation an SSH version string names, if known. */
export function sshClientTool(version: string): string | null {
  return SSH_CLIENTS.find((s) => s.re.test(version))?.tool ?? null;
}

/**
 * Published HASSH client fingerprints (the MD5 of the client's KEXINIT algorithm lists), as given
 * by the HASSH authors. A HASSH names the SSH library whatever version string the client claims.
 */
export const KNOWN_HASSH: Readonly<Record<string, string>> = {
  de30354b88bae4c2810426614e1b6976: 'renci-sshnet',
  fafc45381bfde997b6305c4e1600f1bf: 'ruby-net-ssh',
  b5752e36ba6c5979a575e43178908adf: 'paramiko',
  '16f898dd8ed8279e1055350b4e20666c': 'dropbear',
  '8a8ae540028bf433cd68356c1b9e8d5b': 'cyberduck',
  '06046964c022c6407d15a27b12a6a4fb': 'openssh',
};

export function hasshTool(hassh: string): string | null {
  return KNOWN_HASSH[hassh.toLowerCase()] ?? null;
}

/** C2 frameworks' default beacon cadence: mean interval (s) and jitter (coefficient of variation). */
export const C2_CADENCES: readonly { tool: string; interval: number; intervalTol: number; cv: number; cvTol: number }[] = [
  { tool: 'cobalt_strike', interval: 60, intervalTol: 8, cv: 0.2, cvTol: 0.05 },
  { tool: 'sliver', interval: 60, intervalTol: 10, cv: 0.3, cvTol: 0.08 },
  { tool: 'havoc', interval: 45, intervalTol: 8, cv: 0.1, cvTol: 0.03 },
  { tool: 'mythic', interval: 30, intervalTol: 6, cv: 0.15, cvTol: 0.03 },
];

export const C2_TOOLS: ReadonlySet<string> = new Set(C2_CADENCES.map((c) => c.tool));

/** C2 frameworks whose default cadence fits a mean inter-arrival time and its CV. */
export function cadenceTools(meanIatS: number | null, cv: number | null): string[] {
  if (meanIatS === null || cv === null) return [];
  return C2_CADENCES.filter((c) => Math.abs(meanIatS - c.interval) <= c.intervalTol && Math.abs(cv - c.cv) <= c.cvTol).map((c) => c.tool);
}
