// Jenkins LTS behind its login: every page answers "Authentication required" (403) with the X-Jenkins
// headers scanners key on; /login posts j_username/j_password to /j_spring_security_check, which always
// bounces to /loginError.
import { randomBytes } from 'node:crypto';
import { loginFromFields } from '../credentials.ts';
import { pick } from '../persona-web.ts';
import { escapeHtml, html, redirect } from './respond.ts';
import type { AppOutcome, FakeApp, Incoming, SiteInfo } from './types.ts';

const VERSIONS = ['2.426.3', '2.440.3', '2.452.2', '2.414.3'];

function loginPage(version: string, from: string, error: boolean): string {
  const err = error ? '<div class="app-sign-in-register__error">Invalid username or password</div>' : '';
  return `<!DOCTYPE html><html class=""><head resURL="/static/a1b2c3d4" data-rooturl="" data-resurl="/static/a1b2c3d4" data-imagesurl="/static/a1b2c3d4/images">
    <title>Sign in [Jenkins]</title><meta name="ROBOTS" content="NOFOLLOW"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/static/a1b2c3d4/jsbundles/simple-page.css" type="text/css"></head><body><div class="simple-page" role="main"><div class="modal login"><div id="loginIntroDefault"><div class="logo"></div><h1>Sign in to Jenkins</h1></div>${err}<form method="post" name="login" action="j_spring_security_check"><div class="jenkins-form-item jenkins-form-item--tight"><label class="jenkins-form-label" for="j_username">Username</label><input autocorrect="off" autocomplete="off" name="j_username" id="j_username" placeholder="Username" type="text" class="jenkins-input " autocapitalize="off" aria-describedby="loginIntroDefault" autofocus="autofocus"></div><div class="jenkins-form-item jenkins-form-item--tight"><label class="jenkins-form-label" for="j_password">Password</label><input name="j_password" id="j_password" placeholder="Password" type="password" class="jenkins-input "></div><div class="jenkins-checkbox"><input type="checkbox" id="remember_me" name="remember_me"><label for="remember_me">Keep me signed in</label></div><input name="from" type="hidden" value="${escapeHtml(from)}"><button type="submit" name="Submit" class="jenkins-button jenkins-button--primary">Sign in</button></form><div class="footer"></div></div></div><footer class="page-footer"><div class="page-footer__links"><a class="jenkins-button jenkins-button--tertiary rest-api" href="api/">REST API</a><button type="button" class="jenkins-button jenkins-button--tertiary jenkins_ver">Jenkins ${version}</button></div></footer></body></html>`;
}

function authRequired(from: string): string {
  const target = `/login?from=${encodeURIComponent(from)}`;
  return `<html><head><meta http-equiv='refresh' content='1;url=${escapeHtml(target)}'/><script id='redirect' data-redirect-url='${escapeHtml(target)}' src='/static/a1b2c3d4/scripts/redirect.js'></script></head><body style='background-color:white; color:white;'>
Authentication required
<!--
-->

</body></html>${' '.repeat(512)}
`; // padded past IE's friendly-error threshold, as Jenkins does
}

export function createJenkins(site: SiteInfo): FakeApp {
  const version = pick(site.seed, VERSIONS);
  const session = randomBytes(4).toString('hex');
  const headers = (): Array<[string, string]> => [
    ['X-Content-Type-Options', 'nosniff'],
    ['X-Jenkins', version],
    ['X-Jenkins-Session', session],
    ['X-Hudson', '1.395'],
    ['Set-Cookie', `JSESSIONID.${session}=node0${randomBytes(12).toString('hex')}.node0; Path=/; HttpOnly`],
    ['Expires', 'Thu, 01 Jan 1970 00:00:00 GMT'],
  ];

  const handle = (inc: Incoming): AppOutcome | null => {
    const { path, req } = inc;
    if (path === '/login') {
      return { response: html(loginPage(version, inc.query.get('from') ?? '/', false), 200, headers(), 'text/html;charset=utf-8') };
    }
    if (path === '/loginError') {
      return { response: html(loginPage(version, '/', true), 401, headers(), 'text/html;charset=utf-8') };
    }
    if (path === '/j_spring_security_check' || path === '/j_acegi_security_check') {
      if (req.method !== 'POST') return { response: html(authRequired(path), 403, headers(), 'text/html;charset=utf-8') };
      const login = loginFromFields(inc.form(), 'form', ['j_username'], ['j_password']);
      return { response: redirect('/loginError', headers()), ...(login ? { logins: [login] } : {}) };
    }
    if (path.startsWith('/static/') || path === '/favicon.ico' || path === '/robots.txt') return null;
    // Everything else in Jenkins requires a login when anonymous read is off.
    return { response: html(authRequired(req.rawPath.slice(0, 512) || '/'), 403, headers(), 'text/html;charset=utf-8') };
  };
  return { name: 'jenkins', handle };
}
