// One decky's web site, shared by its http and https services: persona-appropriate server identity, the
// configured fake application, common files (robots.txt, favicon, default index), realistic errors, and
// the records: a `request` per request and an `auth_attempt` per captured credential.
import type { Duplex } from 'node:stream';
import type { ServiceContext, Session } from '../service.ts';
import type { AppOutcome, FakeApp, Incoming, SiteInfo } from './apps/types.ts';
import { formFields, loginFromAuthorization, loginFromFields, queryFields, type CapturedLogin } from './credentials.ts';
import { header, type HttpParseError, type HttpRequest } from './http-parser.ts';
import { errorResponse, serveHttp, type HttpResponse } from './http-server.ts';
import { FAKE_APPS, appForArchetype, phpVersionFor, seedOf, serverHeaderFor, siteNameFor, type FakeAppName } from './persona-web.ts';
import { capText, headersJson, printable } from './record-fields.ts';
import { flavorOf, type ServerStyle } from './server-style.ts';
import { defaultIndex, faviconIco, robotsTxt, staticFile } from './static-pages.ts';

export const WEB_PERSONA_KEYS = {
  server_header: {
    summary: "Server header: 'auto' (per distro and app), 'nginx', 'apache', 'iis', 'none', or a literal value",
    default: 'auto',
  },
  fake_app: {
    summary: "Application behind the server: 'auto' picks one for the archetype",
    default: 'auto',
    choices: ['auto', ...FAKE_APPS],
  },
  site_name: {
    summary: "Brand shown in page titles: 'auto' derives it from the hostname",
    default: 'auto',
  },
} as const;

const APP_LOADERS: Record<Exclude<FakeAppName, 'none'>, () => Promise<(site: SiteInfo) => FakeApp>> = {
  wordpress: () => import('./apps/wordpress.ts').then((m) => m.createWordPress),
  phpmyadmin: () => import('./apps/phpmyadmin.ts').then((m) => m.createPhpMyAdmin),
  tomcat: () => import('./apps/tomcat.ts').then((m) => m.createTomcat),
  jenkins: () => import('./apps/jenkins.ts').then((m) => m.createJenkins),
  router: () => import('./apps/router.ts').then((m) => m.createRouter),
  nas: () => import('./apps/nas.ts').then((m) => m.createNas),
};

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND', 'TRACE']);
const HOST_CHARS = /^[A-Za-z0-9.\-_:[\]]{1,255}$/;

export interface WebSite {
  readonly style: ServerStyle;
  readonly app: FakeAppName;
  /** Serves HTTP/1.x on `stream` until it closes. */
  serve(stream: Duplex, session: Session, port: number, tls: boolean): void;
  /** Answers a plain-HTTP request that arrived on a TLS port, as the real server does, then closes. */
  plainOnTlsPort(stream: Duplex, session: Session, port: number): void;
}

