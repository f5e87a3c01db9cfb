// phpMyAdmin 5.x login (pma_username / pma_password), mounted at / and at the usual /phpmyadmin aliases.
// A login always fails with MySQL's own access-denied text, which tells a brute-forcer nothing new.
import { loginFromFields } from '../credentials.ts';
import { escapeHtml, html, token } from './respond.ts';
import type { AppOutcome, FakeApp, Incoming, SiteInfo } from './types.ts';

const VERSION = '5.2.1';
const MOUNTS = ['/phpmyadmin', '/phpMyAdmin', '/pma', '/PMA', '/mysql', '/dbadmin'];

function page(inc: Incoming, prefix: string, error?: string, user = ''): string {
  const tok = token(16);
  const err = error ? `<div class="alert alert-danger" role="alert"><img src="themes/dot.gif" title="" alt="" class="icon ic_s_error"> ${error}</div>\n` : '';
  return `<!doctype html>
<html lang="en" dir="ltr">
<head>
  <meta charset="utf-8">
  <meta name="referrer" content="no-referrer">
  <meta name="robots" content="noindex,nofollow,notranslate">
  <meta name="google" content="notranslate">
  <title>phpMyAdmin</title>
  <link rel="icon" href="favicon.ico" type="image/x-icon">
  <link rel="stylesheet" type="text/css" href="./themes/pmahomme/jquery/jquery-ui.css">
  <link rel="stylesheet" type="text/css" href="./themes/pmahomme/css/theme.css?v=${VERSION}">
  <script data-cfasync="false" type="text/javascript" src="js/vendor/jquery/jquery.min.js?v=${VERSION}"></script>
</head>
<body>
<div id="page_content">
<div class="container">
<a href="./url.php?url=https%3A%2F%2Fwww.phpmyadmin.net%2F" target="_blank" rel="noopener noreferrer" class="logo">
  <img src="./themes/pmahomme/img/logo_right.png" id="imLogo" name="imLogo" alt="phpMyAdmin" border="0">
</a>
<h1>Welcome to <bdo dir="ltr" lang="en">phpMyAdmin</bdo></h1>
<noscript><div class="alert alert-danger" role="alert">Javascript must be enabled past this point!</div></noscript>
${err}<div class="card mb-4">
<form method="post" id="login_form" action="${escapeHtml(prefix)}/index.php?route=/" name="login_form" class="disableAjax hide js-show">
  <div class="card-header">Log in</div>
  <div class="card-body">
    <div class="row mb-3">
      <div class="col-12 col-md-4 text-md-end"><label for="input_username" class="form-label">Username:</label></div>
      <div class="col-12 col-md-8"><input type="text" name="pma_username" id="input_username" value="${escapeHtml(user)}" class="form-control" autocomplete="username" spellcheck="false" autofocus></div>
    </div>
    <div class="row">
      <div class="col-12 col-md-4 text-md-end"><label for="input_password" class="form-label">Password:</label></div>
      <div class="col-12 col-md-8"><input type="password" name="pma_password" id="input_password" value="" class="form-control" autocomplete="current-password" spellcheck="false"></div>
    </div>
    <input type="hidden" name="server" value="1">
  </div>
  <div class="card-footer">
    <input class="btn btn-primary" value="Log in" type="submit" id="input_go">
    <input type="hidden" name="route" value="/"><input type="hidden" name="token" value="${tok}">
  </div>
</form>
</div>
</div>
</div>
</body>
</html>
`;
}

export function createPhpMyAdmin(site: SiteInfo): FakeApp {
  const handle = (inc: Incoming): AppOutcome | null => {
    const mount = MOUNTS.find((m) => inc.path === m || inc.path.startsWith(`${m}/`));
    const prefix = mount ?? '';
    const rest = mount ? inc.path.slice(mount.length) || '/' : inc.path;
    if (rest !== '/' && rest !== '/index.php') return null;
    if (mount && inc.path === mount) {
      return { response: { status: 301, contentType: 'text/html', headers: [['Location', `${mount}/`]], body: '' } };
    }
    const headers: Array<[string, string]> = [
      ['X-Powered-By', site.php],
      ['Set-Cookie', `phpMyAdmin=${token(13)}; path=${prefix || '/'}; HttpOnly; SameSite=Strict`],
      ['X-Frame-Options', 'DENY'],
      ['X-Robots-Tag', 'noindex, nofollow'],
      ['Cache-Control', 'no-store, no-cache, must-revalidate,  pre-check=0, post-check=0, max-age=0'],
    ];
    if (inc.req.method === 'POST') {
      const login = loginFromFields(inc.form(), 'form', ['pma_username'], ['pma_password']);
      if (login) {
        const error = `Cannot log in to the MySQL server<br />mysqli::real_connect(): (HY000/1045): Access denied for user '${escapeHtml(login.username)}'@'localhost' (using password: ${login.secret ? 'YES' : 'NO'})`;
        return { response: html(page(inc, prefix, error, login.username), 200, headers), logins: [login] };
      }
    }
    return { response: html(page(inc, prefix), 200, headers) };
  };
  return { name: 'phpmyadmin', handle };
}
