// A WordPress site: blog front page, wp-login.php (log/pwd), xmlrpc.php (the brute-forcers' favourite),
// the REST users endpoint and ?author= enumeration, all answering the way a stock install does.
import { loginFromFields, loginsFromXmlRpc } from '../credentials.ts';
import { pick } from '../persona-web.ts';
import { escapeHtml, html, json, redirect } from './respond.ts';
import type { AppOutcome, FakeApp, Incoming, SiteInfo } from './types.ts';

const VERSIONS = ['6.4.3', '6.5.5', '6.3.2', '6.6.1'];

function baseUrl(inc: Incoming): string {
  const defaultPort = inc.tls ? 443 : 80;
  return `${inc.tls ? 'https' : 'http'}://${inc.host}${inc.port === defaultPort ? '' : `:${inc.port}`}`;
}

function poweredBy(site: SiteInfo): Array<[string, string]> {
  return [['X-Powered-By', site.php]];
}

function loginPage(inc: Incoming, version: string, error?: string, user = ''): string {
  const site = escapeHtml(inc.site.name);
  const err = error ? `\t<div id="login_error" class="notice notice-error"><p>${error}</p></div>\n` : '';
  return `<!DOCTYPE html>
<html lang="en-US">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<title>Log In &lsaquo; ${site} &#8212; WordPress</title>
<meta name='robots' content='max-image-preview:large, noindex, noarchive' />
<link rel='stylesheet' id='login-css' href='${baseUrl(inc)}/wp-admin/css/login.min.css?ver=${version}' media='all' />
<meta name='referrer' content='strict-origin-when-cross-origin' />
<meta name="viewport" content="width=device-width" />
</head>
<body class="login no-js login-action-login wp-core-ui  locale-en-us">
<div id="login">
<h1><a href="https://wordpress.org/">Powered by WordPress</a></h1>
${err}<form name="loginform" id="loginform" action="${baseUrl(inc)}/wp-login.php" method="post">
<p>
<label for="user_login">Username or Email Address</label>
<input type="text" name="log" id="user_login" class="input" value="${escapeHtml(user)}" size="20" autocapitalize="off" autocomplete="username" required="required" />
</p>
<div class="user-pass-wrap">
<label for="user_pass">Password</label>
<div class="wp-pwd">
<input type="password" name="pwd" id="user_pass" class="input password-input" value="" size="20" autocomplete="current-password" spellcheck="false" required="required" />
</div>
</div>
<p class="forgetmenot"><input name="rememberme" type="checkbox" id="rememberme" value="forever"  /> <label for="rememberme">Remember Me</label></p>
<p class="submit">
<input type="submit" name="wp-submit" id="wp-submit" class="button button-primary button-large" value="Log In" />
<input type="hidden" name="redirect_to" value="${baseUrl(inc)}/wp-admin/" />
<input type="hidden" name="testcookie" value="1" />
</p>
</form>
<p id="nav"><a href="${baseUrl(inc)}/wp-login.php?action=lostpassword">Lost your password?</a></p>
<p id="backtoblog"><a href="${baseUrl(inc)}/">&larr; Go to ${site}</a></p>
</div>
</body>
</html>
`;
}

