// How the impersonated web server looks on the wire: header order and error pages differ between nginx,
// Apache, IIS and Java servlet containers, and scanners fingerprint exactly those details.

export type ServerFlavor = 'nginx' | 'apache' | 'iis' | 'servlet';

export interface ServerStyle {
  /** Value of the Server header; '' sends none (Tomcat, embedded devices). */
  serverHeader: string;
  flavor: ServerFlavor;
}

export function flavorOf(serverHeader: string): ServerFlavor {
  const s = serverHeader.toLowerCase();
  if (s.startsWith('apache')) return 'apache';
  if (s.includes('iis')) return 'iis';
  if (s.startsWith('nginx') || s.startsWith('openresty') || s.startsWith('tengine')) return 'nginx';
  return 'servlet';
}

const REASONS: Record<number, string> = {
  100: 'Continue',
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  411: 'Length Required',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

/** nginx's own titles differ from the RFC reason phrases in a few places. */
const NGINX_TITLES: Record<number, string> = {
  401: '401 Authorization Required',
  405: '405 Not Allowed',
  431: '400 Request Header Or Cookie Too Large',
};

const APACHE_TEXT: Record<number, string> = {
  400: 'Your browser sent a request that this server could not understand.<br />\n',
  401: "This server could not verify that you\nare authorized to access the document\nrequested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\nbrowser doesn't understand how to supply\nthe credentials required.",
  403: "You don't have permission to access this resource.",
  404: 'The requested URL was not found on this server.',
  413: 'The requested resource does not allow request data with this request, or the amount of data provided in\nthe request exceeds the capacity limit.',
  414: "The requested URL's length exceeds the capacity\nlimit for this server.<br />\n",
  500: 'The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.',
  501: 'The requested method is not implemented by this server.<br />\n',
};

export interface ErrorPage {
  /** Status actually sent (nginx answers an oversized header block with 400). */
  status: number;
  contentType: string;
  body: string;
}

export interface PageContext {
  method?: string;
  host?: string;
  port?: number;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function errorPage(status: number, style: ServerStyle, ctx: PageContext = {}): ErrorPage {
  switch (style.flavor) {
    case 'nginx': {
      const sent = status === 431 ? 400 : status;
      const title = NGINX_TITLES[status] ?? `${status} ${reasonPhrase(status)}`;
      const footer = style.serverHeader ? `<hr><center>${escapeHtml(style.serverHeader)}</center>\r\n` : '';
      const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n${footer}</body>\r\n</html>\r\n`;
      return { status: sent, contentType: 'text/html', body };
    }
    case 'apache': {
      const reason = reasonPhrase(status);
      const text =
        status === 405
          ? `The requested method ${escapeHtml(ctx.method ?? 'GET')} is not allowed for this URL.`
          : (APACHE_TEXT[status] ?? 'The server encountered an error while processing your request.');
      const host = escapeHtml(ctx.host ?? 'localhost');
      const address = style.serverHeader ? `<hr>\n<address>${escapeHtml(style.serverHeader)} Server at ${host} Port ${ctx.port ?? 80}</address>\n` : '';
      const body = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>${status} ${reason}</title>\n</head><body>\n<h1>${reason}</h1>\n<p>${text}</p>\n${address}</body></html>\n`;
      return { status, contentType: 'text/html; charset=iso-8859-1', body };
    }
    case 'iis': {
      const titles: Record<number, string> = {
        401: '401 - Unauthorized: Access is denied due to invalid credentials.',
        403: '403 - Forbidden: Access is denied.',
        404: '404 - File or directory not found.',
        405: '405 - HTTP verb used to access this page is not allowed.',
        500: '500 - Internal server error.',
      };
      if (status === 400 || status === 414 || status === 431 || status === 505) {
        // HTTP.sys answers protocol errors itself, with its own tiny page.
        const body = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n<HTML><HEAD><TITLE>Bad Request</TITLE>\r\n<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n<BODY><h2>Bad Request - Invalid ${status === 414 ? 'URL' : status === 505 ? 'Version' : status === 431 ? 'Header' : 'Request'}</h2>\r\n<hr><p>HTTP Error ${status}. The request ${status === 414 ? 'URL is invalid' : status === 431 ? 'has an invalid header name' : 'is badly formed'}.</p>\r\n</BODY></HTML>\r\n`;
        return { status: status === 431 ? 400 : status, contentType: 'text/html; charset=us-ascii', body };
      }
      const title = titles[status] ?? `${status} - ${reasonPhrase(status)}.`;
      const body = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n<html xmlns="http://www.w3.org/1999/xhtml">\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>\r\n<title>${title}</title>\r\n<style type="text/css">\r\n<!--\r\nbody{margin:0;font-size:.7em;font-family:Verdana, Arial, Helvetica, sans-serif;background:#EEEEEE;}\r\nfieldset{padding:0 15px 10px 15px;}\r\nh1{font-size:2.4em;margin:0;color:#FFF;}\r\nh2{font-size:1.7em;margin:0;color:#CC0000;}\r\n#header{width:96%;margin:0 0 0 0;padding:6px 2% 6px 2%;font-family:"trebuchet MS", Verdana, sans-serif;color:#FFF;background-color:#555555;}\r\n#content{margin:0 0 0 2%;position:relative;}\r\n.content-container{background:#FFF;width:96%;margin-top:8px;padding:10px;position:relative;}\r\n-->\r\n</style>\r\n</head>\r\n<body>\r\n<div id="header"><h1>Server Error</h1></div>\r\n<div id="content">\r\n <div class="content-container"><fieldset>\r\n  <h2>${title}</h2>\r\n </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n`;
      return { status, contentType: 'text/html', body };
    }
    case 'servlet': {
      const reason = reasonPhrase(status);
      const body = `<!doctype html><html lang="en"><head><title>HTTP Status ${status} – ${reason}</title><style type="text/css">body {font-family:Tahoma,Arial,sans-serif;} h1, h2, h3, b {color:white;background-color:#525D76;} h1 {font-size:22px;} h2 {font-size:16px;} h3 {font-size:14px;} p {font-size:12px;} a {color:black;} .line {height:1px;background-color:#525D76;border:none;}</style></head><body><h1>HTTP Status ${status} – ${reason}</h1><hr class="line" /><p><b>Type</b> Status Report</p><p><b>Description</b> ${status === 404 ? 'The origin server did not find a current representation for the target resource or is not willing to disclose that one exists.' : 'The server cannot or will not process the request due to something that is perceived to be a client error.'}</p><hr class="line" /></body></html>`;
      return { status, contentType: 'text/html;charset=utf-8', body };
    }
  }
}

/** Response header block in the order the impersonated server emits it. */
export function headerBlock(
  style: ServerStyle,
  status: number,
  contentType: string | undefined,
  contentLength: number,
  extra: ReadonlyArray<readonly [string, string]>,
  keepAlive: boolean,
  requestsLeft: number,
): string {
  const date = new Date().toUTCString();
  const lines: string[] = [`HTTP/1.1 ${status} ${reasonPhrase(status)}`];
  const server = style.serverHeader ? [`Server: ${style.serverHeader}`] : [];
  const ct = contentType ? [`Content-Type: ${contentType}`] : [];
  const cl = status === 204 || status === 304 ? [] : [`Content-Length: ${contentLength}`];
  // Values may carry attacker text (a redirect target): never let it split the header block.
  const ex = extra.map(([k, v]) => `${k}: ${v.replace(/[\r\n\0]/g, '')}`);
  const conn = keepAlive ? 'keep-alive' : 'close';
  switch (style.flavor) {
    case 'nginx':
      lines.push(...server, `Date: ${date}`, ...ct, ...cl, `Connection: ${conn}`, ...ex);
      break;
    case 'apache':
      lines.push(`Date: ${date}`, ...server, ...ex, ...cl);
      if (keepAlive) lines.push(`Keep-Alive: timeout=5, max=${Math.max(0, requestsLeft)}`);
      lines.push(`Connection: ${keepAlive ? 'Keep-Alive' : 'close'}`, ...ct);
      break;
    case 'iis':
      lines.push(...ct, ...server, ...ex, `Date: ${date}`, ...(keepAlive ? [] : ['Connection: close']), ...cl);
      break;
    case 'servlet':
      lines.push(...ex, ...ct, ...cl, `Date: ${date}`, ...(keepAlive ? ['Keep-Alive: timeout=20', 'Connection: keep-alive'] : ['Connection: close']), ...server);
      break;
  }
  return lines.join('\r\n') + '\r\n\r\n';
}
