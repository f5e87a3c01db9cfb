// Docker Engine API decoy on 2375 (the unauthenticated TCP socket behind most cryptominer
// deployments): _ping, version, info, container and image listings, and the write path attackers
// use — pull, create, start, exec — answered with plausible ids and never executed. The container
// spec (image, Cmd, Entrypoint, Binds, Privileged …) and every exec command are recorded.
//
// Containers an attacker creates are remembered per source address only (bounded), so a later
// start/inspect/exec by the same attacker works, while nothing leaks to other visitors.
import { randomBytes } from 'node:crypto';
import type { DecoyService, ServiceContext, Session } from '../service.ts';
import { personaFacts, type PersonaFacts } from '../personas/facts.ts';
import { httpDate, serveHttp1, type HttpRequest, type HttpResponse } from '../proto/http1.ts';
import { decodeSegment, queryParams, recordAuth, recordRequest } from '../proto/http-record.ts';
import { Seeded } from '../proto/seed.ts';

const MAX_CREATED_PER_SOURCE = 32;
const MAX_SOURCES = 256;
const FIELD = 1024;

interface Profile {
  version: string;
  apiVersion: string;
  goVersion: string;
  gitCommit: string;
  facts: PersonaFacts;
  daemonId: string;
  bait: Container[];
  images: Image[];
}

interface Container {
  id: string;
  name: string;
  image: string;
  imageId: string;
  command: string;
  created: number;
  state: 'running' | 'exited' | 'created';
  status: string;
  ports: { PrivatePort: number; PublicPort?: number; Type: string; IP?: string }[];
}

interface Image {
  id: string;
  tags: string[];
  size: number;
  created: number;
}

function baitContainers(decky: string): { containers: Container[]; images: Image[] } {
  const s = new Seeded(decky, 'docker', 'bait');
  const day = 86_400;
  const now = Math.floor(Date.now() / 1000);
  const specs: [string, string, string, Container['ports']][] = [
    ['nginx:1.25', 'web', '/docker-entrypoint.sh nginx -g \'daemon off;\'', [{ PrivatePort: 80, PublicPort: 8080, Type: 'tcp', IP: '0.0.0.0' }]],
    ['postgres:15', 'db', 'docker-entrypoint.sh postgres', [{ PrivatePort: 5432, Type: 'tcp' }]],
    ['redis:7-alpine', 'cache', 'docker-entrypoint.sh redis-server', [{ PrivatePort: 6379, Type: 'tcp' }]],
    ['registry.internal/billing-api:2.14.1', 'billing-api', 'node dist/server.js', [{ PrivatePort: 3000, PublicPort: 3000, Type: 'tcp', IP: '0.0.0.0' }]],
  ];
  const images: Image[] = [];
  const containers = specs.map(([image, name, command, ports], i) => {
    const imageId = 'sha256:' + s.hex(64);
    const created = now - s.int(3, 120) * day;
    images.push({ id: imageId, tags: [image], size: s.int(40, 420) * 1_048_576, created: created - s.int(1, 30) * day });
    const up = s.int(2, 40);
    return {
      id: s.hex(64),
      name: `/${name}`,
      image,
      imageId,
      command,
      created,
      state: i === 3 ? 'exited' : 'running',
      status: i === 3 ? `Exited (137) ${s.int(2, 9)} days ago` : `Up ${up} days`,
      ports,
    } as Container;
  });
  images.push({ id: 'sha256:' + s.hex(64), tags: ['alpine:3.19'], size: 7_377_692, created: now - 90 * day });
  return { containers, images };
}

function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.slice(0, FIELD);
  const text = JSON.stringify(v);
  return text.length > FIELD ? text.slice(0, FIELD) + '…' : text;
}