export async function createSite(ctx: ServiceContext): Promise<WebSite> {
  const persona = ctx.decky.persona;
  const configuredApp = ctx.config.fake_app ?? 'auto';
  const app: FakeAppName = configuredApp === 'auto' || configuredApp === '' ? appForArchetype(persona.archetype) : (configuredApp as FakeAppName);
  if (!(FAKE_APPS as readonly string[]).includes(app)) throw new Error(`fake_app must be one of auto, ${FAKE_APPS.join(', ')}; got ${JSON.stringify(configuredApp)}`);
  const serverHeader = serverHeaderFor(persona, ctx.config.server_header ?? 'auto', app);
  const style: ServerStyle = { serverHeader, flavor: flavorOf(serverHeader || (app === 'tomcat' || app === 'jenkins' ? 'servlet' : 'nginx')) };
  const configuredName = ctx.config.site_name ?? 'auto';
  const site: SiteInfo = {
    hostname: persona.hostname,
    name: configuredName === 'auto' || configuredName === '' ? siteNameFor(persona.hostname) : configuredName.slice(0, 64),
    ip: ctx.decky.ip,
    persona,
    style,
    php: phpVersionFor(persona),
    seed: seedOf(ctx.decky.name, persona.hostname),
  };
  const fakeApp = app === 'none' ? null : (await APP_LOADERS[app]())(site);

  const common = (inc: Incoming): AppOutcome => {
    const { req, path } = inc;
    const method = req.method;
    const errCtx = { method, host: inc.host, port: inc.port };
    if (!KNOWN_METHODS.has(method) || method === 'TRACE') {
      return { response: errorResponse(style.flavor === 'apache' && !KNOWN_METHODS.has(method) ? 501 : 405, style, errCtx) };
    }
    const staticPath = path === '/robots.txt' || path === '/favicon.ico' || (app === 'none' && (path === '/' || path === '/index.html' || path === '/index.nginx-debian.html'));
    if (staticPath && method !== 'GET' && method !== 'HEAD') {
      if (style.flavor === 'apache' && method === 'OPTIONS') return { response: { status: 200, headers: [['Allow', 'GET,POST,OPTIONS,HEAD']], contentType: 'text/html', body: '' } };
      return { response: errorResponse(405, style, errCtx) };
    }
    if (path === '/robots.txt') return { response: staticFile(style, site.seed, 'text/plain', robotsTxt()) };
    if (path === '/favicon.ico') {
      // A bare nginx/Apache install has no favicon; applications ship one.
      return { response: app === 'none' ? errorResponse(404, style, errCtx) : staticFile(style, site.seed, 'image/x-icon', faviconIco()) };
    }
    if (app === 'none' && (path === '/' || path === '/index.html' || (path === '/index.nginx-debian.html' && style.flavor === 'nginx'))) {
      return { response: staticFile(style, site.seed, 'text/html', defaultIndex(style, persona)) };
    }
    return { response: errorResponse(404, style, errCtx) };
  };

  const handle = (req: HttpRequest, session: Session, port: number, tls: boolean): HttpResponse => {
    const hostHeader = header(req, 'host');
    const hostOnly = hostHeader && HOST_CHARS.test(hostHeader) ? hostHeader.replace(/:\d+$/, '') : ctx.decky.ip;
    const path = normalisePath(req.rawPath);
    let form: Record<string, string> | null = null;
    const inc: Incoming = {
      req,
      path: path ?? '/',
      query: new URLSearchParams(req.query.slice(0, 8192)),
      host: hostOnly,
      tls,
      port,
      form: () => (form ??= formFields(req)),
      site,
    };

    let outcome: AppOutcome;
    if (path === null) {
      outcome = { response: errorResponse(400, style, { method: req.method, host: hostOnly, port }) };
    } else {
      let fromApp: AppOutcome | null = null;
      try {
        fromApp = fakeApp?.handle(inc) ?? null;
      } catch (err) {
        ctx.log.warn('fake app failed on a request', { app, err });
        fromApp = { response: errorResponse(500, style, { method: req.method, host: hostOnly, port }) };
      }
      outcome = fromApp ?? common(inc);
    }

    const logins: CapturedLogin[] = [];
    const fromHeader = loginFromAuthorization(req);
    if (fromHeader) logins.push(fromHeader);
    logins.push(...(outcome.logins ?? []));
    if (!outcome.logins?.length) {
      // Credentials posted to paths no app claims (IoT login endpoints, probes) or sent in a query string.
      const generic = (req.body.length > 0 ? loginFromFields(inc.form(), 'form') : null) ?? loginFromFields(queryFields(req.query), 'query');
      if (generic) logins.push(generic);
    }

    recordRequest(session, req, outcome.response.status, tls, hostHeader);
    for (const login of logins) {
      session.record(
        'auth_attempt',
        {
          username: login.username,
          auth_method: login.method,
          success: false,
          app: app === 'none' ? 'web' : app,
          path: capText(req.rawPath, 512),
          secret_kind: login.secretKind,
          ...(login.extra ?? {}),
        },
        { secret: login.secret },
      );
    }
    return outcome.response;
  };

  const recordRequest = (session: Session, req: HttpRequest, status: number, tls: boolean, host: string | undefined, error?: string): void => {
    const contentType = header(req, 'content-type');
    session.record('request', {
      method: req.method,
      path: capText(req.rawPath, 1024),
      query: req.query ? capText(req.query, 1024) : undefined,
      version: req.version,
      host: capText(host, 256),
      user_agent: capText(header(req, 'user-agent'), 512),
      headers: headersJson(req.headers, 4096),
      header_order: capText(req.headers.map(([k]) => k).join(','), 512),
      body_len: req.body.length,
      body: req.body.length > 0 ? printable(req.body, 512) : undefined,
      content_type: capText(contentType, 128),
      proxy_target: req.absoluteForm ? capText(req.target, 1024) : undefined,
      status,
      error,
      tls: tls || undefined,
      app,
    });
  };

  const recordBadRequest = (session: Session, err: HttpParseError, tls: boolean): void => {
    session.record('request', {
      method: err.method ? printable(err.method, 64) : undefined,
      path: err.target ? printable(err.target, 1024) : undefined,
      status: err.status === 431 && style.flavor === 'nginx' ? 400 : err.status,
      error: err.reason,
      raw: printable(err.raw, 1024),
      tls: tls || undefined,
      app,
    });
  };

  return {
    style,
    app,
    serve(stream, session, port, tls) {
      serveHttp(stream, {
        style,
        port,
        maxRequests: 100,
        handle: (req) => handle(req, session, port, tls),
        onBadRequest: (err) => recordBadRequest(session, err, tls),
      });
    },
    plainOnTlsPort(stream, session, port) {
      // nginx: "400 The plain HTTP request was sent to HTTPS port"; Apache explains it in the body.
      serveHttp(stream, {
        style,
        port,
        maxRequests: 1,
        handle: (req) => {
          recordRequest(session, req, 400, false, header(req, 'host'), 'plain HTTP on TLS port');
          return { ...plainHttpOnTlsPage(style, port), close: true };
        },
        onBadRequest: (err) => recordBadRequest(session, err, false),
      });
    },
  };
}

