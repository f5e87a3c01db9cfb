// Kubernetes API server decoy: 6443 over TLS with the decky's certificate, 8080 as the old
// insecure port. It plays a cluster whose anonymous user was bound to the built-in `view` role plus
// pod creation (a classic misconfiguration): discovery, namespaces and pod listings answer; secrets
// and exec are forbidden; any bearer token or password is rejected as invalid (and recorded).
// Workloads an attacker submits (pods, deployments, daemonsets, jobs, cronjobs) are recorded with
// their images, commands, host mounts and privilege flags, and acknowledged; nothing runs.
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { DecoyService, ServiceContext, Session } from '../service.ts';
import { personaFacts } from '../personas/facts.ts';
import { httpDate, serveHttp1, type HttpRequest, type HttpResponse } from '../proto/http1.ts';
import { decodeSegment, queryParams, recordAuth, recordRequest } from '../proto/http-record.ts';
import { Seeded } from '../proto/seed.ts';
import { acceptTls, secureContextProvider } from '../tls-server.ts';

const FIELD = 1024;
const WORKLOADS: Record<string, { kind: string; group: string }> = {
  pods: { kind: 'Pod', group: '' },
  deployments: { kind: 'Deployment', group: 'apps' },
  daemonsets: { kind: 'DaemonSet', group: 'apps' },
  statefulsets: { kind: 'StatefulSet', group: 'apps' },
  replicasets: { kind: 'ReplicaSet', group: 'apps' },
  jobs: { kind: 'Job', group: 'batch' },
  cronjobs: { kind: 'CronJob', group: 'batch' },
};

interface Profile {
  gitVersion: string;
  minor: string;
  nodeName: string;
  ip: string;
  pods: Record<string, unknown>[];
  namespaces: string[];
  flowSchema: string;
  priorityLevel: string;
}

function bounded(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const t = typeof v === 'string' ? v : JSON.stringify(v);
  return t.length > FIELD ? t.slice(0, FIELD) + '…' : t;
}

