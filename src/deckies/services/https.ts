// HTTPS decoy: the same web site as the http service behind TLS with the decky's self-signed certificate.
// The ClientHello is fingerprinted (JA3/JA4, offered version, SNI, ALPN) into a `tls_hello` event before any
// request is recorded; plain HTTP sent to the TLS port gets the real server's "plain HTTP to HTTPS port" 400.
import type { DecoyService } from '../service.ts';
import { acceptTls, secureContextProvider } from '../tls-server.ts';
import { WEB_PERSONA_KEYS, createSite } from '../web/site.ts';

const https: DecoyService = {
  name: 'https',
  summary: 'web server over TLS (JA3/JA4 recorded)',
  listens: [{ port: 443, transport: 'tcp', tls: true }],
  personaKeys: WEB_PERSONA_KEYS,
  async create(ctx) {
    const site = await createSite(ctx);
    const context = secureContextProvider(ctx);
    return {
      onConnection(socket, session, listen) {
        void acceptTls(socket, {
          session,
          context,
          alpn: ['http/1.1'],
          via: 'implicit',
          log: ctx.log,
          onPlain: (raw) => site.plainOnTlsPort(raw, session, listen.port),
        }).then((secure) => {
          if (secure) site.serve(secure, session, listen.port, true);
        });
      },
    };
  },
};

export default https;
