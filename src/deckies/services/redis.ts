// Redis decoy: RESP2 and inline commands with the replies (and error texts) of the persona's Redis
// version, a small fake keyspace with bait keys, and a record of every command.
//
// The classic attacks are all recorded: AUTH guessing (auth_attempt), CONFIG SET dir/dbfilename
// followed by SAVE to drop a cron job or SSH key (config_set, and the attacker's keys stored in
// quarantine as the file they tried to write), SLAVEOF/REPLICAOF to a rogue master, MODULE LOAD,
// EVAL sandbox escapes. Nothing is executed, loaded, or connected to.
//
// The keyspace is per connection, seeded with the same bait each time: one attacker's writes (or
// FLUSHALL) are never visible to another, so the decoy cannot become a message board between
// attackers, and every visitor sees the bait.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { DecoyService, ServiceContext, Session } from '../service.ts';
import { personaFacts, type PersonaFacts } from '../personas/facts.ts';
import { ByteQueue } from '../proto/byte-queue.ts';
import { globMatch } from '../proto/glob.ts';
import { resp, takeCommand, type Reply } from '../proto/resp.ts';
import { Seeded } from '../proto/seed.ts';

const LIMITS = { maxInline: 64 * 1024, maxArgs: 1024, maxBulk: 512 * 1024 };
const MAX_KEYS = 512;
const MAX_KEYSPACE_BYTES = 1024 * 1024;
const MAX_PATTERN = 256;
const ARG_PREVIEW = 256;
const MAX_RECORDED_ARGS = 8;
const QUARANTINE_BYTES = 1024 * 1024;

interface RedisProfile {
  version: string;
  major: number;
  minor: number;
  password: string;
  facts: PersonaFacts;
  runId: string;
  buildId: string;
  pid: number;
  startedAt: number;
  bait: Map<string, Buffer>;
}

interface ConnState {
  authed: boolean;
  db: number;
  name: string;
  keys: Map<string, Buffer>;
  expires: Map<string, number>;
  written: Set<string>;
  bytes: number;
  config: Map<string, string>;
  closing: boolean;
  clientId: number;
}

function atLeast(p: RedisProfile, major: number, minor = 0): boolean {
  return p.major > major || (p.major === major && p.minor >= minor);
}

function baitKeys(decky: string): Map<string, Buffer> {
  const s = new Seeded(decky, 'redis', 'bait');
  const m = new Map<string, Buffer>();
  const put = (k: string, v: string): void => void m.set(k, Buffer.from(v, 'utf8'));
  const dbPass = s.base64id(12);
  put('config:database_url', `postgresql://app:${dbPass}@db-primary.internal:5432/app_production`);
  put('config:smtp', JSON.stringify({ host: 'smtp.internal', port: 587, user: 'notifications', password: s.base64id(9) }));
  put('api:payments:secret_key', `sk_live_${s.base64id(18)}`);
  put('user:1:password_hash', `$2b$12$${s.base64id(40).slice(0, 53)}`);
  put('user:1:email', 'admin@' + decky.toLowerCase().replace(/[^a-z0-9.-]/g, '') + '.internal');
  for (let i = 0; i < 4; i++) {
    put(`session:${s.hex(32)}`, JSON.stringify({ user_id: s.int(2, 400), role: i === 0 ? 'admin' : 'user', csrf: s.hex(16) }));
  }
  put('celery-task-meta-' + s.uuid(), JSON.stringify({ status: 'SUCCESS', result: null, traceback: null, children: [] }));
  put('backup:last_run', new Date(Date.now() - s.int(1, 48) * 3600_000).toISOString());
  put('cache:homepage', '<!doctype html><html><head><title>Dashboard</title></head><body></body></html>');
  return m;
}

