// Credential extraction from HTTP requests: Authorization headers (Basic, Bearer/Token, Digest) and login
// forms (urlencoded, multipart, JSON). Everything here parses attacker input, so sizes and counts are capped
// and nothing throws.
import { header, type HttpRequest } from './http-parser.ts';

export type SecretKind = 'plaintext' | 'http_bearer' | 'http_digest_md5';

export interface CapturedLogin {
  username: string;
  secret: string;
  /** How the credential arrived: form, basic, digest, bearer, xmlrpc, query, json. */
  method: string;
  secretKind: SecretKind;
  /** Extra fields worth recording (digest realm/nonce/uri). */
  extra?: Record<string, string>;
}

const MAX_FIELDS = 200;
const MAX_VALUE = 1024;

const cap = (s: string, n = MAX_VALUE): string => (s.length > n ? s.slice(0, n) : s);

/** Authorization header → captured credential (Basic, Bearer/Token, Digest), or null. */
export function loginFromAuthorization(req: Pick<HttpRequest, 'headers'>): CapturedLogin | null {
  const value = header(req, 'authorization');
  if (!value) return null;
  const space = value.indexOf(' ');
  const scheme = (space === -1 ? value : value.slice(0, space)).toLowerCase();
  const rest = space === -1 ? '' : value.slice(space + 1).trim();
  if (scheme === 'basic') {
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return {
      username: cap(colon === -1 ? decoded : decoded.slice(0, colon), 256),
      secret: cap(colon === -1 ? '' : decoded.slice(colon + 1)),
      method: 'basic',
      secretKind: 'plaintext',
    };
  }
  if (scheme === 'bearer' || scheme === 'token') {
    return { username: '', secret: cap(rest, 4096), method: 'bearer', secretKind: 'http_bearer' };
  }
  if (scheme === 'digest') {
    const params = parseAuthParams(rest);
    const extra: Record<string, string> = {};
    for (const k of ['realm', 'nonce', 'uri', 'qop', 'nc', 'cnonce', 'algorithm']) if (params[k] !== undefined) extra[k] = cap(params[k]!, 256);
    return { username: cap(params.username ?? '', 256), secret: cap(params.response ?? '', 256), method: 'digest', secretKind: 'http_digest_md5', extra };
  }
  return null;
}

/** `k=v, k2="v 2"` auth-params (RFC 7235), bounded. */
function parseAuthParams(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.){0,1024})"|([^\s,]{0,1024}))/g;
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = re.exec(s.slice(0, 8192))) !== null && n++ < 32) out[m[1]!.toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  return out;
}

/** Form fields of a request body (urlencoded, multipart/form-data, flat JSON object), bounded. Empty when none. */
export function formFields(req: Pick<HttpRequest, 'headers' | 'body'>): Record<string, string> {
  if (req.body.length === 0) return {};
  const ct = (header(req, 'content-type') ?? '').toLowerCase();
  try {
    if (ct.startsWith('multipart/form-data')) return multipartFields(req.body, header(req, 'content-type')!);
    if (ct.includes('json')) return jsonFields(req.body.toString('utf8'));
    // Default to urlencoded: many brute-force tools omit the content type.
    return queryFields(req.body.toString('utf8'));
  } catch {
    return {};
  }
}

export function queryFields(qs: string): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of new URLSearchParams(qs.slice(0, 65536))) {
    if (n++ >= MAX_FIELDS) break;
    if (!(k in out)) out[cap(k, 128)] = cap(v);
  }
  return out;
}

function jsonFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const value: unknown = JSON.parse(text.slice(0, 262144));
  const walk = (obj: unknown, prefix: string, depth: number): void => {
    if (depth > 3 || obj === null || typeof obj !== 'object' || Object.keys(out).length >= MAX_FIELDS) return;
    for (const [k, v] of Object.entries(obj as Record<string, unknown>).slice(0, MAX_FIELDS)) {
      const key = cap(prefix ? `${prefix}.${k}` : k, 128);
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] ??= cap(String(v));
      else walk(v, key, depth + 1);
    }
  };
  walk(value, '', 0);
  return out;
}

