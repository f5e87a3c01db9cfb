// A NAS web console in the style of Synology DSM 7: the login page at / and the SYNO.API.Auth web API that
// brute-force tools call directly (account / passwd, in the query string or a form body). Every login
// answers DSM's "wrong password" error code.
import { loginFromFields, queryFields } from '../credentials.ts';
import { escapeHtml, html, json } from './respond.ts';
import type { AppOutcome, FakeApp, Incoming, SiteInfo } from './types.ts';

function loginPage(site: SiteInfo): string {
  const host = escapeHtml(site.hostname);
  return `<!DOCTYPE html>
<html class="img-no-drag">
<head>
<meta http-equiv="X-UA-Compatible" content="IE=edge" />
<meta name="viewport" content="width=device-width, initial-scale=1.0, maximum-scale=1.0, user-scalable=no" />
<meta name="description" content="Synology DiskStation provides a full-featured network attached storage (NAS) solution to help you manage, backup and share data among Windows, Mac and Linux easily." />
<meta name="apple-itunes-app" content="app-id=1116016616">
<title>${host}&nbsp;-&nbsp;Synology&nbsp;NAS</title>
<link rel="shortcut icon" href="webman/favicon.ico?v=69057" />
<link rel="stylesheet" type="text/css" href="scripts/ext-3.4/resources/css/ext-all.css?v=1699427385" />
<link rel="stylesheet" type="text/css" href="webman/resources/css/desktop.css?v=1699427385" />
<script type="text/javascript" src="webapi/entry.cgi?api=SYNO.Core.Desktop.Defs&version=1&method=getjs&v=1699427385"></script>
<script type="text/javascript" src="webman/sds.js?v=1699427385"></script>
</head>
<body>
<div id="sds-login-vue-inst"></div>
<noscript><div class="syno-no-script">Your browser does not support JavaScript. Please enable it to use DSM.</div></noscript>
<form id="login-form" method="POST" action="webapi/entry.cgi" autocomplete="off" style="display:none">
<input type="hidden" name="api" value="SYNO.API.Auth"><input type="hidden" name="version" value="7"><input type="hidden" name="method" value="login">
<input type="text" name="account" placeholder="Username"><input type="password" name="passwd" placeholder="Password">
<input type="hidden" name="session" value="webui"><input type="hidden" name="format" value="cookie">
</form>
</body>
</html>
`;
}

export function createNas(site: SiteInfo): FakeApp {
  const handle = (inc: Incoming): AppOutcome | null => {
    const { path, req } = inc;
    if (path === '/' || path === '/index.cgi' || path === '/webman/index.cgi') return { response: html(loginPage(site), 200, [['X-Content-Type-Options', 'nosniff'], ['X-XSS-Protection', '1; mode=block']]) };
    if (path.startsWith('/webapi/')) {
      const fields = { ...queryFields(req.query), ...(req.method === 'POST' ? inc.form() : {}) };
      const api = fields.api ?? '';
      if (api === 'SYNO.API.Info') {
        return { response: json({ data: { 'SYNO.API.Auth': { maxVersion: 7, minVersion: 1, path: 'entry.cgi' }, 'SYNO.API.Info': { maxVersion: 1, minVersion: 1, path: 'query.cgi' } }, success: true }) };
      }
      if (api === 'SYNO.API.Auth' && (fields.method ?? '') === 'login') {
        const login = loginFromFields(fields, req.method === 'POST' ? 'form' : 'query', ['account'], ['passwd']);
        return { response: json({ error: { code: 400 }, success: false }), ...(login ? { logins: [login] } : {}) };
      }
      return { response: json({ error: { code: 119 }, success: false }) };
    }
    return null;
  };
  return { name: 'nas', handle };
}
