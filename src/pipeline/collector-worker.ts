// The `collector` worker: the normaliser of event sources other than the local decoy host. It
// receives syslog (UDP and TCP, RFC 5424 or RFC 3164; loopback by default) from decoys running
// elsewhere, containers, or any host daemon, turns every message into a DECNET event line
// (syslog-normalise.ts) and appends it to the collector log, which the ingester tails like the
// decoy log. The file in between keeps the two workers independent: the collector never waits for
// the database, and the ingester's offset makes the hand-over crash-safe.
import { WorkerFatalError, defineWorker, sleep, type WorkerContext } from '../fleet/worker.ts';
import { envString } from '../core/env.ts';
import { collectorLogPath } from './event-paths.ts';
import { EventLog } from './event-log.ts';
import { normaliseSyslog } from './syslog-normalise.ts';
import { formatListen, parseListen, startTcpReceiver, startUdpReceiver, type ListenAddress, type Receiver, type ReceiverCounters } from './syslog-receiver.ts';

export const DEFAULT_LISTEN = '127.0.0.1:5514';
export const DEFAULT_DROP_APPS = ['sshd', 'pam_unix', 'sudo', 'su', 'cron', 'CRON', 'systemd', 'kernel', 'rsyslogd', 'dbus-daemon'];
const RETRY_BIND_MS = 30_000;
const COMPLAIN_EVERY_MS = 60_000;

function listenAddresses(config: Readonly<Record<string, unknown>>): ListenAddress[] {
  const given = config.listen;
  const specs = Array.isArray(given) && given.length > 0 ? given.map(String) : (envString('DECNET_COLLECTOR_LISTEN') ?? DEFAULT_LISTEN).split(',').map((s) => s.trim()).filter(Boolean);
  if (specs.length === 1 && specs[0] === 'none') return [];
  try {
    return specs.flatMap(parseListen);
  } catch (err) {
    throw new WorkerFatalError(`collector: ${(err as Error).message}`);
  }
}

export default defineWorker({
  name: 'collector',
  summary: 'receives RFC 5424 syslog from other sources and normalises it into the collector log',
  async run(ctx: WorkerContext) {
    const addresses = listenAddresses(ctx.config);
    const drop = Array.isArray(ctx.config['drop-apps']) ? (ctx.config['drop-apps'] as unknown[]).map(String) : DEFAULT_DROP_APPS;
    const dropApps = new Set(drop);
    const out = new EventLog(collectorLogPath(), { maxBufferBytes: 8 * 1024 * 1024, log: ctx.log });
    await out.open();

    const receive: ReceiverCounters = { messages: 0, oversize: 0, badFrames: 0, refusedConnections: 0 };
    const counts = { normalised: 0, passed_through: 0, dropped_apps: 0, malformed: 0 };
    let lastComplaint = 0;
    let unreported = 0;
    const onMessage = (message: string, peer: string): void => {
      const r = normaliseSyslog(message, peer, { dropApps });
      if ('line' in r) {
        if (r.passthrough) counts.passed_through++;
        else counts.normalised++;
        out.append(r.line);
      } else if ('dropped' in r) counts.dropped_apps++;
      else {
        counts.malformed++;
        unreported++;
        const now = Date.now();
        if (now - lastComplaint >= COMPLAIN_EVERY_MS) {
          lastComplaint = now;
          ctx.log.warn(`syslog message refused (${unreported} since the last report)`, { from: peer, reason: r.error });
          unreported = 0;
        }
      }
    };

    const receivers = new Map<string, Receiver>();
    const bindErrors = new Map<string, string>();
    const bindAll = async (): Promise<void> => {
      for (const a of addresses) {
        const key = formatListen(a);
        if (receivers.has(key)) continue;
        try {
          const r = a.transport === 'udp' ? await startUdpReceiver(a, onMessage, receive) : await startTcpReceiver(a, onMessage, receive);
          receivers.set(key, r);
          if (bindErrors.delete(key)) ctx.log.info('syslog receiver bound after an earlier failure', { listen: key });
        } catch (err) {
          const why = (err as Error).message;
          if (bindErrors.get(key) !== why) ctx.log.error(`cannot receive syslog on ${key}; retrying every ${RETRY_BIND_MS / 1000} s`, { err: why });
          bindErrors.set(key, why);
        }
      }
    };
    for (const a of addresses) {
      if (!/^(127\.|::1$|localhost$)/.test(a.host)) ctx.log.warn(`receiving syslog on ${formatListen(a)}, not loopback: anyone who can reach it can add events; restrict it with a firewall`);
    }
    await bindAll();
    if (addresses.length === 0) ctx.log.info('no syslog listener configured (listen = none)');
    else ctx.log.info('receiving syslog', { listen: [...receivers.keys()].join(',') || '-', log: out.path });

    ctx.health(() => ({
      listening: [...receivers.values()].map((r) => `${r.address.transport}://${r.address.host}:${r.port}`),
      bind_errors: Object.fromEntries(bindErrors),
      received: receive.messages,
      oversize: receive.oversize,
      bad_frames: receive.badFrames,
      refused_connections: receive.refusedConnections,
      ...counts,
      ...(({ written, dropped, writeErrors }) => ({ written, dropped, write_errors: writeErrors }))(out.stats()),
    }));

    try {
      let sinceBind = 0;
      while (await sleep(5_000, ctx.signal)) {
        await out.reopenIfRotated().catch((err) => ctx.log.warn('collector log rotation check failed', { err }));
        sinceBind += 5_000;
        if (bindErrors.size > 0 && sinceBind >= RETRY_BIND_MS) {
          sinceBind = 0;
          await bindAll();
        }
      }
    } finally {
      await Promise.all([...receivers.values()].map((r) => r.close()));
      await out.close();
    }
  },
});