function defaultConfig(p: RedisProfile): Map<string, string> {
  return new Map<string, string>([
    ['dbfilename', 'dump.rdb'],
    ['dir', '/var/lib/redis'],
    ['requirepass', p.password],
    ['masterauth', ''],
    ['bind', '0.0.0.0'],
    ['protected-mode', 'no'],
    ['port', '6379'],
    ['tcp-backlog', '511'],
    ['timeout', '0'],
    ['tcp-keepalive', '300'],
    ['daemonize', 'yes'],
    ['supervised', 'systemd'],
    ['pidfile', '/run/redis/redis-server.pid'],
    ['loglevel', 'notice'],
    ['logfile', '/var/log/redis/redis-server.log'],
    ['databases', '16'],
    ['save', '3600 1 300 100 60 10000'],
    ['stop-writes-on-bgsave-error', 'yes'],
    ['rdbcompression', 'yes'],
    ['rdbchecksum', 'yes'],
    ['replica-read-only', 'yes'],
    ['slave-read-only', 'yes'],
    ['maxclients', '10000'],
    ['maxmemory', '0'],
    ['maxmemory-policy', 'noeviction'],
    ['appendonly', 'no'],
    ['appendfilename', 'appendonly.aof'],
    ['appendfsync', 'everysec'],
    ['lua-time-limit', '5000'],
    ['slowlog-log-slower-than', '10000'],
    ['slowlog-max-len', '128'],
    ['notify-keyspace-events', ''],
    ['hz', '10'],
    ['io-threads', '1'],
  ]);
}

/** Printable preview of an argument for the event log. */
function preview(b: Buffer): string {
  const s = b.subarray(0, ARG_PREVIEW).toString('latin1');
  return b.length > ARG_PREVIEW ? s + '…' : s;
}

function infoText(p: RedisProfile, st: ConnState, section: string): string {
  const now = Date.now();
  const uptime = Math.floor((now - p.startedAt) / 1000);
  const f = p.facts;
  const sections: Record<string, [string, string | number][]> = {
    server: [
      ['redis_version', p.version],
      ['redis_git_sha1', '00000000'],
      ['redis_git_dirty', 0],
      ['redis_build_id', p.buildId],
      ['redis_mode', 'standalone'],
      ['os', `Linux ${f.kernelRelease} ${f.machine}`],
      ['arch_bits', 64],
      ['monotonic_clock', 'POSIX clock_gettime'],
      ['multiplexing_api', 'epoll'],
      ['atomicvar_api', 'c11-builtin'],
      ['gcc_version', '12.2.0'],
      ['process_id', p.pid],
      ['process_supervised', 'systemd'],
      ['run_id', p.runId],
      ['tcp_port', 6379],
      ['server_time_usec', now * 1000],
      ['uptime_in_seconds', uptime],
      ['uptime_in_days', Math.floor(uptime / 86400)],
      ['hz', 10],
      ['configured_hz', 10],
      ['lru_clock', Math.floor(now / 1000) % 16777216],
      ['executable', '/usr/bin/redis-server'],
      ['config_file', '/etc/redis/redis.conf'],
      ['io_threads_active', 0],
    ],
    clients: [
      ['connected_clients', 1 + (p.pid % 3)],
      ['cluster_connections', 0],
      ['maxclients', 10000],
      ['client_recent_max_input_buffer', 20480],
      ['client_recent_max_output_buffer', 0],
      ['blocked_clients', 0],
      ['tracking_clients', 0],
      ['clients_in_timeout_table', 0],
    ],
    memory: [
      ['used_memory', 1_048_576 + st.bytes],
      ['used_memory_human', `${((1_048_576 + st.bytes) / 1048576).toFixed(2)}M`],
      ['used_memory_rss', 9_842_688],
      ['used_memory_rss_human', '9.39M'],
      ['used_memory_peak', 1_270_232],
      ['used_memory_peak_human', '1.21M'],
      ['total_system_memory', 8_335_564_800],
      ['total_system_memory_human', '7.76G'],
      ['used_memory_lua', 31_744],
      ['maxmemory', 0],
      ['maxmemory_human', '0B'],
      ['maxmemory_policy', 'noeviction'],
      ['mem_fragmentation_ratio', '8.61'],
      ['mem_allocator', 'jemalloc-5.3.0'],
    ],
    persistence: [
      ['loading', 0],
      ['rdb_changes_since_last_save', st.written.size],
      ['rdb_bgsave_in_progress', 0],
      ['rdb_last_save_time', Math.floor(now / 1000) - (uptime % 3600)],
      ['rdb_last_bgsave_status', 'ok'],
      ['aof_enabled', 0],
      ['aof_rewrite_in_progress', 0],
    ],
    stats: [
      ['total_connections_received', 1200 + (p.pid % 5000)],
      ['total_commands_processed', 48_000 + (p.pid % 90_000)],
      ['instantaneous_ops_per_sec', 0],
      ['rejected_connections', 0],
      ['expired_keys', 17],
      ['evicted_keys', 0],
      ['keyspace_hits', 3051],
      ['keyspace_misses', 412],
      ['pubsub_channels', 0],
    ],
    replication: [
      ['role', 'master'],
      ['connected_slaves', 0],
      ['master_replid', p.runId.split('').reverse().join('')],
      ['master_replid2', '0000000000000000000000000000000000000000'],
      ['master_repl_offset', 0],
      ['repl_backlog_active', 0],
    ],
    cpu: [
      ['used_cpu_sys', (uptime / 4000).toFixed(6)],
      ['used_cpu_user', (uptime / 3000).toFixed(6)],
    ],
    modules: [],
    cluster: [['cluster_enabled', 0]],
    keyspace: st.keys.size > 0 ? [['db0', `keys=${st.keys.size},expires=${st.expires.size},avg_ttl=0`]] : [],
  };
  const order = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'cluster', 'keyspace'];
  const wanted = section === '' || section === 'all' || section === 'everything' || section === 'default' ? order : order.filter((s) => s === section);
  return wanted
    .map((name) => `# ${name[0]!.toUpperCase()}${name.slice(1)}\r\n` + sections[name]!.map(([k, v]) => `${k}:${v}\r\n`).join(''))
    .join('\r\n');
}

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

