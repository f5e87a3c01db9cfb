// Stable SSH host keys per decky (ed25519, ECDSA P-256, RSA 3072, as a stock OpenSSH install has),
// generated once with node:crypto and kept under the data directory, so a decky's fingerprint
// survives restarts like a real server's. Files use the formats OpenSSH itself writes.
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface HostKey {
  /** ssh-ed25519, ecdsa-sha2-nistp256 or ssh-rsa. */
  type: string;
  /** Private key in a format the SSH library parses. */
  pem: string;
  /** `SHA256:…` of the public key blob, as ssh-keygen -l prints it. */
  fingerprint: string;
}

const generate = promisify(generateKeyPair);

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function b64url(s: string): Buffer {
  return Buffer.from(s, 'base64url');
}

/** The SSH wire blob of a public key (what fingerprints hash). */
export function publicBlob(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty === 'OKP') return Buffer.concat([sshString('ssh-ed25519'), sshString(b64url(jwk.x!))]);
  if (jwk.kty === 'EC') {
    const point = Buffer.concat([Buffer.from([4]), b64url(jwk.x!), b64url(jwk.y!)]);
    return Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]);
  }
  const mpint = (b: Buffer): Buffer => sshString(b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
  return Buffer.concat([sshString('ssh-rsa'), mpint(b64url(jwk.e!)), mpint(b64url(jwk.n!))]);
}

export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Encodes an ed25519 private key in the unencrypted openssh-key-v1 format. */
function opensshEd25519(privateKey: KeyObject, comment: string): string {
  const jwk = privateKey.export({ format: 'jwk' });
  const pub = b64url(jwk.x!);
  const seed = b64url(jwk.d!);
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'), sshString('none'), sshString('none'), sshString(''),
    Buffer.from([0, 0, 0, 1]), sshString(pubBlob), sshString(priv),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g)!;
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

interface KeySpec {
  file: string;
  type: string;
  make(comment: string): Promise<{ pem: string; pub: KeyObject }>;
}

const SPECS: KeySpec[] = [
  {
    file: 'ssh_host_ed25519_key',
    type: 'ssh-ed25519',
    make: async (comment) => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      return { pem: opensshEd25519(privateKey, comment), pub: publicKey };
    },
  },
  {
    file: 'ssh_host_ecdsa_key',
    type: 'ecdsa-sha2-nistp256',
    make: async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return { pem: privateKey.export({ type: 'sec1', format: 'pem' }) as string, pub: publicKey };
    },
  },
  {
    file: 'ssh_host_rsa_key',
    type: 'ssh-rsa',
    make: async () => {
      // Generated off the event loop: RSA takes long enough to stall other connections.
      const { privateKey, publicKey } = await generate('rsa', { modulusLength: 3072 });
      return { pem: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string, pub: publicKey };
    },
  },
];

/** Derives the public key of a stored private key (undefined when unreadable). */
function loadPublic(pem: string, type: string): KeyObject | undefined {
  try {
    if (type === 'ssh-ed25519') {
      // openssh-key-v1 is not a format node:crypto reads: take the public key from its header.
      const body = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
      const magic = 'openssh-key-v1\0';
      if (body.subarray(0, magic.length).toString() !== magic) return undefined;
      let off = magic.length;
      for (let i = 0; i < 3; i++) off += 4 + body.readUInt32BE(off);
      off += 4; // nkeys
      const blobLen = body.readUInt32BE(off);
      const blob = body.subarray(off + 4, off + 4 + blobLen);
      const keyLen = blob.readUInt32BE(4 + blob.readUInt32BE(0));
      const raw = blob.subarray(blob.length - keyLen);
      return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    }
    return createPublicKey(createPrivateKey(pem));
  } catch {
    return undefined;
  }
}

/**
 * Loads the decky's host keys from `dir`, creating missing or unreadable ones. When the directory
 * cannot be written the keys live in memory only (and `persisted` is false).
 */
export async function loadHostKeys(dir: string, comment: string): Promise<{ keys: HostKey[]; persisted: boolean; created: number }> {
  let persisted = true;
  let created = 0;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch {
    persisted = false;
  }
  const keys: HostKey[] = [];
  for (const spec of SPECS) {
    const path = join(dir, spec.file);
    let pem: string | undefined;
    let pub: KeyObject | undefined;
    try {
      pem = await readFile(path, 'utf8');
      pub = loadPublic(pem, spec.type);
    } catch {
      pem = undefined;
    }
    if (!pem || !pub) {
      const made = await spec.make(comment);
      pem = made.pem;
      pub = made.pub;
      created++;
      if (persisted) {
        try {
          const tmp = `${path}.${process.pid}.tmp`;
          await writeFile(tmp, pem, { mode: 0o600 });
          await rename(tmp, path);
        } catch {
          persisted = false;
        }
      }
    }
    keys.push({ type: spec.type, pem, fingerprint: fingerprintOf(publicBlob(pub)) });
  }
  return { keys, persisted, created };
}