function plainHttpOnTlsPage(style: ServerStyle, port: number): HttpResponse {
  if (style.flavor === 'nginx') {
    const title = '400 The plain HTTP request was sent to HTTPS port';
    const footer = style.serverHeader ? `<hr><center>${style.serverHeader}</center>\r\n` : '';
    return {
      status: 400,
      contentType: 'text/html',
      body: `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n${footer}</body>\r\n</html>\r\n`,
    };
  }
  if (style.flavor === 'apache') {
    return {
      status: 400,
      contentType: 'text/html; charset=iso-8859-1',
      body: `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>400 Bad Request</title>\n</head><body>\n<h1>Bad Request</h1>\n<p>Your browser sent a request that this server could not understand.<br />\nReason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n Instead use the HTTPS scheme to access this URL, please.<br />\n</p>\n${style.serverHeader ? `<hr>\n<address>${style.serverHeader} Server at localhost Port ${port}</address>\n` : ''}</body></html>\n`,
    };
  }
  return errorResponse(400, style, { port });
}

/** Percent-decodes and resolves dot segments; null when the path escapes the root or holds a NUL (nginx: 400). */
export function normalisePath(rawPath: string): string | null {
  const segments: string[] = [];
  const parts = rawPath.split('/');
  for (let i = 0; i < parts.length; i++) {
    let seg = parts[i]!;
    try {
      seg = decodeURIComponent(seg);
    } catch {
      // Malformed escapes stay literal, as nginx leaves them.
    }
    if (seg.includes('\0')) return null;
    if (seg === '' || seg === '.') {
      if (i === parts.length - 1 && i > 0) segments.push(''); // keep a trailing slash
      continue;
    }
    if (seg === '..') {
      if (segments.length === 0) return null;
      segments.pop();
      if (i === parts.length - 1) segments.push('');
      continue;
    }
    segments.push(seg);
  }
  const path = '/' + segments.join('/');
  return path.replace(/\/{2,}/g, '/');
}