function parseJson(req: HttpRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  try {
    const v = JSON.parse(req.body.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function handler(p: Profile, session: Session, created: Map<string, Container[]>) {
  const source = session.peer.srcIp;
  const mine = (): Container[] => created.get(source) ?? [];

  // Go writes header fields sorted by name, then Date (and Content-Length).
  const headers = (extra: [string, string][] = []): [string, string][] => [
    ...([['Api-Version', p.apiVersion], ['Docker-Experimental', 'false'], ['Ostype', 'linux'], ['Server', `Docker/${p.version} (linux)`], ...extra] as [string, string][]).sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    ['Date', httpDate()],
  ];
  const json = (status: number, body: unknown): HttpResponse => ({ status, headers: headers([['Content-Type', 'application/json']]), body: JSON.stringify(body) + '\n' });
  const message = (status: number, msg: string): HttpResponse => json(status, { message: msg });
  const notFound = (): HttpResponse => ({ status: 404, headers: [['Content-Type', 'application/json'], ['Date', httpDate()]], body: '{"message":"page not found"}\n' });

  const findContainer = (ref: string): Container | undefined => {
    const all = [...p.bait, ...mine()];
    return all.find((c) => c.id === ref || c.id.startsWith(ref) || c.name === `/${ref}`) ?? (ref.length >= 4 ? all.find((c) => c.id.startsWith(ref)) : undefined);
  };

  const listEntry = (c: Container) => ({
    Id: c.id,
    Names: [c.name],
    Image: c.image,
    ImageID: c.imageId,
    Command: c.command,
    Created: c.created,
    Ports: c.ports,
    Labels: {},
    State: c.state,
    Status: c.status,
    HostConfig: { NetworkMode: 'bridge' },
    NetworkSettings: { Networks: { bridge: { IPAddress: c.state === 'running' ? `172.17.0.${2 + (parseInt(c.id.slice(0, 2), 16) % 200)}` : '', Gateway: '172.17.0.1' } } },
    Mounts: [],
  });

  const inspect = (c: Container) => ({
    Id: c.id,
    Created: new Date(c.created * 1000).toISOString(),
    Path: c.command.split(' ')[0],
    Args: c.command.split(' ').slice(1),
    State: { Status: c.state, Running: c.state === 'running', Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: c.state === 'running' ? 1000 + (parseInt(c.id.slice(0, 3), 16) % 30000) : 0, ExitCode: c.state === 'exited' ? 137 : 0, Error: '', StartedAt: new Date(c.created * 1000).toISOString(), FinishedAt: '0001-01-01T00:00:00Z' },
    Image: c.imageId,
    Name: c.name,
    RestartCount: 0,
    Driver: 'overlay2',
    Platform: 'linux',
    HostConfig: { NetworkMode: 'bridge', Privileged: false, RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 } },
    Config: { Hostname: c.id.slice(0, 12), Image: c.image, Cmd: c.command.split(' '), Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    NetworkSettings: { IPAddress: '172.17.0.2', Gateway: '172.17.0.1' },
  });

  return (req: HttpRequest): HttpResponse => {
    recordRequest(session, req);
    recordAuth(session, req);
    // Every route also exists under a /v1.xx prefix.
    const path = req.path.replace(/^\/v\d+\.\d+(?=\/)/, '');
    const seg = path.split('/').filter(Boolean).map(decodeSegment);
    const m = req.method;
    const q = queryParams(req.query);

    if (m === 'OPTIONS') return { status: 200, headers: headers(), body: '' };
    if (path === '/_ping') {
      return { status: 200, headers: headers([['Builder-Version', '2'], ['Cache-Control', 'no-cache, no-store, must-revalidate'], ['Content-Type', 'text/plain; charset=utf-8'], ['Pragma', 'no-cache']]), body: 'OK' };
    }
    if (m === 'GET' && path === '/version') {
      return json(200, {
        Platform: { Name: 'Docker Engine - Community' },
        Components: [
          { Name: 'Engine', Version: p.version, Details: { ApiVersion: p.apiVersion, Arch: 'amd64', BuildTime: '2023-10-26T09:07:41.000000000+00:00', Experimental: 'false', GitCommit: p.gitCommit, GoVersion: p.goVersion, KernelVersion: p.facts.kernelRelease, MinAPIVersion: '1.12', Os: 'linux' } },
          { Name: 'containerd', Version: '1.6.24', Details: { GitCommit: '61f9fd88f79f081d64d6fa3bb1a0dc71ec870523' } },
          { Name: 'runc', Version: '1.1.9', Details: { GitCommit: 'v1.1.9-0-gccaecfc' } },
          { Name: 'docker-init', Version: '0.19.0', Details: { GitCommit: 'de40ad0' } },
        ],
        Version: p.version,
        ApiVersion: p.apiVersion,
        MinAPIVersion: '1.12',
        GitCommit: p.gitCommit,
        GoVersion: p.goVersion,
        Os: 'linux',
        Arch: 'amd64',
        KernelVersion: p.facts.kernelRelease,
        BuildTime: '2023-10-26T09:07:41.000000000+00:00',
      });
    }
    if (m === 'GET' && path === '/info') {
      const running = p.bait.filter((c) => c.state === 'running').length + mine().filter((c) => c.state === 'running').length;
      const total = p.bait.length + mine().length;
      return json(200, {
        ID: p.daemonId,
        Containers: total,
        ContainersRunning: running,
        ContainersPaused: 0,
        ContainersStopped: total - running,
        Images: p.images.length,
        Driver: 'overlay2',
        DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true'], ['Using metacopy', 'false'], ['Native Overlay Diff', 'true'], ['userxattr', 'false']],
        Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'ipvlan', 'macvlan', 'null', 'overlay'], Authorization: null, Log: ['awslogs', 'fluentd', 'gcplogs', 'gelf', 'journald', 'json-file', 'local', 'logentries', 'splunk', 'syslog'] },
        MemoryLimit: true,
        SwapLimit: false,
        CpuCfsPeriod: true,
        CpuCfsQuota: true,
        IPv4Forwarding: true,
        Debug: false,
        NFd: 38,
        NGoroutines: 51,
        SystemTime: new Date().toISOString(),
        LoggingDriver: 'json-file',
        CgroupDriver: 'systemd',
        CgroupVersion: '2',
        NEventsListener: 0,
        KernelVersion: p.facts.kernelRelease,
        OperatingSystem: p.facts.prettyName,
        OSVersion: (/VERSION_ID="?([^"\n]*)/.exec(p.facts.osRelease)?.[1]) ?? '',
        OSType: 'linux',
        Architecture: 'x86_64',
        IndexServerAddress: 'https://index.docker.io/v1/',
        NCPU: 4,
        MemTotal: 8_335_564_800,
        DockerRootDir: '/var/lib/docker',
        Name: p.facts.shortHostname,
        Labels: [],
        ExperimentalBuild: false,
        ServerVersion: p.version,
        Runtimes: { 'io.containerd.runc.v2': { path: 'runc' }, runc: { path: 'runc' } },
        DefaultRuntime: 'runc',
        Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
        LiveRestoreEnabled: false,
        Isolation: '',
        InitBinary: 'docker-init',
        SecurityOptions: ['name=apparmor', 'name=seccomp,profile=builtin', 'name=cgroupns'],
        Warnings: ['WARNING: API is accessible on http://0.0.0.0:2375 without encryption.\n         Access to the remote API is equivalent to root access on the host. Refer\n         to the \'Docker daemon attack surface\' section in the documentation for\n         more information: https://docs.docker.com/go/attack-surface/'],
      });
    }
    if (m === 'GET' && path === '/containers/json') {
      const all = q.get('all') === '1' || q.get('all') === 'true';
      return json(200, [...mine(), ...p.bait].filter((c) => all || c.state === 'running').map(listEntry));
    }
    if (m === 'GET' && path === '/images/json') {
      return json(200, p.images.map((i) => ({ Containers: -1, Created: i.created, Id: i.id, Labels: null, ParentId: '', RepoDigests: [`${i.tags[0]!.split(':')[0]}@sha256:${new Seeded(i.id).hex(64)}`], RepoTags: i.tags, SharedSize: -1, Size: i.size, VirtualSize: i.size })));
    }
    if (m === 'POST' && path === '/images/create') {
      const image = (q.get('fromImage') ?? '').slice(0, 256);
      const tag = (q.get('tag') ?? 'latest').slice(0, 128);
      session.record('image_pull', { image, tag, registry_auth: req.headers['x-registry-auth'] ? true : undefined });
      const short = image.split('/').pop() ?? image;
      const layer = new Seeded(image, tag).hex(12);
      const lines = [
        { status: `Pulling from ${image.includes('/') ? image : `library/${image}`}`, id: tag },
        { status: 'Pulling fs layer', progressDetail: {}, id: layer },
        { status: 'Download complete', progressDetail: {}, id: layer },
        { status: 'Pull complete', progressDetail: {}, id: layer },
        { status: `Digest: sha256:${new Seeded(image, tag, 'digest').hex(64)}` },
        { status: `Status: Downloaded newer image for ${short}:${tag}` },
      ];
      return { status: 200, headers: headers([['Content-Type', 'application/json']]), body: lines.map((l) => JSON.stringify(l) + '\r\n').join('') };
    }
    if (m === 'POST' && path === '/containers/create') {
      const spec = parseJson(req);
      const host = (spec.HostConfig && typeof spec.HostConfig === 'object' ? spec.HostConfig : {}) as Record<string, unknown>;
      const image = String(spec.Image ?? '').slice(0, 256);
      const cmd = spec.Cmd;
      const entrypoint = spec.Entrypoint;
      session.record('container_create', {
        image,
        name: q.get('name')?.slice(0, 128),
        cmd: str(cmd),
        entrypoint: str(entrypoint),
        env: str(spec.Env),
        binds: str(host.Binds),
        mounts: str(host.Mounts),
        privileged: host.Privileged === true ? true : undefined,
        network_mode: str(host.NetworkMode),
        pid_mode: str(host.PidMode),
        cap_add: str(host.CapAdd),
        restart: str(host.RestartPolicy),
        spec: str(spec),
      });
      if (!image) return message(400, 'invalid reference format');
      const id = randomBytes(32).toString('hex');
      const commandText = [entrypoint, cmd].flat().filter((x) => typeof x === 'string').join(' ').slice(0, 512);
      const list = mine();
      list.unshift({ id, name: `/${(q.get('name') ?? `${['eager', 'vibrant', 'quirky', 'nifty'][id.charCodeAt(0) % 4]}_${['turing', 'hopper', 'lovelace', 'curie'][id.charCodeAt(1) % 4]}`).slice(0, 64)}`, image, imageId: 'sha256:' + new Seeded(image).hex(64), command: commandText, created: Math.floor(Date.now() / 1000), state: 'created', status: 'Created', ports: [] });
      list.length = Math.min(list.length, MAX_CREATED_PER_SOURCE);
      if (!created.has(source) && created.size >= MAX_SOURCES) created.delete(created.keys().next().value!);
      created.set(source, list);
      return json(201, { Id: id, Warnings: [] });
    }
    if (seg[0] === 'containers' && seg.length >= 2) {
      const c = findContainer(seg[1]!);
      const action = seg[2] ?? '';
      if (!c) return message(404, `No such container: ${seg[1]!.slice(0, 128)}`);
      if (m === 'GET' && action === 'json') return json(200, inspect(c));
      if (m === 'POST' && (action === 'start' || action === 'restart' || action === 'unpause')) {
        session.record('container_start', { container: c.id.slice(0, 12), image: c.image, action });
        if (action === 'start' && c.state === 'running') return { status: 304, headers: headers(), body: '' };
        // Only the attacker's own containers change state; the bait looks the same to everyone.
        if (!p.bait.includes(c)) {
          c.state = 'running';
          c.status = 'Up Less than a second';
        }
        return { status: 204, headers: headers(), body: '' };
      }
      if (m === 'POST' && (action === 'stop' || action === 'kill' || action === 'pause')) {
        session.record('container_stop', { container: c.id.slice(0, 12), action });
        return { status: 204, headers: headers(), body: '' };
      }
      if (m === 'POST' && action === 'wait') return json(200, { Error: null, StatusCode: 0 });
      if (m === 'GET' && action === 'logs') return { status: 200, headers: headers([['Content-Type', 'application/vnd.docker.multiplexed-stream']]), body: '' };
      if (m === 'GET' && action === 'top') return json(200, { Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], Processes: [['root', '1482', '1461', '0', 'Mar11', '?', '00:00:03', c.command.slice(0, 128)]] });
      if (m === 'POST' && action === 'exec') {
        const spec = parseJson(req);
        session.record('command', { container: c.id.slice(0, 12), image: c.image, cmd: str(spec.Cmd), user: str(spec.User), privileged: spec.Privileged === true ? true : undefined, via: 'exec' });
        return json(201, { Id: randomBytes(32).toString('hex') });
      }
      if (m === 'POST' && action === 'attach') return { status: 200, headers: headers([['Content-Type', 'application/vnd.docker.raw-stream']]), body: '', close: true };
      if (m === 'DELETE' && seg.length === 2) {
        const list = mine();
        const at = list.indexOf(c);
        if (at >= 0) list.splice(at, 1);
        return { status: 204, headers: headers(), body: '' };
      }
      return notFound();
    }
    if (seg[0] === 'exec' && seg.length >= 3) {
      if (m === 'POST' && seg[2] === 'start') {
        const spec = parseJson(req);
        // Output of a command that never ran: an empty stream (Detach) or the hijacked stream closing at once.
        if (spec.Detach === true) return { status: 200, headers: headers([['Content-Type', 'application/json']]), body: '' };
        return { status: 200, headers: headers([['Content-Type', 'application/vnd.docker.raw-stream']]), body: '', close: true };
      }
      if (m === 'GET' && seg[2] === 'json') return json(200, { CanRemove: false, ContainerID: '', DetachKeys: '', ExitCode: 0, ID: seg[1], OpenStderr: true, OpenStdin: false, OpenStdout: true, ProcessConfig: {}, Running: false, Pid: 0 });
    }
    if (m === 'GET' && path === '/networks') return json(200, [{ Name: 'bridge', Id: new Seeded(p.daemonId, 'net').hex(64), Created: new Date(Date.now() - 40 * 86_400_000).toISOString(), Scope: 'local', Driver: 'bridge', EnableIPv6: false, IPAM: { Driver: 'default', Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] }, Internal: false, Attachable: false, Ingress: false, Containers: {}, Options: {}, Labels: {} }]);
    if (m === 'GET' && path === '/volumes') return json(200, { Volumes: [{ Name: 'pgdata', Driver: 'local', Mountpoint: '/var/lib/docker/volumes/pgdata/_data', Labels: null, Scope: 'local', CreatedAt: new Date(Date.now() - 40 * 86_400_000).toISOString() }], Warnings: null });
    if (path === '/swarm' || path.startsWith('/nodes') || path.startsWith('/services')) {
      return message(503, 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.');
    }
    if (m === 'GET' && path === '/events') return { status: 200, headers: headers([['Content-Type', 'application/json']]), body: '', close: true };
    if (m === 'POST' && path === '/build') {
      session.record('image_build', { tag: q.get('t')?.slice(0, 256), remote: q.get('remote')?.slice(0, 512), dockerfile: q.get('dockerfile')?.slice(0, 256) });
      return json(500, { message: 'error reading build context: unexpected EOF' });
    }
    return notFound();
  };
}

