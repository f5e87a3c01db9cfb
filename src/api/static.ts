// The dashboard's files (web/dist, built with Vite), served at / as a single-page app: a path that
// names a file gets that file, any other page path gets index.html (the app routes it). Paths are
// resolved inside the root only (no "..", no symlinks out of it, no dotfiles); hashed assets are
// cached for a year, index.html is revalidated every time.
import { createReadStream, realpathSync, statSync, type Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import type { StaticHandler } from './http/server.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
};

const PAGE_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
};

function notBuilt(root: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>DECNET</title></head><body style="font-family:monospace;max-width:46em;margin:3em auto">
<h1>DECNET API is running</h1>
<p>The dashboard is not built: <code>${root.replace(/[&<>"]/g, '')}</code> does not exist.</p>
<p>Build it with <code>npm --prefix web install &amp;&amp; npm --prefix web run build</code> (Vite writes <code>web/dist</code>), or point <code>DECNET_WEB_ROOT</code> at a built copy, then reload this page.</p>
<p>The REST API is available now under <a href="/api/v1/openapi.json">/api/v1</a> (OpenAPI document).</p>
</body></html>`;
}

export class StaticFiles implements StaticHandler {
  private readonly root: string;
  private realRoot: string | undefined;

  constructor(root: string) {
    this.root = root;
  }

  private resolvedRoot(): string | undefined {
    if (this.realRoot) return this.realRoot;
    try {
      if (statSync(this.root).isDirectory()) this.realRoot = realpathSync(this.root);
    } catch {
      return undefined;
    }
    return this.realRoot;
  }

  serve(req: IncomingMessage, res: ServerResponse, rawPath: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.plain(res, 405, 'Only GET and HEAD are served here.', { allow: 'GET, HEAD' });
      return;
    }
    const root = this.resolvedRoot();
    if (!root) {
      const html = notBuilt(this.root);
      res.writeHead(rawPath === '/' ? 200 : 404, { ...PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : html);
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      this.plain(res, 400, 'Malformed path.');
      return;
    }
    const segments = path.split('/').filter((s) => s !== '');
    if (path.includes('\0') || path.includes('\\') || segments.some((s) => s === '..' || s.startsWith('.'))) {
      this.plain(res, 404, 'Not found.');
      return;
    }
    const file = this.lookup(root, segments);
    if (file) {
      this.send(req, res, file.path, file.stat, segments[0] === 'assets');
      return;
    }
    // A missing file with an extension is a real 404; anything else is a route of the app.
    if (segments.length > 0 && extname(segments[segments.length - 1]) !== '') {
      this.plain(res, 404, 'Not found.');
      return;
    }
    const index = this.lookup(root, ['index.html']);
    if (!index) {
      this.plain(res, 404, 'index.html is missing from the dashboard build.');
      return;
    }
    this.send(req, res, index.path, index.stat, false);
  }

  /** The file at `segments` if it is a regular file that really lives inside the root. */
  private lookup(root: string, segments: string[]): { path: string; stat: Stats } | undefined {
    const candidate = segments.length === 0 ? join(root, 'index.html') : join(root, ...segments);
    try {
      const real = realpathSync(candidate);
      if (real !== root && !real.startsWith(root + sep)) return undefined;
      const stat = statSync(real);
      if (!stat.isFile()) return undefined;
      return { path: real, stat };
    } catch {
      return undefined;
    }
  }

  private send(req: IncomingMessage, res: ServerResponse, path: string, stat: Stats, immutable: boolean): void {
    const etag = `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const headers: Record<string, string> = {
      ...PAGE_HEADERS,
      'content-type': TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
      etag,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(stat.size) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(path);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  private plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, { ...PAGE_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...extra });
    res.end(text);
  }
}