function baitPods(decky: string, node: string, ip: string, version: string): Record<string, unknown>[] {
  const s = new Seeded(decky, 'k8s', 'pods');
  const started = new Date(Date.now() - s.int(10, 200) * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const pod = (ns: string, name: string, image: string, hostNetwork = false) => ({
    metadata: { name, namespace: ns, uid: s.uuid(), resourceVersion: String(s.int(1000, 900000)), creationTimestamp: started, labels: { app: name.split('-')[0] } },
    spec: { containers: [{ name: name.split('-')[0], image, imagePullPolicy: 'IfNotPresent' }], nodeName: node, hostNetwork: hostNetwork || undefined, restartPolicy: 'Always', serviceAccountName: 'default' },
    status: { phase: 'Running', hostIP: ip, podIP: hostNetwork ? ip : `10.244.0.${s.int(2, 250)}`, startTime: started },
  });
  const h = () => s.hex(10).replace(/[0-9]/g, (d) => 'bcdfghjkmn'[Number(d)]!);
  return [
    pod('default', `billing-api-${h().slice(0, 10)}-${h().slice(0, 5)}`, 'registry.internal/billing-api:2.14.1'),
    pod('default', 'redis-0', 'redis:7.2-alpine'),
    pod('default', `web-${h().slice(0, 10)}-${h().slice(0, 5)}`, 'nginx:1.25'),
    pod('kube-system', `coredns-${h().slice(0, 10)}-${h().slice(0, 5)}`, 'registry.k8s.io/coredns/coredns:v1.10.1'),
    pod('kube-system', `etcd-${node}`, 'registry.k8s.io/etcd:3.5.9-0', true),
    pod('kube-system', `kube-apiserver-${node}`, `registry.k8s.io/kube-apiserver:${version}`, true),
    pod('kube-system', `kube-controller-manager-${node}`, `registry.k8s.io/kube-controller-manager:${version}`, true),
    pod('kube-system', `kube-proxy-${h().slice(0, 5)}`, `registry.k8s.io/kube-proxy:${version}`, true),
    pod('kube-system', `kube-scheduler-${node}`, `registry.k8s.io/kube-scheduler:${version}`, true),
  ];
}

/** The pod spec inside any workload object. */
function podSpecOf(kind: string, obj: Record<string, unknown>): Record<string, unknown> {
  const get = (o: unknown, ...path: string[]): unknown => path.reduce((a: unknown, k) => (a && typeof a === 'object' ? (a as Record<string, unknown>)[k] : undefined), o);
  const spec = kind === 'Pod' ? get(obj, 'spec') : kind === 'CronJob' ? get(obj, 'spec', 'jobTemplate', 'spec', 'template', 'spec') : get(obj, 'spec', 'template', 'spec');
  return spec && typeof spec === 'object' ? (spec as Record<string, unknown>) : {};
}

const ROOT_PATHS = ['/api', '/api/v1', '/apis', '/apis/', '/apis/apps', '/apis/apps/v1', '/apis/batch', '/apis/batch/v1', '/apis/networking.k8s.io', '/apis/networking.k8s.io/v1', '/apis/rbac.authorization.k8s.io', '/apis/rbac.authorization.k8s.io/v1', '/healthz', '/healthz/etcd', '/healthz/ping', '/livez', '/metrics', '/openapi/v2', '/openapi/v3', '/readyz', '/version'];

function handler(p: Profile, session: Session, insecure: boolean) {
  const headers = (contentType: string): [string, string][] => [
    ['Audit-Id', randomUUID()],
    ['Cache-Control', 'no-cache, private'],
    ['Content-Type', contentType],
    ['X-Kubernetes-Pf-Flowschema-Uid', p.flowSchema],
    ['X-Kubernetes-Pf-Prioritylevel-Uid', p.priorityLevel],
    ['Date', httpDate()],
  ];
  const json = (status: number, body: unknown, indent = false): HttpResponse => ({
    status,
    headers: headers('application/json'),
    body: (indent ? JSON.stringify(body, null, 2) : JSON.stringify(body)) + '\n',
  });
  const status = (code: number, reason: string, message: string, details?: Record<string, unknown>): HttpResponse =>
    json(code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
  const forbidden = (verb: string, resource: string, group: string, ns: string | undefined, name?: string): HttpResponse =>
    status(403, 'Forbidden', `${resource}${name ? ` "${name}"` : ''} is forbidden: User "system:anonymous" cannot ${verb} resource "${resource}" in API group "${group}" ${ns ? `in the namespace "${ns}"` : 'at the cluster scope'}`, { ...(name ? { name } : {}), kind: resource.split('/')[0] });
  const notFound = (): HttpResponse => status(404, 'NotFound', 'the server could not find the requested resource');
  const list = (kind: string, items: unknown[]): HttpResponse => json(200, { kind, apiVersion: 'v1', metadata: { resourceVersion: String(900000 + (Date.now() % 90000)) }, items });

  return (req: HttpRequest): HttpResponse => {
    recordRequest(session, req);
    const auth = recordAuth(session, req);
    if (auth) return status(401, 'Unauthorized', 'Unauthorized');
    const m = req.method;
    const seg = req.path.split('/').filter(Boolean).map(decodeSegment);
    const path = '/' + seg.join('/');

    if (path === '/version') {
      return json(200, { major: '1', minor: p.minor, gitVersion: p.gitVersion, gitCommit: '506050d61cf291218dfbd41ac93913945c9aa0da', gitTreeState: 'clean', buildDate: '2023-12-19T13:32:00Z', goVersion: 'go1.20.12', compiler: 'gc', platform: 'linux/amd64' }, true);
    }
    if (path === '/healthz' || path === '/livez' || path === '/readyz') return { status: 200, headers: headers('text/plain; charset=utf-8'), body: 'ok' };
    if (path === '/') {
      // The insecure port skips authorization; on 6443 "/" needs system:discovery, which anonymous lacks.
      if (insecure) return json(200, { paths: ROOT_PATHS }, true);
      return status(403, 'Forbidden', 'forbidden: User "system:anonymous" cannot get path "/"', {});
    }
    if (path === '/api') return json(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `${p.ip}:6443` }] });
    if (path === '/apis') {
      const groups = [['apps', 'v1'], ['batch', 'v1'], ['networking.k8s.io', 'v1'], ['rbac.authorization.k8s.io', 'v1'], ['storage.k8s.io', 'v1'], ['policy', 'v1'], ['autoscaling', 'v2'], ['coordination.k8s.io', 'v1']];
      return json(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(([name, v]) => ({ name, versions: [{ groupVersion: `${name}/${v}`, version: v }], preferredVersion: { groupVersion: `${name}/${v}`, version: v } })) });
    }
    if (path === '/api/v1') {
      const res = [['pods', 'Pod', true], ['services', 'Service', true], ['namespaces', 'Namespace', false], ['nodes', 'Node', false], ['secrets', 'Secret', true], ['configmaps', 'ConfigMap', true], ['serviceaccounts', 'ServiceAccount', true]] as const;
      return json(200, { kind: 'APIResourceList', groupVersion: 'v1', resources: res.map(([name, kind, namespaced]) => ({ name, singularName: kind.toLowerCase(), namespaced, kind, verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] })) });
    }

    // /api/v1/[namespaces/<ns>/]<resource>[/<name>[/<sub>]] and /apis/<group>/<v>/[namespaces/<ns>/]<resource>…
    let rest: string[];
    let group = '';
    if (seg[0] === 'api' && seg[1] === 'v1') rest = seg.slice(2);
    else if (seg[0] === 'apis' && seg.length >= 3) {
      group = seg[1]!;
      rest = seg.slice(3);
    } else if (insecure) return notFound();
    else return status(403, 'Forbidden', `forbidden: User "system:anonymous" cannot get path "${req.path.slice(0, 256)}"`, {});
    let ns: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const resource = rest[0] ?? '';
    const name = rest[1];
    const sub = rest[2];

    if (resource === 'secrets') {
      return forbidden(m === 'GET' ? (name ? 'get' : 'list') : m === 'DELETE' ? 'delete' : 'create', 'secrets', '', ns, name);
    }
    if (resource === 'namespaces' && !ns) {
      if (m !== 'GET') return forbidden('create', 'namespaces', '', undefined);
      const items = p.namespaces.map((n) => ({ metadata: { name: n, uid: new Seeded(p.flowSchema, n).uuid(), labels: { 'kubernetes.io/metadata.name': n } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }));
      if (name) return items.find((i) => i.metadata.name === name) ? json(200, { kind: 'Namespace', apiVersion: 'v1', ...items.find((i) => i.metadata.name === name) }) : status(404, 'NotFound', `namespaces "${name}" not found`);
      return list('NamespaceList', items);
    }
    if (resource === 'pods' && (sub === 'exec' || sub === 'attach' || sub === 'portforward')) {
      const q = queryParams(req.query);
      session.record('command', { namespace: ns, pod: name, cmd: bounded(q.getAll('command')), container: q.get('container') ?? undefined, via: sub, upgrade: req.headers['upgrade']?.slice(0, 64) });
      return forbidden(m === 'GET' ? 'get' : 'create', `pods/${sub}`, '', ns, name);
    }
    const workload = WORKLOADS[resource];
    if (workload && (m === 'POST' || m === 'PUT' || m === 'PATCH') && !sub) {
      let obj: Record<string, unknown> = {};
      try {
        const parsed = JSON.parse(req.body.toString('utf8')) as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) obj = parsed as Record<string, unknown>;
      } catch {
        // YAML or garbage: recorded as body only.
      }
      const meta = (obj.metadata && typeof obj.metadata === 'object' ? obj.metadata : {}) as Record<string, unknown>;
      const spec = podSpecOf(workload.kind, obj);
      const containers = [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])] as Record<string, unknown>[];
      const volumes = (Array.isArray(spec.volumes) ? spec.volumes : []) as Record<string, unknown>[];
      const podName = String(meta.name ?? meta.generateName ?? name ?? '').slice(0, 253);
      session.record('pod_create', {
        kind: workload.kind,
        namespace: ns ?? String(meta.namespace ?? 'default').slice(0, 63),
        name: podName,
        images: bounded(containers.map((c) => c.image)),
        commands: bounded(containers.map((c) => [c.command, c.args].flat().filter((x) => x !== undefined))),
        host_paths: bounded(volumes.map((v) => (v.hostPath as Record<string, unknown> | undefined)?.path).filter(Boolean)),
        privileged: containers.some((c) => (c.securityContext as Record<string, unknown> | undefined)?.privileged === true) || undefined,
        host_network: spec.hostNetwork === true || undefined,
        host_pid: spec.hostPID === true || undefined,
        service_account: bounded(spec.serviceAccountName),
        node_name: bounded(spec.nodeName),
        spec: bounded(obj),
      });
      if (!obj.kind && !obj.spec) return status(400, 'BadRequest', 'the object provided is unrecognized (must be of type ' + workload.kind + '): couldn\'t get version/kind; json parse error: unexpected end of JSON input');
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const echoed = {
        ...obj,
        kind: workload.kind,
        apiVersion: group ? `${group}/v1` : 'v1',
        metadata: { ...meta, name: podName || `pod-${randomUUID().slice(0, 5)}`, namespace: ns ?? meta.namespace ?? 'default', uid: randomUUID(), resourceVersion: String(900000 + (Date.now() % 90000)), creationTimestamp: now },
        status: workload.kind === 'Pod' ? { phase: 'Pending', qosClass: 'BestEffort' } : {},
      };
      return json(m === 'POST' ? 201 : 200, echoed);
    }
    if (resource === 'pods' && m === 'GET') {
      const pods = p.pods.filter((x) => !ns || (x.metadata as { namespace: string }).namespace === ns);
      if (name) {
        const hit = pods.find((x) => (x.metadata as { name: string }).name === name);
        return hit ? json(200, { kind: 'Pod', apiVersion: 'v1', ...hit }) : status(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
      }
      return list('PodList', pods.map((x) => ({ ...x })));
    }
    if (resource === 'pods' && m === 'DELETE') return forbidden('delete', 'pods', '', ns, name);
    if (resource === 'nodes' && m === 'GET' && !ns) {
      return list('NodeList', [{ metadata: { name: p.nodeName, labels: { 'kubernetes.io/hostname': p.nodeName, 'node-role.kubernetes.io/control-plane': '' } }, status: { addresses: [{ type: 'InternalIP', address: p.ip }, { type: 'Hostname', address: p.nodeName }], nodeInfo: { kubeletVersion: p.gitVersion, osImage: 'Ubuntu 22.04.3 LTS', containerRuntimeVersion: 'containerd://1.7.2', architecture: 'amd64', operatingSystem: 'linux' } } }]);
    }
    if (m === 'GET' && resource && !name) {
      const kind = (workload?.kind ?? resource.replace(/s$/, '').replace(/^./, (c) => c.toUpperCase())) + 'List';
      return list(kind, []);
    }
    if (m === 'GET' && resource && name) return status(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
    if (resource) return forbidden(m === 'DELETE' ? 'delete' : m === 'PATCH' ? 'patch' : m === 'PUT' ? 'update' : 'create', resource, group, ns, name);
    return notFound();
  };
}