function multipartFields(body: Buffer, contentType: string): Record<string, string> {
  const out: Record<string, string> = {};
  const m = /boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  if (!m) return out;
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`);
  let pos = body.indexOf(delimiter);
  let n = 0;
  while (pos !== -1 && n++ < MAX_FIELDS) {
    const start = pos + delimiter.length;
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    const part = body.subarray(start, next);
    const headEnd = part.indexOf('\r\n\r\n');
    if (headEnd !== -1) {
      const head = part.subarray(0, Math.min(headEnd, 4096)).toString('latin1');
      const name = /name="([^"]{1,128})"/i.exec(head)?.[1];
      const isFile = /filename=/i.test(head);
      if (name && !isFile && !(name in out)) out[name] = cap(part.subarray(headEnd + 4, part.length - 2).toString('utf8'));
    }
    pos = next;
  }
  return out;
}

const USER_KEYS = ['username', 'user', 'log', 'login', 'email', 'user_login', 'j_username', 'pma_username', 'account', 'uname', 'usr', 'userid', 'user_id', 'name', 'luci_username', 'login_username', 'admin_user', 'loginname'];
const PASS_KEYS = ['password', 'pass', 'pwd', 'passwd', 'pw', 'j_password', 'pma_password', 'luci_password', 'login_password', 'passwort', 'admin_pass', 'secret', 'user_password', 'loginpassword'];

/** Picks a user/password pair out of form fields; `userKeys`/`passKeys` name an app's own fields first. */
export function loginFromFields(fields: Record<string, string>, method: string, userKeys: readonly string[] = [], passKeys: readonly string[] = []): CapturedLogin | null {
  const lowered = new Map<string, string>();
  for (const [k, v] of Object.entries(fields)) {
    const key = k.toLowerCase().replace(/^.*[.[]/, '').replace(/]$/, ''); // login[password], user.password
    if (!lowered.has(key)) lowered.set(key, v);
  }
  const pick = (keys: readonly string[]): string | undefined => {
    for (const k of keys) {
      const v = lowered.get(k.toLowerCase());
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const secret = pick([...passKeys, ...PASS_KEYS]);
  if (secret === undefined) return null;
  return { username: cap(pick([...userKeys, ...USER_KEYS]) ?? '', 256), secret, method, secretKind: 'plaintext' };
}

/** WordPress-style XML-RPC login calls: every (username, password) pair in wp.* / system.multicall params. */
export function loginsFromXmlRpc(body: Buffer): CapturedLogin[] {
  const text = body.subarray(0, 262144).toString('utf8');
  const method = /<methodName>\s*([\w.]{1,64})\s*<\/methodName>/.exec(text)?.[1] ?? '';
  const strings = [...text.matchAll(/<value>\s*(?:<string>)?([^<]{0,1024})(?:<\/string>)?\s*<\/value>/g)].map((m) => decodeXml(m[1]!));
  const logins: CapturedLogin[] = [];
  if (method === 'system.multicall') {
    // Each call: methodName member then params [user, pass, ...]; scan for consecutive non-numeric strings after a wp. method name.
    const calls = text.split(/<name>\s*methodName\s*<\/name>/).slice(1);
    for (const call of calls.slice(0, 50)) {
      const vals = [...call.matchAll(/<value>\s*(?:<string>)?([^<]{0,1024})(?:<\/string>)?\s*<\/value>/g)].map((m) => decodeXml(m[1]!));
      const creds = vals.filter((v) => !/^wp\.|^metaWeblog\.|^blogger\./.test(v));
      if (creds.length >= 2) logins.push({ username: cap(creds[0]!, 256), secret: creds[1]!, method: 'xmlrpc', secretKind: 'plaintext', extra: { rpc_method: 'system.multicall' } });
    }
  } else if (/^(wp\.getUsersBlogs|wp\.getProfile|wp\.getUsers|metaWeblog\.getUsersBlogs|blogger\.getUsersBlogs)$/.test(method) && strings.length >= 2) {
    // blogger.* calls carry an appkey first.
    const [u, p] = method.startsWith('blogger.') ? [strings[1], strings[2]] : [strings[0], strings[1]];
    if (u !== undefined && p !== undefined) logins.push({ username: cap(u, 256), secret: p, method: 'xmlrpc', secretKind: 'plaintext', extra: { rpc_method: method } });
  } else if (/^(wp|metaWeblog)\./.test(method) && strings.length >= 3) {
    // Most wp.* calls are (blog_id, username, password, ...).
    logins.push({ username: cap(strings[1]!, 256), secret: strings[2]!, method: 'xmlrpc', secretKind: 'plaintext', extra: { rpc_method: method } });
  }
  return logins;
}

function decodeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d{1,7});/g, (_, n: string) => String.fromCodePoint(Math.min(Number(n), 0x10ffff)))
    .replace(/&amp;/g, '&');
}
