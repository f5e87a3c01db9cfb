// Login policy and greeting shared by ssh and telnet: which weak credentials open the emulated
// shell, and what a successful interactive login prints (motd, "Last login").
import { seededRandom, type MachineProfile } from './profile.ts';

export interface Credentials {
  rootPassword: string;
  user: string;
  userPassword: string;
  extra: { user: string; password: string }[];
  /** The login name these credentials open a shell for, or undefined. */
  check(username: string, password: string): string | undefined;
}

const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const MAX_EXTRA = 32;

/** Reads the `password`, `user`, `user_password` and `extra_logins` persona keys. */
export function parseCredentials(config: Readonly<Record<string, string>>, warn: (msg: string) => void): Credentials {
  const rootPassword = config.password ?? 'admin';
  let user = (config.user ?? 'ubuntu').trim();
  if (user !== '' && (!USER_NAME.test(user) || user === 'root')) {
    warn(`user ${JSON.stringify(user)} is not a valid login name (lowercase letters, digits, _ and -, not root); no unprivileged login`);
    user = '';
  }
  const userPassword = config.user_password ?? 'admin';
  const extra: { user: string; password: string }[] = [];
  for (const item of (config.extra_logins ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const colon = item.indexOf(':');
    const name = colon === -1 ? '' : item.slice(0, colon);
    if (colon === -1 || !(USER_NAME.test(name) || name === 'root')) {
      warn(`extra_logins entry ${JSON.stringify(item)} ignored: expected user:password with a valid login name`);
      continue;
    }
    if (extra.length >= MAX_EXTRA) {
      warn(`extra_logins holds more than ${MAX_EXTRA} entries; the rest are ignored`);
      break;
    }
    extra.push({ user: name, password: item.slice(colon + 1) });
  }
  return {
    rootPassword,
    user,
    userPassword,
    extra,
    check(username, password) {
      // An empty configured password never matches: it would let every empty attempt in.
      if (username === 'root' && rootPassword !== '' && password === rootPassword) return 'root';
      if (user !== '' && username === user && userPassword !== '' && password === userPassword) return user;
      const hit = extra.find((e) => e.user === username && e.password === password && e.password !== '');
      return hit?.user;
    },
  };
}

function lastLoginDate(ms: number): string {
  const d = new Date(ms);
  const s = d.toUTCString(); // "Tue, 05 Mar 2024 10:12:33 GMT"
  return `${s.slice(0, 3)} ${s.slice(8, 11)} ${String(d.getUTCDate()).padStart(2)} ${s.slice(17, 25)} ${d.getUTCFullYear()}`;
}

/** What an interactive login prints before the first prompt. */
export function loginMessage(p: MachineProfile, clientIp: string): string {
  if (p.embedded) return p.extras.motd(p.shortHostname, p.facts.kernelRelease, p.machine, p.facts.prettyName);
  const kernel = `${p.facts.kernelRelease} ${p.facts.kernelVersion}`;
  const rand = seededRandom(`lastlog:${p.seed}`);
  const previous = Date.now() - Math.floor((1 + rand() * 6) * 86_400_000);
  const octets = p.ip.split('.');
  const from = octets.length === 4 ? `${octets[0]}.${octets[1]}.${octets[2]}.${10 + Math.floor(rand() * 200)}` : clientIp;
  const motd = p.extras.motd(p.shortHostname, p.extras.family === 'debian' && !p.facts.distro.startsWith('ubuntu') ? kernel : p.facts.kernelRelease, p.machine, p.facts.prettyName);
  return `${motd}${motd ? '\n' : ''}Last login: ${lastLoginDate(previous)} from ${from}\n`;
}
