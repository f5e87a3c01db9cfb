// Opens the bus transport named by a URL (DESIGN §3), importing only that transport's module:
//   unix:              the broker at DECNET_BUS_SOCKET, else <run dir>/bus.sock (the default)
//   unix:/path/x.sock  the broker at an explicit absolute path
//   local:             this process's router (a host that contains the broker; tests)
//   nats://host:port   a NATS server (its client library is loaded only here)
import type { Bus, BusConnection } from './types.ts';
import { ConfigError } from '../core/errors.ts';

export const BUS_URL_FORMS = ['unix:', 'unix:/absolute/path.sock', 'local:', 'nats://host:port'] as const;

export interface OpenBusOptions {
  /** Client name announced to the broker or NATS server (default decnet[<pid>]). */
  name?: string;
}

function badUrl(url: string, why: string): ConfigError {
  return new ConfigError(`bus URL ${JSON.stringify(url)} ${why}; use one of: ${BUS_URL_FORMS.join(', ')} (set DECNET_BUS_URL)`);
}

export async function openBus(url: string = process.env.DECNET_BUS_URL || 'unix:', opts: OpenBusOptions = {}): Promise<BusConnection> {
  if (url === 'unix:' || url.startsWith('unix:')) {
    const rest = url.slice('unix:'.length);
    let path: string;
    if (rest === '') {
      const { busSocketPath } = await import('../core/paths.ts');
      path = busSocketPath();
    } else if (rest.startsWith('/')) {
      path = rest.startsWith('//') ? rest.replace(/^\/\/[^/]*/, '') : rest; // also accept unix:///path
      if (path === '') throw badUrl(url, 'has no socket path');
    } else {
      throw badUrl(url, 'needs an absolute socket path after "unix:"');
    }
    const { UnixBusConnection } = await import('./unix-client.ts');
    return new UnixBusConnection({ path, name: opts.name });
  }
  if (url === 'local:') {
    const { LocalBusConnection } = await import('./local.ts');
    return new LocalBusConnection();
  }
  if (url.startsWith('nats://')) {
    const { NatsBusConnection } = await import('./nats.ts');
    return new NatsBusConnection({ url, name: opts.name });
  }
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0];
  throw badUrl(url, scheme ? `has the unknown scheme ${scheme}` : 'has no scheme');
}

/** A single-member bus for a command or script: closing the member closes the connection. */
export async function openMemberBus(member: string, url?: string, opts: OpenBusOptions = {}): Promise<Bus & { connection: BusConnection }> {
  const connection = await openBus(url, opts);
  const bus = connection.member(member);
  return {
    connection,
    get member() {
      return bus.member;
    },
    publish: (topic, payload, type) => bus.publish(topic, payload, type),
    subscribe: (pattern, o) => bus.subscribe(pattern, o),
    stats: () => bus.stats(),
    close: async () => {
      await bus.close();
      await connection.close();
    },
  };
}
