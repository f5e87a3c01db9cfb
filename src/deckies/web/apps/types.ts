// The contract between the decoy web site and one fake application (WordPress, a router admin page …).
import type { Persona } from '../../service.ts';
import type { CapturedLogin } from '../credentials.ts';
import type { HttpRequest } from '../http-parser.ts';
import type { HttpResponse } from '../http-server.ts';
import type { ServerStyle } from '../server-style.ts';

export interface SiteInfo {
  hostname: string;
  /** Short brand derived from the hostname ("Alpha"). */
  name: string;
  ip: string;
  persona: Persona;
  style: ServerStyle;
  /** X-Powered-By value for PHP apps. */
  php: string;
  /** Stable per-decky seed. */
  seed: number;
}

export interface Incoming {
  req: HttpRequest;
  /** Percent-decoded, dot-segment-normalised path used for routing. */
  path: string;
  query: URLSearchParams;
  /** Host header without port (or the decky IP). */
  host: string;
  tls: boolean;
  port: number;
  /** Form fields of the body (parsed on first call). */
  form(): Record<string, string>;
  site: SiteInfo;
}

export interface AppOutcome {
  response: HttpResponse;
  logins?: CapturedLogin[];
}

export interface FakeApp {
  readonly name: string;
  /** Returns null when the path is not the app's: the site falls back to robots.txt, 404 … */
  handle(inc: Incoming): AppOutcome | null;
}