const dockerApi: DecoyService = {
  name: 'docker_api',
  summary: 'Docker Engine API (unauthenticated TCP socket)',
  listens: [{ port: 2375, transport: 'tcp' }],
  personaKeys: {
    version: { summary: 'Docker Engine version', default: '24.0.7' },
    api_version: { summary: 'Engine API version', default: '1.43' },
  },
  create(ctx: ServiceContext) {
    const facts = personaFacts(ctx.decky.persona);
    const seed = new Seeded(ctx.decky.name, 'docker');
    const bait = baitContainers(ctx.decky.name);
    const profile: Profile = {
      version: ctx.config.version,
      apiVersion: ctx.config.api_version,
      goVersion: 'go1.20.10',
      gitCommit: new Seeded('docker-release', ctx.config.version).hex(7),
      facts,
      daemonId: Array.from({ length: 12 }, () => seed.base64id(3).toUpperCase().replace(/[^A-Z0-9]/g, 'X').slice(0, 4)).join(':'),
      bait: bait.containers,
      images: bait.images,
    };
    const created = new Map<string, Container[]>();
    return {
      onConnection(socket, session) {
        serveHttp1(socket, {
          onRequest: handler(profile, session, created),
          onError: (kind, raw) => {
            session.record('protocol_error', { error: kind, raw: raw.subarray(0, 256).toString('latin1') });
            // Go's net/http answer to a malformed request.
            return { status: kind === 'head_too_large' ? 431 : 400, headers: [['Content-Type', 'text/plain; charset=utf-8'], ['Connection', 'close']], body: kind === 'head_too_large' ? '431 Request Header Fields Too Large' : '400 Bad Request', close: true };
          },
        });
      },
    };
  },
};

export default dockerApi;
