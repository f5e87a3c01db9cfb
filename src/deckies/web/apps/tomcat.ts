// Apache Tomcat 9: the stock ROOT page and the Manager / Host Manager apps behind HTTP Basic auth, the
// classic target of default-credential sprays (tomcat:s3cret, admin:admin …). Basic credentials are captured
// by the site from the Authorization header; this app only answers like Tomcat.
import { pick } from '../persona-web.ts';
import { html, redirect } from './respond.ts';
import type { AppOutcome, FakeApp, Incoming, SiteInfo } from './types.ts';

const VERSIONS = ['9.0.85', '9.0.91', '9.0.73', '10.1.24'];

function rootPage(version: string): string {
  return `<!DOCTYPE html>
<html lang="en">
    <head>
        <meta charset="UTF-8" />
        <title>Apache Tomcat/${version}</title>
        <link href="favicon.ico" rel="icon" type="image/x-icon" />
        <link href="tomcat.css" rel="stylesheet" type="text/css" />
    </head>

    <body>
        <div id="wrapper">
            <div id="navigation" class="curved container">
                <span id="nav-home"><a href="https://tomcat.apache.org/">Home</a></span>
                <span id="nav-hosts"><a href="/docs/">Documentation</a></span>
                <span id="nav-config"><a href="/docs/config/">Configuration</a></span>
                <span id="nav-examples"><a href="/examples/">Examples</a></span>
                <span id="nav-wiki"><a href="https://cwiki.apache.org/confluence/display/TOMCAT/">Wiki</a></span>
                <span id="nav-lists"><a href="https://tomcat.apache.org/lists.html">Mailing Lists</a></span>
                <span id="nav-help"><a href="https://tomcat.apache.org/findhelp.html">Find Help</a></span>
                <br class="separator" />
            </div>
            <div id="asf-box">
                <h1>Apache Tomcat/${version}</h1>
            </div>
            <div id="upper" class="curved container">
                <div id="congrats" class="curved container">
                    <h2>If you're seeing this, you've successfully installed Tomcat. Congratulations!</h2>
                </div>
                <div id="notice">
                    <img id="tomcat-logo" src="tomcat.svg" alt="[tomcat logo]" />
                    <div id="tasks">
                        <h3>Recommended Reading:</h3>
                        <h4><a href="/docs/security-howto.html">Security Considerations How-To</a></h4>
                        <h4><a href="/docs/manager-howto.html">Manager Application How-To</a></h4>
                        <h4><a href="/docs/cluster-howto.html">Clustering/Session Replication How-To</a></h4>
                    </div>
                </div>
                <div id="actions">
                    <div class="button"><a class="container shadow" href="/manager/status"><span>Server Status</span></a></div>
                    <div class="button"><a class="container shadow" href="/manager/html"><span>Manager App</span></a></div>
                    <div class="button"><a class="container shadow" href="/host-manager/html"><span>Host Manager</span></a></div>
                </div>
                <br class="separator" />
            </div>
            <p class="copyright">Copyright &copy;1999-2024 Apache Software Foundation.  All Rights Reserved</p>
        </div>
    </body>
</html>
`;
}

function unauthorized(app: 'manager' | 'host-manager'): string {
  const role = app === 'manager' ? 'manager-gui' : 'admin-gui';
  return `<!doctype html><html lang="en"><head><title>401 Unauthorized</title><style type="text/css">body {font-family:Tahoma,Arial,sans-serif;} h1, h2, h3, b {color:white;background-color:#525D76;} h1 {font-size:22px;} h2 {font-size:16px;} h3 {font-size:14px;} p {font-size:12px;} a {color:black;} .line {height:1px;background-color:#525D76;border:none;}</style></head><body>
 <h1>401 Unauthorized</h1>
 <p>
    You are not authorized to view this page. If you have not changed
    any configuration files, please examine the file
    <tt>conf/tomcat-users.xml</tt> in your installation. That
    file must contain the credentials to let you use this webapp.
 </p>
 <p>
    For example, to add the <tt>${role}</tt> role to a user named
    <tt>tomcat</tt> with a password of <tt>s3cret</tt>, add the following to the
    config file listed above.
 </p>
<pre>
&lt;role rolename="${role}"/&gt;
&lt;user username="tomcat" password="s3cret" roles="${role}"/&gt;
</pre>
</body>

</html>
`;
}

export function createTomcat(site: SiteInfo): FakeApp {
  const version = pick(site.seed, VERSIONS);
  const handle = (inc: Incoming): AppOutcome | null => {
    const path = inc.path;
    if (path === '/' || path === '/index.jsp') return { response: html(rootPage(version), 200, [], 'text/html;charset=UTF-8') };
    if (path === '/manager' || path === '/host-manager') return { response: redirect(`${path}/html`) };
    const app = path.startsWith('/manager/') ? 'manager' : path.startsWith('/host-manager/') ? 'host-manager' : null;
    if (app) {
      const realm = app === 'manager' ? 'Tomcat Manager Application' : 'Tomcat Host Manager Application';
      return {
        response: html(unauthorized(app), 401, [['Cache-Control', 'private'], ['Expires', 'Thu, 01 Jan 1970 00:00:00 GMT'], ['WWW-Authenticate', `Basic realm="${realm}"`]], 'text/html;charset=ISO-8859-1'),
      };
    }
    return null;
  };
  return { name: 'tomcat', handle };
}
