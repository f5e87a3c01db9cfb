// The shape POP3 and IMAP share: a plain port that can upgrade with STARTTLS/STLS, an implicit-TLS
// port, and one protocol session per connection over the (possibly TLS) stream.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import type { DecoyService, ServiceContext, Session } from '../service.ts';
import { MAIL_PERSONA_KEYS, mailStoreConfig, type MailStoreConfig } from './dovecot.ts';

export interface MailboxSession {
  run(): Promise<void>;
}

export type MailboxSessionFactory = (
  socket: Socket,
  stream: Duplex,
  tls: boolean,
  session: Session,
  ctx: ServiceContext,
  cfg: MailStoreConfig,
  context: () => Promise<SecureContext>,
) => MailboxSession;

export function mailboxService(opts: { name: string; summary: string; plainPort: number; tlsPort: number; open: MailboxSessionFactory }): DecoyService {
  return {
    name: opts.name,
    summary: opts.summary,
    listens: [
      { port: opts.plainPort, transport: 'tcp' },
      { port: opts.tlsPort, transport: 'tcp', tls: true },
    ],
    personaKeys: MAIL_PERSONA_KEYS,
    async create(ctx) {
      const cfg = mailStoreConfig(ctx);
      const { acceptTls, secureContextProvider } = await import('../tls-server.ts');
      const context = secureContextProvider(ctx);
      const start = async (socket: Socket, session: Session, tls: boolean): Promise<void> => {
        let stream: Duplex = socket;
        if (tls) {
          const secure = await acceptTls(socket, { session, context, via: 'implicit', log: ctx.log });
          if (!secure) return;
          stream = secure;
        }
        await opts.open(socket, stream, tls, session, ctx, cfg, context).run();
      };
      return {
        onConnection(socket, session, listen) {
          start(socket, session, listen.tls === true).catch((err: unknown) => {
            ctx.log.warn(`${opts.name} session failed`, { err });
            socket.destroy();
          });
        },
      };
    },
  };
}
