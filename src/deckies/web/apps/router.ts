// A home/SOHO router's admin interface in the style of OpenWrt's LuCI: / bounces to /cgi-bin/luci, whose
// login form (luci_username / luci_password) always answers "Invalid username and/or password!".
// IoT botnets also post to vendor login endpoints; the site's generic form capture records those.
import { loginFromFields } from '../credentials.ts';
import { escapeHtml, html } from './respond.ts';
import type { AppOutcome, FakeApp, Incoming, SiteInfo } from './types.ts';

function loginPage(site: SiteInfo, failed: boolean): string {
  const host = escapeHtml(site.hostname);
  const err = failed ? '\t\t<div class="alert-message error">Invalid username and/or password! Please try again.</div>\n' : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${host} - LuCI</title>
<meta name="viewport" content="initial-scale=1.0">
<link rel="stylesheet" href="/luci-static/bootstrap/cascade.css">
<link rel="shortcut icon" href="/luci-static/bootstrap/favicon.png">
<script src="/luci-static/resources/cbi.js"></script>
</head>
<body class="lang_en" data-page="">
<header>
<div class="fill">
<div class="container">
<a class="brand" href="#">${host}</a>
</div>
</div>
</header>
<div id="maincontent" class="container">
<form method="post">
${err}\t<div class="cbi-map">
\t\t<h2 name="content">Authorization Required</h2>
\t\t<div class="cbi-map-descr">Please enter your username and password.</div>
\t\t<div class="cbi-section"><div class="cbi-section-node">
\t\t\t<div class="cbi-value">
\t\t\t\t<label class="cbi-value-title">Username</label>
\t\t\t\t<div class="cbi-value-field"><input class="cbi-input-text" type="text" name="luci_username" value="root" /></div>
\t\t\t</div>
\t\t\t<div class="cbi-value cbi-value-last">
\t\t\t\t<label class="cbi-value-title">Password</label>
\t\t\t\t<div class="cbi-value-field"><input class="cbi-input-text" type="password" name="luci_password" /></div>
\t\t\t</div>
\t\t</div></div>
\t</div>
\t<div class="cbi-page-actions">
\t\t<input type="submit" value="Login" class="btn cbi-button cbi-button-apply" />
\t\t<input type="reset" value="Reset" class="btn cbi-button cbi-button-reset" />
\t</div>
</form>
<footer>
<span><a href="https://github.com/openwrt/luci">Powered by LuCI openwrt-23.05 branch (git-24.086.45142-09d5a38)</a> / OpenWrt 23.05.3 r23809-234f1a2efa</span>
</footer>
</div>
</body>
</html>
`;
}

export function createRouter(site: SiteInfo): FakeApp {
  const handle = (inc: Incoming): AppOutcome | null => {
    const { path, req } = inc;
    if (path === '/' || path === '/index.html') {
      return {
        response: html(
          `<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">\n<head>\n<meta http-equiv="Cache-Control" content="no-cache" />\n<meta http-equiv="refresh" content="0; URL=cgi-bin/luci/" />\n<style type="text/css">\nbody { background: white; font-family: arial, helvetica, sans-serif; }\na { color: black; }\n</style>\n</head>\n<body>\n<a href="cgi-bin/luci/">LuCI - Lua Configuration Interface</a>\n</body>\n</html>\n`,
          200,
          [],
          'text/html',
        ),
      };
    }
    if (path === '/cgi-bin/luci' || path.startsWith('/cgi-bin/luci/')) {
      const headers: Array<[string, string]> = [['Cache-Control', 'no-cache'], ['Expires', '0'], ['X-Frame-Options', 'SAMEORIGIN'], ['X-XSS-Protection', '1; mode=block'], ['X-Content-Type-Options', 'nosniff']];
      if (req.method === 'POST') {
        const login = loginFromFields(inc.form(), 'form', ['luci_username'], ['luci_password']);
        return { response: html(loginPage(site, true), 403, headers, 'text/html; charset=UTF-8'), ...(login ? { logins: [login] } : {}) };
      }
      return { response: html(loginPage(site, false), 403, headers, 'text/html; charset=UTF-8') };
    }
    return null;
  };
  return { name: 'router', handle };
}
