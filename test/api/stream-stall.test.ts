// A stream whose reader stops reading for good is disconnected once it has been blocked for the
// stall limit (here 1 s), freeing its slot; the other streams carry on.
import { apiEnv, startApi, waitFor, SseClient, type RunningApi } from './harness.ts';
const env = apiEnv({ DECNET_SSE_QUEUE: '16', DECNET_SSE_STALL_MS: '1000', DECNET_SSE_HEARTBEAT_MS: '100', DECNET_SSE_MAX_PER_USER: '1' });
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LocalBusConnection } from '../../src/bus/local.ts';

let api: RunningApi;
let bus: LocalBusConnection;

before(async () => {
  api = await startApi();
  const { openLocalBus } = await import('../../src/bus/local.ts');
  bus = openLocalBus();
});

after(async () => {
  await bus.close();
  await api.stop();
  env.cleanup();
});

async function open(token: string): Promise<SseClient> {
  const t = (await api.client.post('/api/v1/stream/ticket', undefined, token)).body.ticket;
  return SseClient.open(`${api.base}api/v1/stream?ticket=${t}&types=attacker`);
}

test('a reader stuck past the stall limit is disconnected and its slot freed', { timeout: 20_000 }, async () => {
  const stuck = await open(api.viewer);
  const other = await open(api.admin);
  await waitFor(() => stuck.of('hello').length && other.of('hello').length, 3000, 'both streams');
  stuck.pause();
  const publisher = bus.member('stall-publisher');
  const filler = 'y'.repeat(32 * 1024);
  // enough to fill the stuck reader's socket buffers; the other stream keeps reading
  for (let i = 0; i < 600; i += 10) {
    for (let j = i; j < i + 10; j++) publisher.publish('attacker.scored', { n: j, filler }, 'scored');
    await waitFor(() => other.of('attacker').length >= i + 10, 5000, `the reading stream to get event ${i + 9}`);
  }
  // the server ends the stuck stream; a new one for the same user (cap 1) is accepted again
  const replacement = await waitFor(async () => {
    const c = await open(api.viewer);
    if (c.status === 200) return c;
    c.close();
    return undefined;
  }, 10_000, 'the stuck stream to be dropped');
  assert.equal(replacement.status, 200);
  assert.equal(other.closed, false, 'the reading stream is still open');
  publisher.publish('attacker.scored', { n: 'after' }, 'scored');
  await waitFor(() => replacement.of('attacker').length === 1 && other.of('attacker').some((e) => JSON.parse(e.data).payload.n === 'after'), 3000, 'events on the live streams');
  for (const c of [stuck, other, replacement]) c.close();
});