function arityError(name: string): Reply {
  return resp.error(`ERR wrong number of arguments for '${name}' command`);
}

function unknownCommand(p: RedisProfile, name: string, args: Buffer[]): Reply {
  const shown = args.slice(0, 8).map((a) => preview(a).slice(0, 128));
  if (atLeast(p, 6, 2)) {
    return resp.error(`ERR unknown command '${name.slice(0, 128)}', with args beginning with: ${shown.map((a) => `'${a}' `).join('')}`);
  }
  return resp.error(`ERR unknown command \`${name.slice(0, 128)}\`, with args beginning with: ${shown.map((a) => `\`${a}\`, `).join('')}`);
}

/** Minimum argument counts (including the command name); negative = at least. */
const ARITY: Record<string, number> = {
  get: 2, set: -3, del: -2, exists: -2, type: 2, ttl: 2, pttl: 2, expire: 3, keys: 2, scan: -2, dbsize: 1, mget: -2,
  incr: 2, decr: 2, append: 3, strlen: 2, getset: 3, setnx: 3, setex: 4, randomkey: 1, select: 2, echo: 2,
  config: -2, info: -1, ping: -1, auth: -2, flushall: -1, flushdb: -1, save: 1, bgsave: -1, lastsave: 1, time: 1,
  slaveof: 3, replicaof: 3, module: -2, eval: -3, evalsha: -3, script: -2, client: -2, command: -1, quit: -1,
  shutdown: -1, debug: -2, monitor: 1, role: 1, hello: -1, acl: -2, memory: -2, sync: 1, psync: -3, subscribe: -2,
  publish: 3, bgrewriteaof: 1, lpush: -3, rpush: -3, sadd: -3, hset: -4, hgetall: 2, hget: 3, lrange: 4, smembers: 2,
  unlink: -2, rename: 3, object: -2, dump: 2, restore: -4, migrate: -6, cluster: -2, readonly: 1, wait: 3, reset: 1,
};

function checkArity(name: string, argc: number): boolean {
  const a = ARITY[name];
  if (a === undefined) return true;
  return a >= 0 ? argc === a : argc >= -a;
}

const PROTECTED_CONFIGS = new Set(['dir', 'dbfilename']);

function serveConnection(ctx: ServiceContext, p: RedisProfile, socket: Socket, session: Session, clientId: number): void {
  const queue = new ByteQueue(LIMITS.maxBulk + 64 * 1024);
  const st: ConnState = {
    authed: p.password === '',
    db: 0,
    name: '',
    keys: new Map(p.bait),
    expires: new Map(),
    written: new Set(),
    bytes: 0,
    config: defaultConfig(p),
    closing: false,
    clientId,
  };

  const record = (name: string, args: Buffer[], extra: Record<string, string | number | boolean | undefined> = {}): void => {
    session.record('command', {
      command: name.slice(0, 64),
      argc: args.length,
      args: args.length ? JSON.stringify(args.slice(0, MAX_RECORDED_ARGS).map(preview)) : undefined,
      ...extra,
    });
  };

  const store = (key: string, value: Buffer): Reply | null => {
    const old = st.keys.get(key);
    const delta = value.length + key.length - (old ? old.length + key.length : 0);
    if ((!old && st.keys.size >= MAX_KEYS) || st.bytes + delta > MAX_KEYSPACE_BYTES) {
      return resp.error("OOM command not allowed when used memory > 'maxmemory'.");
    }
    st.keys.set(key, value);
    st.bytes += delta;
    st.written.add(key);
    return null;
  };

  const remove = (key: string): boolean => {
    const old = st.keys.get(key);
    if (!old) return false;
    st.keys.delete(key);
    st.expires.delete(key);
    st.written.delete(key);
    st.bytes = Math.max(0, st.bytes - old.length - key.length);
    return true;
  };

  /** What the attacker wrote, stored as the file SAVE would have produced at dir/dbfilename. */
  const quarantineWrites = async (command: string): Promise<void> => {
    if (st.written.size === 0) return;
    const lines: Buffer[] = [];
    for (const key of st.written) {
      const v = st.keys.get(key);
      if (v) lines.push(Buffer.from(`${key}\n`, 'utf8'), v, Buffer.from('\n'));
    }
    const target = `${st.config.get('dir')}/${st.config.get('dbfilename')}`;
    try {
      const q = await ctx.quarantine('redis-save', target, Buffer.concat(lines), QUARANTINE_BYTES);
      session.record('file_upload', { name: target.slice(0, 512), sha256: q.sha256, size: q.size, file_truncated: q.truncated, via: command, keys: st.written.size });
    } catch (err) {
      ctx.log.debug('redis quarantine failed', { err });
    }
  };

  const execute = (args: Buffer[]): Reply | Promise<Reply> => {
    const name = args[0]!.toString('latin1').toLowerCase();
    const str = (i: number): string => args[i]!.toString('utf8');
    if (name === 'post' || name === 'host:') {
      // What Redis does on HTTP-looking input: log "Possible SECURITY ATTACK" and drop the client.
      record(name, [], { cross_protocol: true });
      st.closing = true;
      return Buffer.alloc(0);
    }
    if (name === 'auth') {
      const user = args.length >= 3 ? str(1) : 'default';
      const pass = args.length >= 3 ? args[2]! : args[1]!;
      if (!checkArity('auth', args.length) || args.length > 3) return resp.error('ERR syntax error');
      return doAuth(user, pass, 'auth');
    }
    if (name === 'hello') {
      let reply: Reply | null = null;
      const proto = args[1] ? str(1) : '2';
      for (let i = 2; i + 2 < args.length; i++) {
        if (str(i).toLowerCase() === 'auth') {
          reply = doAuth(str(i + 1), args[i + 2]!, 'hello');
          break;
        }
      }
      // Only the protocol version: HELLO's AUTH credentials went to auth_attempt above.
      record('hello', args.slice(1, 2));
      if (!atLeast(p, 6)) return unknownCommand(p, 'hello', args.slice(1));
      if (reply && reply[0] === 0x2d) return reply;
      if (proto !== '2') return resp.error('NOPROTO unsupported protocol version');
      return resp.array([
        resp.bulk('server'), resp.bulk('redis'), resp.bulk('version'), resp.bulk(p.version), resp.bulk('proto'), resp.int(2),
        resp.bulk('id'), resp.int(st.clientId), resp.bulk('mode'), resp.bulk('standalone'), resp.bulk('role'), resp.bulk('master'),
        resp.bulk('modules'), resp.array([]),
      ]);
    }
    if (!checkArity(name, args.length)) {
      record(name, args.slice(1));
      return ARITY[name] === undefined ? unknownCommand(p, name, args.slice(1)) : arityError(name);
    }
    if (!st.authed && name !== 'quit') {
      record(name, args.slice(1), { authenticated: false });
      return resp.error('NOAUTH Authentication required.');
    }
    return dispatch(name, args, str);
  };

  const doAuth = (user: string, pass: Buffer, via: string): Reply => {
    const configured = p.password !== '';
    const success = configured && user === 'default' && pass.toString('utf8') === p.password;
    session.record('auth_attempt', { username: user.slice(0, 128), auth_method: 'password', secret_kind: 'plaintext', success, via }, { secret: Buffer.from(pass.subarray(0, 1024)) });
    if (!configured) {
      if (atLeast(p, 6)) return resp.error('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
      return resp.error('ERR Client sent AUTH, but no password is set');
    }
    if (success) {
      st.authed = true;
      return resp.ok();
    }
    if (atLeast(p, 6, 2)) return resp.error('WRONGPASS invalid username-password pair or user is disabled.');
    if (atLeast(p, 6)) return resp.error('WRONGPASS invalid username-password pair');
    return resp.error('ERR invalid password');
  };

  const dispatch = (name: string, args: Buffer[], str: (i: number) => string): Reply | Promise<Reply> => {
    const rest = args.slice(1);
    switch (name) {
      case 'ping':
        record(name, rest);
        return args.length > 1 ? resp.bulk(args[1]!) : resp.simple('PONG');
      case 'echo':
        record(name, rest);
        return resp.bulk(args[1]!);
      case 'quit':
        record(name, rest);
        st.closing = true;
        return resp.ok();
      case 'reset':
        record(name, rest);
        return resp.simple('RESET');
      case 'select': {
        record(name, rest);
        const n = Number(str(1));
        if (!Number.isInteger(n)) return resp.error('ERR value is not an integer or out of range');
        if (n < 0 || n > 15) return resp.error('ERR DB index is out of range');
        st.db = n;
        return resp.ok();
      }
      case 'info': {
        record(name, rest);
        return resp.bulk(infoText(p, st, (args[1] ? str(1) : '').toLowerCase()));
      }
      case 'dbsize':
        record(name, rest);
        return resp.int(st.db === 0 ? st.keys.size : 0);
      case 'time': {
        record(name, rest);
        const now = Date.now();
        return resp.array([resp.bulk(String(Math.floor(now / 1000))), resp.bulk(String((now % 1000) * 1000))]);
      }
      case 'lastsave':
        record(name, rest);
        return resp.int(Math.floor(Date.now() / 1000) - 600);
      case 'role':
        record(name, rest);
        return resp.array([resp.bulk('master'), resp.int(0), resp.array([])]);
      case 'get': {
        record(name, rest);
        if (st.db !== 0) return resp.bulk(null);
        return resp.bulk(st.keys.get(str(1)) ?? null);
      }
      case 'mget':
        record(name, rest);
        return resp.array(rest.map((k) => resp.bulk(st.db === 0 ? (st.keys.get(k.toString('utf8')) ?? null) : null)));
      case 'set':
      case 'setnx':
      case 'setex':
      case 'getset':
      case 'append': {
        record(name, rest);
        const key = str(1);
        const value = name === 'setex' ? args[3]! : args[2]!;
        if (name === 'setnx' && st.keys.has(key)) return resp.int(0);
        const old = st.keys.get(key);
        const next = name === 'append' && old ? Buffer.concat([old, value]) : value;
        const err = store(key, next);
        if (err) return err;
        if (name === 'setnx') return resp.int(1);
        if (name === 'getset') return resp.bulk(old ?? null);
        if (name === 'append') return resp.int(next.length);
        return resp.ok();
      }
      case 'incr':
      case 'decr': {
        record(name, rest);
        const key = str(1);
        const cur = st.keys.get(key);
        const n = cur ? Number(cur.toString('latin1')) : 0;
        if (!Number.isSafeInteger(n)) return resp.error('ERR value is not an integer or out of range');
        const next = n + (name === 'incr' ? 1 : -1);
        return store(key, Buffer.from(String(next))) ?? resp.int(next);
      }
      case 'strlen':
        record(name, rest);
        return resp.int(st.keys.get(str(1))?.length ?? 0);
      case 'del':
      case 'unlink':
        record(name, rest);
        return resp.int(rest.filter((k) => remove(k.toString('utf8'))).length);
      case 'exists':
        record(name, rest);
        return resp.int(rest.filter((k) => st.keys.has(k.toString('utf8'))).length);
      case 'type':
        record(name, rest);
        return resp.simple(st.keys.has(str(1)) ? 'string' : 'none');
      case 'ttl':
      case 'pttl':
        record(name, rest);
        return resp.int(st.keys.has(str(1)) ? -1 : -2);
      case 'expire':
        record(name, rest);
        if (!st.keys.has(str(1))) return resp.int(0);
        st.expires.set(str(1), Number(str(2)) || 0);
        return resp.int(1);
      case 'randomkey': {
        record(name, rest);
        const keys = [...st.keys.keys()];
        return resp.bulk(keys.length ? keys[Math.floor(Math.random() * keys.length)]! : null);
      }
      case 'rename': {
        record(name, rest);
        const v = st.keys.get(str(1));
        if (!v) return resp.error('ERR no such key');
        remove(str(1));
        return store(str(2), v) ?? resp.ok();
      }
      case 'keys': {
        record(name, rest);
        const pattern = str(1).slice(0, MAX_PATTERN);
        if (st.db !== 0) return resp.array([]);
        return resp.array([...st.keys.keys()].filter((k) => globMatch(pattern, k.slice(0, 512))).map((k) => resp.bulk(k)));
      }
      case 'scan': {
        record(name, rest);
        let pattern = '*';
        for (let i = 2; i + 1 < args.length; i += 2) if (str(i).toLowerCase() === 'match') pattern = str(i + 1).slice(0, MAX_PATTERN);
        const keys = st.db === 0 ? [...st.keys.keys()].filter((k) => globMatch(pattern, k.slice(0, 512))) : [];
        return resp.array([resp.bulk('0'), resp.array(keys.map((k) => resp.bulk(k)))]);
      }
      case 'flushall':
      case 'flushdb':
        record(name, rest);
        for (const k of [...st.keys.keys()]) remove(k);
        return resp.ok();
      case 'save':
      case 'bgsave':
      case 'bgrewriteaof': {
        record(name, rest, { dir: st.config.get('dir'), dbfilename: st.config.get('dbfilename') });
        return quarantineWrites(name).then(() =>
          name === 'save' ? resp.ok() : name === 'bgsave' ? resp.simple('Background saving started') : resp.simple('Background append only file rewriting started'),
        );
      }
      case 'config':
        return configCommand(args, str);
      case 'slaveof':
      case 'replicaof': {
        const host = str(1).slice(0, 255);
        const port = str(2).slice(0, 16);
        const none = host.toLowerCase() === 'no' && port.toLowerCase() === 'one';
        record(name, rest, none ? {} : { master_host: host, master_port: port });
        return resp.ok();
      }
      case 'sync':
      case 'psync':
        record(name, rest);
        return resp.error('NOMASTERLINK Can\'t SYNC while not connected with my master');
      case 'module': {
        const sub = str(1).toLowerCase();
        record(name, rest, sub === 'load' && args[2] ? { module_path: str(2).slice(0, 512) } : {});
        if (sub === 'list') return resp.array([]);
        if (sub === 'help') return resp.array([resp.simple('MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:')]);
        if (atLeast(p, 7)) {
          return resp.error('ERR MODULE command not allowed. If the enable-module-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.');
        }
        if (sub === 'load') return resp.error('ERR Error loading the extension. Please check the server logs.');
        if (sub === 'unload') return resp.error('ERR Error unloading module: no such module with that name');
        return resp.error(`ERR Unknown subcommand or wrong number of arguments for '${str(1).slice(0, 64)}'. Try MODULE HELP.`);
      }
      case 'eval':
      case 'evalsha': {
        const script = preview(args[1]!);
        record(name, rest, { script: args[1]!.subarray(0, 2048).toString('utf8') });
        if (name === 'evalsha') return resp.error('NOSCRIPT No matching script. Please use EVAL.');
        const numkeys = Number(str(2));
        if (!Number.isInteger(numkeys) || numkeys < 0) return resp.error('ERR value is not an integer or out of range');
        if (numkeys > args.length - 3) return resp.error("ERR Number of keys can't be greater than number of args");
        const global = /\b(package|io|os|loadstring|dofile|loadfile|require|debug)\b/.exec(script);
        if (global) {
          return resp.error(`ERR user_script:1: Script attempted to access nonexistent global variable '${global[1]}' script: ${sha1(args[1]!)}, on @user_script:1.`);
        }
        const ret = /^\s*return\s+(-?\d{1,15})\s*;?\s*$/.exec(script);
        if (ret) return resp.int(Number(ret[1]));
        const retStr = /^\s*return\s+(['"])([^'"]{0,256})\1\s*;?\s*$/.exec(script);
        if (retStr) return resp.bulk(retStr[2]!);
        return resp.bulk(null);
      }
      case 'script':
        record(name, rest);
        if (str(1).toLowerCase() === 'load') return resp.bulk(sha1(args[2] ?? Buffer.alloc(0)));
        if (str(1).toLowerCase() === 'exists') return resp.array(args.slice(2).map(() => resp.int(0)));
        return resp.ok();
      case 'client': {
        record(name, rest);
        const sub = str(1).toLowerCase();
        if (sub === 'setname') {
          st.name = str(2).slice(0, 64);
          return resp.ok();
        }
        if (sub === 'getname') return resp.bulk(st.name || null);
        if (sub === 'id') return resp.int(st.clientId);
        if (sub === 'list' || sub === 'info') {
          const peer = session.peer;
          return resp.bulk(
            `id=${st.clientId} addr=${peer.srcIp}:${peer.srcPort} laddr=${peer.dstIp}:${peer.dstPort} fd=8 name=${st.name} age=0 idle=0 flags=N db=${st.db} sub=0 psub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 obl=0 oll=0 omem=0 tot-mem=22298 events=r cmd=client user=default redir=-1\n`,
          );
        }
        if (sub === 'kill') return resp.error('ERR No such client');
        return resp.ok();
      }
      case 'command':
        record(name, rest);
        if (args[1] && str(1).toLowerCase() === 'count') return resp.int(240);
        return resp.array([]);
      case 'shutdown':
        record(name, rest);
        return resp.error('ERR Errors trying to SHUTDOWN. Check logs.');
      case 'debug':
        record(name, rest);
        if (atLeast(p, 7)) {
          return resp.error('ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.');
        }
        return resp.error('ERR unknown subcommand or wrong number of arguments for \'' + str(1).slice(0, 64) + '\'. Try DEBUG HELP.');
      case 'monitor':
        record(name, rest);
        return resp.ok();
      case 'subscribe':
        record(name, rest);
        return Buffer.concat(rest.map((ch, i) => resp.array([resp.bulk('subscribe'), resp.bulk(ch), resp.int(i + 1)])));
      case 'publish':
        record(name, rest);
        return resp.int(0);
      case 'acl':
        record(name, rest);
        if (str(1).toLowerCase() === 'whoami') return resp.bulk('default');
        if (str(1).toLowerCase() === 'users') return resp.array([resp.bulk('default')]);
        if (str(1).toLowerCase() === 'list') return resp.array([resp.bulk(p.password ? 'user default on #' + new Seeded(p.password).hex(64) + ' ~* &* +@all' : 'user default on nopass ~* &* +@all')]);
        return resp.error(`ERR unknown subcommand '${str(1).slice(0, 64)}'. Try ACL HELP.`);
      case 'memory':
        record(name, rest);
        return str(1).toLowerCase() === 'usage' ? resp.int((st.keys.get(str(2) ?? '')?.length ?? 0) + 56) : resp.ok();
      case 'cluster':
        record(name, rest);
        return resp.error('ERR This instance has cluster support disabled');
      case 'readonly':
        record(name, rest);
        return resp.error('ERR This instance has cluster support disabled');
      case 'wait':
        record(name, rest);
        return resp.int(0);
      case 'lpush':
      case 'rpush':
      case 'sadd':
      case 'hset':
      case 'hgetall':
      case 'hget':
      case 'lrange':
      case 'smembers':
      case 'object':
      case 'dump':
      case 'restore':
      case 'migrate': {
        record(name, rest);
        const key = args[1] ? str(1) : '';
        if (st.keys.has(key)) return resp.error('WRONGTYPE Operation against a key holding the wrong kind of value');
        if (name === 'hgetall' || name === 'lrange' || name === 'smembers') return resp.array([]);
        if (name === 'hget' || name === 'dump' || name === 'object') return resp.bulk(null);
        if (name === 'migrate') return resp.simple('NOKEY');
        if (name === 'restore') return resp.error('ERR DUMP payload version or checksum are wrong');
        return resp.int(name === 'hset' ? Math.floor((args.length - 2) / 2) : args.length - 2);
      }
      default:
        record(name, rest);
        return unknownCommand(p, name, rest);
    }
  };

  const configCommand = (args: Buffer[], str: (i: number) => string): Reply => {
    const sub = str(1).toLowerCase();
    if (sub === 'get') {
      record('config', args.slice(1));
      if (args.length < 3) return arityError('config|get');
      const out: Reply[] = [];
      for (const patArg of args.slice(2)) {
        const pattern = patArg.toString('utf8').slice(0, MAX_PATTERN);
        for (const [k, v] of st.config) if (globMatch(pattern, k, true)) out.push(resp.bulk(k), resp.bulk(v));
      }
      return resp.array(out);
    }
    if (sub === 'set') {
      if (args.length < 4 || args.length % 2 !== 0) {
        record('config', args.slice(1));
        return arityError('config|set');
      }
      const param = str(2).toLowerCase().slice(0, 64);
      const value = args[3]!.subarray(0, 1024).toString('utf8');
      const known = st.config.has(param);
      const refused = known && PROTECTED_CONFIGS.has(param) && atLeast(p, 7);
      record('config', args.slice(1));
      session.record('config_set', { param, value, accepted: known && !refused });
      if (!known) return resp.error(`ERR Unknown option or number of arguments for CONFIG SET - '${param}'`);
      if (refused) return resp.error(`ERR CONFIG SET failed (possibly related to argument '${param}') - can't set protected config`);
      st.config.set(param, value);
      if (param === 'requirepass') st.authed = true;
      return resp.ok();
    }
    record('config', args.slice(1));
    if (sub === 'resetstat' || sub === 'rewrite') return resp.ok();
    if (sub === 'help') return resp.array([resp.simple('CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:')]);
    return resp.error(`ERR unknown subcommand '${str(1).slice(0, 64)}'. Try CONFIG HELP.`);
  };

  let busy = false;
  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      while (!st.closing) {
        const r = takeCommand(queue, LIMITS);
        if (r.kind === 'incomplete') return;
        if (r.kind === 'error') {
          session.record('protocol_error', { error: r.message });
          st.closing = true;
          socket.end(resp.error('ERR ' + r.message));
          return;
        }
        if (r.args.length === 0) continue;
        const reply = await execute(r.args);
        if (socket.destroyed) return;
        if (st.closing) socket.end(reply);
        else socket.write(reply);
      }
    } catch (err) {
      ctx.log.debug('redis session error', { err });
      socket.destroy();
    } finally {
      busy = false;
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (st.closing) return;
    if (!queue.push(chunk)) {
      session.record('protocol_error', { error: 'request too large' });
      st.closing = true;
      socket.end(resp.error('ERR Protocol error: invalid bulk length'));
      return;
    }
    void pump();
  });
  socket.on('end', () => socket.end());
}

const redis: DecoyService = {
  name: 'redis',
  summary: 'Redis (RESP) with realistic replies and a bait keyspace',
  listens: [{ port: 6379, transport: 'tcp' }],
  personaKeys: {
    version: { summary: "server version (empty: the persona's packaged Redis)", default: '' },
    password: { summary: 'requirepass: empty = open instance (AUTH refused); otherwise the weak password that logs in', default: '' },
  },
  create(ctx) {
    const facts = personaFacts(ctx.decky.persona);
    const version = ctx.config.version || facts.redis || '7.0.15';
    const [major, minor] = version.split('.').map((x) => Number(x) || 0) as [number, number];
    const seed = new Seeded(ctx.decky.name, 'redis');
    const profile: RedisProfile = {
      version,
      major,
      minor,
      password: ctx.config.password,
      facts,
      runId: seed.hex(40),
      buildId: seed.hex(16),
      pid: seed.int(400, 4000),
      startedAt: facts.bootTime + seed.int(20, 300) * 1000,
      bait: baitKeys(ctx.decky.name),
    };
    let clientId = seed.int(3, 5000);
    return {
      onConnection(socket, session) {
        serveConnection(ctx, profile, socket, session, ++clientId);
      },
    };
  },
};

export default redis;