function homePage(inc: Incoming, version: string): string {
  const site = escapeHtml(inc.site.name);
  const base = baseUrl(inc);
  return `<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<meta name='robots' content='max-image-preview:large' />
<title>${site}</title>
<link rel="alternate" type="application/rss+xml" title="${site} &raquo; Feed" href="${base}/feed/" />
<link rel='stylesheet' id='wp-block-library-css' href='${base}/wp-includes/css/dist/block-library/style.min.css?ver=${version}' media='all' />
<link rel="https://api.w.org/" href="${base}/wp-json/" />
<link rel="EditURI" type="application/rsd+xml" title="RSD" href="${base}/xmlrpc.php?rsd" />
<meta name="generator" content="WordPress ${version}" />
</head>
<body class="home blog wp-embed-responsive">
<div class="wp-site-blocks">
<header class="wp-block-template-part"><h1 class="wp-block-site-title"><a href="${base}" rel="home">${site}</a></h1>
<p class="wp-block-site-tagline">Internal news and updates</p></header>
<main class="wp-block-group">
<article class="post-1 post type-post status-publish format-standard hentry category-uncategorized">
<h2 class="wp-block-post-title"><a href="${base}/2024/03/11/maintenance-window/">Maintenance window this weekend</a></h2>
<div class="wp-block-post-excerpt"><p>The file server and VPN will be unavailable on Saturday between 22:00 and 02:00 while we apply updates. Contact IT if you need access during that time.</p></div>
<div class="wp-block-post-author-name">admin</div>
</article>
<article class="post-2 post type-post status-publish format-standard hentry category-uncategorized">
<h2 class="wp-block-post-title"><a href="${base}/2023/11/02/hello-world/">Hello world!</a></h2>
<div class="wp-block-post-excerpt"><p>Welcome to WordPress. This is your first post. Edit or delete it, then start writing!</p></div>
</article>
</main>
<footer class="wp-block-template-part"><p class="has-text-align-center">Proudly powered by <a href="https://wordpress.org" rel="nofollow">WordPress</a></p></footer>
</div>
</body>
</html>
`;
}

function xmlrpcFault(code: number, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<methodResponse>
  <fault>
    <value>
      <struct>
        <member>
          <name>faultCode</name>
          <value><int>${code}</int></value>
        </member>
        <member>
          <name>faultString</name>
          <value><string>${message}</string></value>
        </member>
      </struct>
    </value>
  </fault>
</methodResponse>
`;
}

function xmlrpcMethods(): string {
  const names = ['system.multicall', 'system.listMethods', 'system.getCapabilities', 'demo.addTwoNumbers', 'demo.sayHello', 'pingback.extensions.getPingbacks', 'pingback.ping', 'mt.publishPost', 'mt.getTrackbackPings', 'mt.supportedTextFilters', 'mt.supportedMethods', 'metaWeblog.getUsersBlogs', 'metaWeblog.getRecentPosts', 'metaWeblog.newPost', 'blogger.getUsersBlogs', 'wp.getUsersBlogs', 'wp.getProfile', 'wp.getUsers', 'wp.getPosts', 'wp.newPost', 'wp.getOptions', 'wp.uploadFile'];
  const values = names.map((n) => `  <value><string>${n}</string></value>`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<methodResponse>\n  <params>\n    <param>\n      <value>\n      <array><data>\n${values}\n</data></array>\n      </value>\n    </param>\n  </params>\n</methodResponse>\n`;
}

