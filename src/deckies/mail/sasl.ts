// SASL PLAIN and LOGIN payload decoding shared by the SMTP, POP3 and IMAP decoys (RFC 4616, the
// draft-murchison LOGIN mechanism). Inputs are attacker base64; outputs are bounded.

export interface PlainCredentials {
  authzid: string;
  username: string;
  password: Buffer;
}

/** Decodes an AUTH PLAIN response ("authzid\0user\0pass", base64); null when malformed. */
export function decodePlain(b64: string): PlainCredentials | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return null;
  const decoded = Buffer.from(b64, 'base64');
  const first = decoded.indexOf(0);
  const second = first === -1 ? -1 : decoded.indexOf(0, first + 1);
  if (first === -1 || second === -1) return null;
  return {
    authzid: decoded.subarray(0, first).toString('utf8').slice(0, 256),
    username: decoded.subarray(first + 1, second).toString('utf8').slice(0, 256),
    password: Buffer.from(decoded.subarray(second + 1, second + 1 + 1024)),
  };
}

/** Decodes one base64 line of AUTH LOGIN; null when it is not base64. */
export function decodeLoginLine(b64: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return null;
  return Buffer.from(b64, 'base64').subarray(0, 1024);
}

export const LOGIN_USERNAME_PROMPT = 'VXNlcm5hbWU6'; // "Username:"
export const LOGIN_PASSWORD_PROMPT = 'UGFzc3dvcmQ6'; // "Password:"
