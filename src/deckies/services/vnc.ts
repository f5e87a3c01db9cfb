// VNC decoy: the RFB handshake (RFC 6143) up to VNC authentication. The server offers security
// type 2, sends a random 16-byte challenge, records the client's DES response together with the
// challenge (enough to crack the password offline) and reports failure. Like libvncserver-based
// servers, a source that keeps failing is told "Too many authentication failures" for a while.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { ByteQueue } from '../proto/byte-queue.ts';
import { FailureTracker } from '../proto/failure-tracker.ts';
import { hexPreview } from '../proto/preview.ts';
import type { DecoyService, Session } from '../service.ts';

const SEC_NONE = 1;
const SEC_VNC = 2;
const VERSION_RE = /^RFB (\d{3})\.(\d{3})\n$/;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function reasonBlock(text: string): Buffer {
  const b = Buffer.from(text, 'latin1');
  return Buffer.concat([u32(b.length), b]);
}

const service: DecoyService = {
  name: 'vnc',
  summary: 'RFB handshake with challenge capture',
  listens: [{ port: 5900, transport: 'tcp' }],
  personaKeys: {
    version: { summary: 'RFB protocol version the server announces', default: '003.008', choices: ['003.003', '003.007', '003.008'] },
    failure_reason: { summary: 'reason text sent after a failed authentication (RFB 3.8)', default: 'Authentication failed' },
  },
  create(ctx) {
    const serverVersion = ctx.config.version!;
    const serverMinor = Number(serverVersion.slice(4));
    const failureReason = ctx.config.failure_reason!;
    // Five failures within a minute lock the source out for a minute, as libvncserver does.
    const failures = new FailureTracker(5, 60_000, 60_000);

    function handle(socket: Socket, session: Session): void {
      const q = new ByteQueue(64);
      let state: 'version' | 'choice' | 'response' | 'done' = 'version';
      let minor = 8;
      let challenge = Buffer.alloc(0);
      let clientVersion = '';

      const sendChallenge = (): void => {
        challenge = randomBytes(16);
        socket.write(challenge);
        state = 'response';
      };

      const drain = (): boolean => {
        for (;;) {
          if (state === 'done') return false;
          if (state === 'version') {
            if (q.length < 12) return true;
            const raw = q.take(12);
            const m = VERSION_RE.exec(raw.toString('latin1'));
            if (!m) {
              session.record('payload', { stage: 'version', data_hex: hexPreview(raw) });
              state = 'done';
              socket.end();
              return false;
            }
            clientVersion = `${m[1]}.${m[2]}`;
            // RFB 3.889 is Apple's 3.8; anything unknown below 3.7 is treated as 3.3 (RFC 6143 §7.1.1).
            const clientMinor = Number(m[1]) === 3 ? Number(m[2]) : 8;
            minor = Math.min(serverMinor, clientMinor >= 8 ? 8 : clientMinor >= 7 ? 7 : 3);
            session.record('handshake', { client_version: clientVersion, protocol: `3.${minor}` });
            if (failures.locked(session.peer.srcIp)) {
              session.record('auth_blocked', { reason: 'too_many_failures' });
              state = 'done';
              socket.end(minor >= 7 ? Buffer.concat([Buffer.from([0]), reasonBlock('Too many authentication failures')]) : Buffer.concat([u32(0), reasonBlock('Too many authentication failures')]));
              return false;
            }
            if (minor >= 7) {
              socket.write(Buffer.from([1, SEC_VNC]));
              state = 'choice';
            } else {
              socket.write(u32(SEC_VNC));
              sendChallenge();
            }
            continue;
          }
          if (state === 'choice') {
            if (q.length < 1) return true;
            const choice = q.take(1)[0]!;
            session.record('security_choice', { type: choice });
            if (choice !== SEC_VNC) {
              state = 'done';
              const fail = minor >= 8 ? Buffer.concat([u32(1), reasonBlock(choice === SEC_NONE ? 'Security type not supported' : 'Invalid security type')]) : Buffer.alloc(0);
              socket.end(fail);
              return false;
            }
            sendChallenge();
            continue;
          }
          if (state === 'response') {
            if (q.length < 16) return true;
            const response = q.take(16);
            failures.fail(session.peer.srcIp);
            session.record(
              'auth_attempt',
              {
                auth_method: 'vnc',
                client_version: clientVersion,
                challenge: challenge.toString('hex'),
                response: response.toString('hex'),
                secret_kind: 'vnc_des_response',
                success: false,
              },
              // John the Ripper's VNC format: the challenge/response pair is what a cracker needs.
              { secret: `$vnc$*${challenge.toString('hex').toUpperCase()}*${response.toString('hex').toUpperCase()}` },
            );
            state = 'done';
            socket.end(minor >= 8 ? Buffer.concat([u32(1), reasonBlock(failureReason)]) : u32(1));
            return false;
          }
        }
      };

      socket.on('data', (chunk: Buffer) => {
        if (state !== 'done' && !q.feed(chunk, drain)) socket.destroy();
      });
      socket.write(`RFB ${serverVersion}\n`);
    }

    return { onConnection: handle };
  },
};

export default service;
