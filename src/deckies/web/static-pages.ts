// Static content of a freshly installed web server: the distro's default index page, a robots.txt with
// tempting Disallow lines, a favicon, and the validators (Last-Modified, ETag) a static file carries.
import type { Persona } from '../service.ts';
import type { HttpResponse } from './http-server.ts';
import type { ServerStyle } from './server-style.ts';

const NGINX_INDEX = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`;

function apacheIndex(persona: Persona): string {
  const vendor = persona.distro.startsWith('ubuntu') ? 'Ubuntu' : 'Debian';
  if (/^(rocky|centos|fedora)/.test(persona.distro)) {
    const os = persona.distro.startsWith('rocky') ? 'Rocky Linux' : persona.distro.startsWith('fedora') ? 'Fedora' : 'CentOS';
    return `<!doctype html>
<html>
  <head>
    <meta charset='utf-8'>
    <meta name='viewport' content='width=device-width, initial-scale=1'>
    <title>HTTP Server Test Page powered by: ${os}</title>
  </head>
  <body>
    <h1>HTTP Server <strong>Test Page</strong></h1>
    <div class='row'>
      <div class='col-sm-12 col-md-6 col-md-6 '></div>
        <p class="summary">This page is used to test the proper operation of
            an HTTP server after it has been installed on a ${os} system.
            If you can read this page, it means that the software is working
            correctly.</p>
    </div>
    <div class='col-sm-12 col-md-6 col-md-6 col-md-offset-12'>
      <h2>Just visiting?</h2>
      <p>This website you are visiting is either experiencing problems or
      could be going through maintenance.</p>
      <h2>Are you the Administrator?</h2>
      <p>You should add your website content to the directory <tt>/var/www/html/</tt>.</p>
      <p>To prevent this page from ever being used, follow the instructions in the file <tt>/etc/httpd/conf.d/welcome.conf</tt>.</p>
    </div>
  </body>
</html>
`;
  }
  return `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <title>Apache2 ${vendor} Default Page: It works</title>
  </head>
  <body>
    <div class="main_page">
      <div class="page_header floating_element">
        <span class="floating_element">Apache2 ${vendor} Default Page</span>
      </div>
      <div class="content_section floating_element">
        <div class="section_header section_header_red">
          <div id="about"></div>
          It works!
        </div>
        <div class="content_section_text">
          <p>
                This is the default welcome page used to test the correct
                operation of the Apache2 server after installation on ${vendor} systems.
                If you can read this page, it means that the Apache HTTP server installed at
                this site is working properly. You should <b>replace this file</b> (located at
                <tt>/var/www/html/index.html</tt>) before continuing to operate your HTTP server.
          </p>
        </div>
        <div class="section_header">
          <div id="changes"></div>
                Configuration Overview
        </div>
        <div class="content_section_text">
          <p>
                ${vendor}'s Apache2 default configuration is different from the
                upstream default configuration, and split into several files optimized for
                interaction with ${vendor} tools. The configuration system is
                <b>fully documented in
                /usr/share/doc/apache2/README.Debian.gz</b>.
          </p>
        </div>
      </div>
    </div>
    <div class="validator">
    </div>
  </body>
</html>
`;
}

const IIS_INDEX = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1" />
<title>IIS Windows Server</title>
<style type="text/css">
<!--
body {
	color:#000000;
	background-color:#0072C6;
	margin:0;
}

#container {
	margin-left:auto;
	margin-right:auto;
	text-align:center;
	}

a img {
	border:none;
}

-->
</style>
</head>
<body>
<div id="container">
<a href="http://go.microsoft.com/fwlink/?linkid=66138&amp;clcid=0x409"><img src="iisstart.png" alt="IIS" width="960" height="600" /></a>
</div>
</body>
</html>`;

/** The default index page of the impersonated server for this persona. */
export function defaultIndex(style: ServerStyle, persona: Persona): string {
  switch (style.flavor) {
    case 'apache':
      return apacheIndex(persona);
    case 'iis':
      return IIS_INDEX;
    default:
      return NGINX_INDEX;
  }
}

/** A robots.txt that points at places an intruder will want to look. */
export function robotsTxt(): string {
  return 'User-agent: *\nDisallow: /admin/\nDisallow: /backup/\nDisallow: /old/\nDisallow: /internal/\n';
}

/** Headers a static file carries (install-time mtime from the seed), in the impersonated server's format. */
export function staticValidators(style: ServerStyle, seed: number, size: number): Array<[string, string]> {
  // A file written at package install: 30..700 days ago, stable per decky.
  const mtime = Math.floor(Date.now() / 86_400_000 - 30 - (seed % 670)) * 86_400 + (seed % 86_400);
  const lastModified = new Date(mtime * 1000).toUTCString();
  switch (style.flavor) {
    case 'nginx':
      return [['Last-Modified', lastModified], ['ETag', `"${mtime.toString(16)}-${size.toString(16)}"`], ['Accept-Ranges', 'bytes']];
    case 'apache':
      return [['Last-Modified', lastModified], ['ETag', `"${size.toString(16)}-${(mtime * 1_000_000 + (seed % 1_000_000)).toString(16)}"`], ['Accept-Ranges', 'bytes'], ['Vary', 'Accept-Encoding']];
    case 'iis':
      return [['Last-Modified', lastModified], ['Accept-Ranges', 'bytes'], ['ETag', `"${(seed >>> 0).toString(16)}:0"`]];
    default:
      return [['Last-Modified', lastModified]];
  }
}

let favicon: Buffer | null = null;

/** A 16×16 32-bit ICO (a filled rounded square), generated once. */
export function faviconIco(): Buffer {
  if (favicon) return favicon;
  const size = 16;
  const pixels = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const corner = (x < 2 || x > 13) && (y < 2 || y > 13);
      const o = (y * size + x) * 4;
      if (corner) continue; // transparent
      const inner = x > 3 && x < 12 && y > 3 && y < 12;
      pixels.set(inner ? [0xf0, 0xf0, 0xf0, 0xff] : [0x99, 0x55, 0x22, 0xff], o); // BGRA
    }
  }
  const mask = Buffer.alloc(size * 4); // AND mask rows padded to 32 bits; alpha does the work
  const bih = Buffer.alloc(40);
  bih.writeUInt32LE(40, 0);
  bih.writeInt32LE(size, 4);
  bih.writeInt32LE(size * 2, 8); // XOR + AND bitmaps
  bih.writeUInt16LE(1, 12);
  bih.writeUInt16LE(32, 14);
  bih.writeUInt32LE(pixels.length + mask.length, 20);
  const image = Buffer.concat([bih, pixels, mask]);
  const dir = Buffer.alloc(6 + 16);
  dir.writeUInt16LE(0, 0);
  dir.writeUInt16LE(1, 2);
  dir.writeUInt16LE(1, 4);
  dir[6] = size;
  dir[7] = size;
  dir.writeUInt16LE(1, 10);
  dir.writeUInt16LE(32, 12);
  dir.writeUInt32LE(image.length, 14);
  dir.writeUInt32LE(dir.length, 18);
  favicon = Buffer.concat([dir, image]);
  return favicon;
}

export function staticFile(style: ServerStyle, seed: number, contentType: string, body: string | Buffer): HttpResponse {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  return { status: 200, contentType, headers: staticValidators(style, seed, buf.length), body: buf };
}
