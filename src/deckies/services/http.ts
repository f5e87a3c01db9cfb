// Plain HTTP decoy: a persona-appropriate web server (nginx/Apache/IIS/servlet identity) with an optional
// fake application whose login forms capture credentials. The site logic lives in ../web/ and is shared
// with the https service; a listener the plan marks `tls` is served behind TLS like https.
import type { DecoyService } from '../service.ts';
import { WEB_PERSONA_KEYS, createSite } from '../web/site.ts';

const http: DecoyService = {
  name: 'http',
  summary: 'web server with fake login pages',
  listens: [{ port: 80, transport: 'tcp' }],
  personaKeys: WEB_PERSONA_KEYS,
  async create(ctx) {
    const site = await createSite(ctx);
    let tlsContext: (() => Promise<import('node:tls').SecureContext>) | null = null;
    return {
      onConnection(socket, session, listen) {
        if (!listen.tls) {
          site.serve(socket, session, listen.port, false);
          return;
        }
        void import('../tls-server.ts').then(async ({ acceptTls, secureContextProvider }) => {
          tlsContext ??= secureContextProvider(ctx);
          const secure = await acceptTls(socket, { session, context: tlsContext, alpn: ['http/1.1'], via: 'implicit', log: ctx.log, onPlain: (raw) => site.plainOnTlsPort(raw, session, listen.port) });
          if (secure) site.serve(secure, session, listen.port, true);
        });
      },
    };
  },
};

export default http;