const k8s: DecoyService = {
  name: 'k8s',
  summary: 'Kubernetes API server (6443 TLS, 8080 insecure)',
  listens: [
    { port: 6443, transport: 'tcp', tls: true },
    { port: 8080, transport: 'tcp' },
  ],
  personaKeys: {
    version: { summary: 'Kubernetes gitVersion reported by /version', default: 'v1.28.5' },
  },
  create(ctx: ServiceContext) {
    const facts = personaFacts(ctx.decky.persona);
    const seed = new Seeded(ctx.decky.name, 'k8s');
    const gitVersion = ctx.config.version.startsWith('v') ? ctx.config.version : `v${ctx.config.version}`;
    const node = facts.shortHostname.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    const profile: Profile = {
      gitVersion,
      minor: gitVersion.split('.')[1] ?? '28',
      nodeName: node,
      ip: ctx.decky.ip,
      pods: baitPods(ctx.decky.name, node, ctx.decky.ip, gitVersion),
      namespaces: ['default', 'kube-node-lease', 'kube-public', 'kube-system', 'production'],
      flowSchema: seed.uuid(),
      priorityLevel: seed.uuid(),
    };
    const tlsContext = secureContextProvider(ctx);
    const serve = (stream: Duplex, session: Session, insecure: boolean): void => {
      serveHttp1(stream, {
        onRequest: handler(profile, session, insecure),
        onError: (kind, raw) => {
          session.record('protocol_error', { error: kind, raw: raw.subarray(0, 256).toString('latin1') });
          return { status: 400, headers: [['Content-Type', 'text/plain; charset=utf-8'], ['Connection', 'close']], body: '400 Bad Request', close: true };
        },
      });
    };
    return {
      onConnection(socket, session, listen) {
        if (!listen.tls) {
          serve(socket, session, true);
          return;
        }
        void acceptTls(socket, { session, context: tlsContext, alpn: ['http/1.1'], via: 'implicit', log: ctx.log }).then((tls) => {
          if (tls) serve(tls, session, false);
        });
      },
    };
  },
};

export default k8s;