export function createWordPress(site: SiteInfo): FakeApp {
  const version = pick(site.seed, VERSIONS);
  const xml = 'text/xml; charset=UTF-8';

  const handle = (inc: Incoming): AppOutcome | null => {
    const { path, req } = inc;
    const base = baseUrl(inc);
    const php = poweredBy(site);

    if (path === '/' && inc.query.has('author')) {
      return { response: redirect(`${base}/author/admin/`, php, 301) };
    }
    if (path === '/') return { response: html(homePage(inc, version), 200, [...php, ['Link', `<${base}/wp-json/>; rel="https://api.w.org/"`]]) };

    if (path === '/wp-login.php') {
      const cookies: Array<[string, string]> = [...php, ['Set-Cookie', 'wordpress_test_cookie=WP%20Cookie%20check; path=/; HttpOnly'], ['X-Frame-Options', 'SAMEORIGIN']];
      if (req.method === 'POST') {
        const login = loginFromFields(inc.form(), 'form', ['log'], ['pwd']);
        const user = login?.username ?? '';
        const error = user
          ? `<strong>Error:</strong> The password you entered for the username <strong>${escapeHtml(user)}</strong> is incorrect. <a href="${base}/wp-login.php?action=lostpassword">Lost your password?</a>`
          : '<strong>Error:</strong> The username field is empty.';
        return { response: html(loginPage(inc, version, error, user), 200, cookies), ...(login ? { logins: [login] } : {}) };
      }
      return { response: html(loginPage(inc, version), 200, cookies) };
    }

    if (path === '/wp-admin' || path.startsWith('/wp-admin/')) {
      if (path === '/wp-admin/admin-ajax.php') return { response: html('0', 400, php) };
      const target = encodeURIComponent(`${base}${req.rawPath.slice(0, 512)}`);
      return { response: redirect(`${base}/wp-login.php?redirect_to=${target}&reauth=1`, php) };
    }

    if (path === '/xmlrpc.php') {
      if (req.method !== 'POST') return { response: { ...html('XML-RPC server accepts POST requests only.', 405, [...php, ['Allow', 'POST']]), contentType: 'text/plain;charset=UTF-8' } };
      const logins = loginsFromXmlRpc(req.body);
      const body = req.body.toString('utf8', 0, 4096);
      if (/<methodName>\s*system\.listMethods\s*</.test(body)) return { response: html(xmlrpcMethods(), 200, php, xml) };
      if (logins.length > 1) {
        const faults = logins.map(() => `<value><struct><member><name>faultCode</name><value><int>403</int></value></member><member><name>faultString</name><value><string>Incorrect username or password.</string></value></member></struct></value>`).join('\n');
        return { response: html(`<?xml version="1.0" encoding="UTF-8"?>\n<methodResponse>\n  <params>\n    <param>\n      <value>\n      <array><data>\n${faults}\n</data></array>\n      </value>\n    </param>\n  </params>\n</methodResponse>\n`, 200, php, xml), logins };
      }
      if (logins.length === 1) return { response: html(xmlrpcFault(403, 'Incorrect username or password.'), 200, php, xml), logins };
      return { response: html(xmlrpcFault(-32700, 'parse error. not well formed'), 200, php, xml) };
    }

    if (path === '/wp-json' || path === '/wp-json/') {
      return { response: json({ name: site.name, description: 'Internal news and updates', url: base, home: base, gmt_offset: '0', timezone_string: '', namespaces: ['oembed/1.0', 'wp/v2', 'wp-site-health/v1'], authentication: [], routes: {} }, 200, php) };
    }
    if (path === '/wp-json/wp/v2/users' || (path === '/' && inc.query.get('rest_route') === '/wp/v2/users')) {
      return {
        response: json(
          [{ id: 1, name: 'admin', url: '', description: '', link: `${base}/author/admin/`, slug: 'admin', avatar_urls: {}, meta: [], _links: { self: [{ href: `${base}/wp-json/wp/v2/users/1` }] } }],
          200,
          php,
        ),
      };
    }
    if (path.startsWith('/author/admin')) return { response: html(homePage(inc, version), 200, php) };
    if (path === '/readme.html') {
      return { response: html(`<!DOCTYPE html>\n<html lang="en">\n<head>\n\t<meta name="viewport" content="width=device-width" />\n\t<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />\n\t<title>WordPress &#8250; ReadMe</title>\n</head>\n<body>\n<h1 id="logo"><a href="https://wordpress.org/">WordPress</a> ${version}</h1>\n<p>Semantic Personal Publishing Platform</p>\n<h2>First Things First</h2>\n<p>Welcome. WordPress is a very special project to me.</p>\n</body>\n</html>\n`, 200, [], 'text/html') };
    }
    // PHP files that exist but print nothing when requested directly.
    if (path === '/wp-config.php' || path === '/wp-content/' || path === '/wp-includes/' || path === '/wp-content/plugins/' || path === '/wp-content/uploads/') {
      return { response: html('', 200, php) };
    }
    if (path === '/robots.txt') {
      return { response: { status: 200, contentType: 'text/plain; charset=utf-8', headers: php, body: `User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\nSitemap: ${base}/wp-sitemap.xml\n` } };
    }
    return null;
  };

  return { name: 'wordpress', handle };
}
