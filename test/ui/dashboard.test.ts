// The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a real
// gateway on loopback, real sinks and events signed by the official stripe package: login, the
// live list, filters and search in the URL, paging, the detail, replay, bulk replay after a
// count, rejections, destinations, the chart; hostile bodies shown as text; the token never in
// a URL. Screenshots of every view, light and dark, go to a temporary folder printed below.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { API_TOKEN, SECRETS, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { stripeHeaders } from '../helpers/sign.ts';
import { type Sink, startSink } from '../helpers/sink.ts';
import { builtAssets, CHROMIUM, CHROMIUM_ARGS, ensureBuilt, profileDir } from './support.ts';

/** The budget for the dashboard's scripts and styles, gzipped. */
const MAX_GZIPPED = 150 * 1024;
/** Navigation start → the event list on screen, on loopback. */
const MAX_FIRST_RENDER_MS = 1000;
/** A new event on screen after its 200, through the live stream. */
const MAX_LIVE_MS = 1000;
/** The same without a stream: the dashboard polls every 2 s.
 * TODO(stream): once GET /api/stream is served this allowance is unused (the probe below sees
 * the route and the test holds the 1 s budget); delete it and the `polling` branches then. */
const MAX_POLLED_MS = 3500;

/** Without Chromium the browser tests are skipped on a developer's machine; CI installs it
 * (Debian's `chromium` package), so there a missing browser fails instead. */
const browserMissing = !existsSync(CHROMIUM) && !process.env.CI;

let gw: TestGateway;
let ok: Sink;
let refusing: Sink;
let context: BrowserContext;
let page: Page;
let profile: ReturnType<typeof profileDir>;
const requested: string[] = [];
const dialogs: string[] = [];
const shots: string[] = [];
let shotDir: string;
/** Routes of the lead's work still answering 404 on this gateway (the dashboard hides them). */
const has = { stream: false, search: false, destinations: false, series: false };

before(async () => {
  if (browserMissing) return;
  ensureBuilt();
  ok = await startSink();
  refusing = await startSink();
  refusing.respond = () => ({ status: 500, body: 'ledger is down' });
  gw = await startTestGateway({
    extra: `
destinations:
  billing: { url: "${ok.url}/billing", backoff_base: 10ms, max_attempts: 3 }
  ledger: { url: "${refusing.url}/ledger", backoff_base: 2s, backoff_max: 2s, max_attempts: 3 }
routes:
  - { source: stripe, events: ['payment_intent.*', 'charge.*', 'customer.*'], to: billing }
  - { source: stripe, events: ['invoice.*'], to: ledger }
`,
  });
  // A route the gateway does not serve yet answers 404. A stream must send its headers at
  // once (before any event), or it counts as absent here.
  const probe = async (path: string) => {
    try {
      const res = await fetch(`${gw.url}/api${path}`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
        signal: AbortSignal.timeout(2000),
      });
      await res.body?.cancel();
      return res.status;
    } catch (error) {
      console.log(`# probe of ${path} failed: ${String(error)}`);
      return 0;
    }
  };
  has.stream = (await probe('/stream')) === 200;
  has.search = (await probe('/events?q=probe')) === 200;
  has.destinations = (await probe('/destinations')) === 200;
  has.series = (await probe('/series?window=1h')) === 200;
  console.log(`# routes served: ${JSON.stringify(has)}`);

  profile = profileDir();
  context = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1440, height: 900 },
    baseURL: gw.url,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('request', (r) => requested.push(r.url()));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  // Through the DevTools protocol, not a page script: the page's CSP still applies to its own.
  await page.addInitScript(() => {
    const w = window as unknown as { __violations: string[] };
    w.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      w.__violations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  shotDir = mkdtempSync(join(tmpdir(), 'hookyard-ui-screenshots-'));
});

after(async () => {
  if (browserMissing) return;
  await context?.close();
  profile?.remove();
  await gw?.close();
  await ok?.close();
  await refusing?.close();
  if (shots.length) console.log(`# screenshots:\n${shots.map((s) => `#   ${s}`).join('\n')}`);
});

async function until<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Sends a Stripe event signed by the stripe package; returns its hookyard id and when its
 * 200 arrived. */
async function send(type: string, extra: Record<string, unknown> = {}) {
  const body = JSON.stringify({
    id: `evt_${randomUUID().replaceAll('-', '')}`,
    object: 'event',
    type,
    data: { object: { id: `pi_${randomUUID().slice(0, 8)}`, ...extra } },
  });
  const res = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
  assert.equal(res.status, 200);
  const at = Date.now();
  const { id } = (await res.json()) as { id: string };
  return { id, at, body };
}

const statusOf = (id: string) =>
  page
    .locator(`tr[data-id="${id}"] .status`)
    .textContent({ timeout: 200 })
    .catch(() => null);

async function statusBecomes(id: string, status: string, timeoutMs = 15_000) {
  await until(async () => (await statusOf(id)) === status, `${id} → ${status}`, timeoutMs);
}

async function shoot(name: string) {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    const path = join(shotDir, `${name}-${scheme}.png`);
    await page.screenshot({ path, fullPage: true });
    shots.push(path);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

const api = (path: string, body?: unknown) =>
  fetch(`${gw.url}/api${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

describe('dashboard in a browser', { skip: browserMissing && `no browser at ${CHROMIUM}` }, () => {
  // What the page showed when a test failed, to read in the output.
  afterEach(async (t) => {
    if (t.passed || !page) return;
    const path = join(shotDir, `failed-${shots.length}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => undefined);
    shots.push(path);
    const text = await page
      .locator('body')
      .innerText({ timeout: 1000 })
      .catch(() => '');
    console.log(`# failed at ${page.url()}; the page said:\n${text.slice(0, 2000)}`);
  });

  test('the budget: JS+CSS ≤ 150 KB gzipped', () => {
    const assets = builtAssets();
    const total = assets.reduce((n, a) => n + a.gzipped, 0);
    for (const a of assets) console.log(`# ${a.file}: ${a.bytes} B, ${a.gzipped} B gzipped`);
    console.log(`# dashboard JS+CSS: ${(total / 1024).toFixed(1)} KiB gzipped`);
    assert.ok(total <= MAX_GZIPPED, `${total} B gzipped`);
  });

  test('login: a wrong token is refused, the right one opens the list; CSP on the page', async () => {
    const res = await page.goto('/');
    assert.ok(res);
    const csp = res.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    await shoot('login');
    await page.fill('#token', 'not-the-token');
    await page.press('#token', 'Enter');
    await page.locator('.login [role="alert"]').waitFor();
    await page.fill('#token', API_TOKEN);
    await page.click('button[type="submit"]');
    await page.locator('#events-title').waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('hookyard.token')), API_TOKEN);
  });

  test('first render ≤ 1 s on loopback, cold cache', async () => {
    for (let i = 0; i < 3; i++) await send('customer.created');
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await page.reload();
    const ms = await page
      .waitForFunction(() => performance.getEntriesByName('hookyard:list-rendered')[0]?.startTime)
      .then((h) => h.jsonValue() as Promise<number>);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
    await cdp.detach();
    console.log(`# first render: ${ms.toFixed(0)} ms from navigation start to the list`);
    assert.ok((await page.locator('tbody tr').count()) >= 3);
    assert.ok(ms <= MAX_FIRST_RENDER_MS, `${ms} ms`);
  });

  test('a new event appears without a reload and moves to delivered', async () => {
    await until(
      async () =>
        (await page.locator('.live').textContent()) !== 'Connecting…' || (!has.stream && undefined),
      'the live connection',
    );
    const { id, at } = await send('payment_intent.succeeded', { customer: 'cus_123' });
    await page.locator(`tr[data-id="${id}"]`).waitFor({ timeout: 10_000 });
    const shownAfter = Date.now() - at;
    console.log(
      `# live: on screen ${shownAfter} ms after its 200 (${has.stream ? 'stream' : 'polling'})`,
    );
    assert.ok(shownAfter <= (has.stream ? MAX_LIVE_MS : MAX_POLLED_MS), `${shownAfter} ms`);
    await statusBecomes(id, 'delivered');
    await shoot('events');
  });

  test('against a destination that refuses: failing, then dead', async () => {
    const { id } = await send('invoice.payment_failed');
    await statusBecomes(id, 'failing');
    await statusBecomes(id, 'dead', 20_000);
  });

  test('a hostile body is shown as text and runs nothing', async () => {
    const hostile =
      '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">' +
      '<svg onload="window.__pwned=3"></svg>';
    const { id, body } = await send('charge.updated', { description: hostile });
    await page.locator(`tr[data-id="${id}"]`).waitFor({ timeout: 10_000 });
    await page.click(`a[data-event="${id}"]`);
    await page.locator('#event-body').waitFor();
    await page.click('button[aria-pressed="false"]:text("Raw")');
    assert.equal(await page.locator('#event-body').textContent(), body);
    await page.click('button:text("Pretty")');
    const pretty = (await page.locator('#event-body').textContent()) ?? '';
    assert.ok(pretty.includes(hostile.replaceAll('"', '\\"')), 'the markup, as text');
    assert.equal(await page.locator('main img, main svg, main script').count(), 0);
    assert.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined);
    assert.deepEqual(dialogs, []);
    assert.ok(!requested.some((u) => new URL(u).pathname === '/x'), 'the <img> was never loaded');
    await page.keyboard.press('Escape');
    await page.locator('#events-title').waitFor();
  });

  test('the detail: headers, body, deliveries with attempts; replay one', async () => {
    const { id, body } = await send('payment_intent.created', { amount: 4200 });
    await statusBecomes(id, 'delivered');
    // Keyboard: Tab to the row's link, Enter opens it.
    await page.locator(`a[data-event="${id}"]`).focus();
    await page.keyboard.press('Enter');
    await page.locator('.headers th').first().waitFor();
    const headerNames = await page.locator('.headers th').allTextContents();
    assert.ok(
      headerNames.some((h) => h.toLowerCase() === 'stripe-signature'),
      headerNames.join(),
    );
    const pretty = (await page.locator('#event-body').textContent()) ?? '';
    assert.equal(pretty, JSON.stringify(JSON.parse(body), null, 2));
    const billing = page.locator('[data-delivery="billing"]').first();
    await billing.locator('.attempt').first().waitFor();
    assert.equal(await billing.locator('.status').textContent(), 'delivered');
    assert.equal(await billing.locator('.attempt .code').first().textContent(), '200');
    await shoot('detail');
    // The raw bytes are saved through a blob (a link could not carry the token).
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('button:text("Download")'),
    ]);
    assert.equal(download.suggestedFilename(), `${id}.body`);
    const saved = await download.path();
    assert.equal(readFileSync(saved, 'utf8'), body);

    const toBilling = () =>
      ok.received.filter((r) => r.headers['idempotency-key'] === id && r.path === '/billing')
        .length;
    assert.equal(toBilling(), 1);
    await page.click('#replay-all');
    await page.locator('#replay-result').waitFor();
    assert.match((await page.locator('#replay-result').textContent()) ?? '', /billing/);
    await until(async () => toBilling() === 2, 'the replay at the sink');
    await page.selectOption('#replay-destination', 'billing');
    await page.click('#replay-one');
    await until(async () => toBilling() === 3, 'the replay to the chosen destination');
    // The new deliveries show up in the detail as they complete.
    await until(
      async () => (await page.locator('[data-delivery="billing"]').count()) === 3,
      'three billing deliveries in the detail',
    );
    await page.keyboard.press('Escape');
    await page.locator('#events-title').waitFor();
    // The list re-renders as the stream brings status changes: give focus a moment to land.
    await page
      .waitForFunction((want) => document.activeElement?.getAttribute('data-event') === want, id, {
        timeout: 2000,
      })
      .catch(() => undefined);
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('data-event')),
      id,
      'focus returns to the row that was opened',
    );
  });

  test('filters through the UI live in the URL: a reload shows the same view', async () => {
    await page.keyboard.press('/');
    await until(
      async () => (await page.evaluate(() => document.activeElement?.id)) === 'search',
      '/ to focus the search box',
    );
    await page.fill('#filter-type', 'invoice.*');
    await page.press('#filter-type', 'Enter');
    const listed = page.waitForResponse((r) => /\/api\/events\?.*status=dead/.test(r.url()));
    await page.selectOption('#filter-status', 'dead');
    await listed;
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('type'), 'invoice.*');
    assert.equal(url.searchParams.get('status'), 'dead');
    const rowsOf = async () =>
      page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
    await until(async () => (await rowsOf()).length === 1, 'one dead invoice');
    const shown = await rowsOf();
    await page.reload();
    await page.locator('tbody tr').first().waitFor();
    assert.deepEqual(await rowsOf(), shown);
    assert.equal(await page.inputValue('#filter-type'), 'invoice.*');
    assert.equal(await page.inputValue('#filter-status'), 'dead');
    // A link opened elsewhere shows the same.
    const other = await context.newPage();
    await other.goto(page.url());
    await other.locator('tbody tr').first().waitFor();
    assert.deepEqual(
      await other
        .locator('tbody tr')
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id'))),
      shown,
    );
    await other.close();
    await page.click('button:text("Clear")');
    await until(async () => new URL(page.url()).search === '', 'filters cleared');
  });

  test('search for cus_123 through the UI', async () => {
    await page.fill('#search', 'cus_123');
    await page.press('#search', 'Enter');
    await until(async () => page.url().includes('q=cus_123'), 'q in the URL');
    if (has.search) {
      await until(async () => (await page.locator('tbody tr').count()) === 1, 'one match');
      assert.equal(await page.locator('tbody tr .status').textContent(), 'delivered');
    } else {
      // TODO(search): GET /api/events?q= answers 400 query_invalid (param q) until the search
      // index lands; the dashboard says so instead of showing an unfiltered list.
      await page.locator('.note:has-text("Search is not available")').waitFor();
      assert.equal(await page.locator('tbody tr').count(), 0);
    }
    await page.reload();
    assert.equal(await page.inputValue('#search'), 'cus_123');
    await page.click('button:text("Clear")');
    await until(async () => new URL(page.url()).search === '', 'search cleared');
  });

  test('paging: older pages stay put while new events arrive', async () => {
    await Promise.all(Array.from({ length: 55 }, () => send('customer.updated')));
    await page.reload();
    await page.locator('tbody tr').first().waitFor();
    assert.equal(await page.locator('tbody tr').count(), 50);
    await page.click('button:text("Older events")');
    await until(async () => (await page.locator('tbody tr').count()) > 50, 'an older page');
    const loaded = await page
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
    const { id } = await send('customer.deleted');
    await page.locator(`tr[data-id="${id}"]`).waitFor({ timeout: 10_000 });
    const after = await page
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
    assert.deepEqual(after, [id, ...loaded], 'the new one on top, every loaded row kept in order');
  });

  test('bulk replay of a filter: the count first, then the run', async () => {
    await page.goto('/?type=payment_intent.*');
    await page.locator('tbody tr').first().waitFor();
    const expected = (await (
      await api('/replay', { type: 'payment_intent.*', dry_run: true })
    ).json()) as { events: number; deliveries: number };
    assert.ok(expected.events >= 2);
    const ids = new Set(
      await page
        .locator('tbody tr')
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id') ?? '')),
    );
    assert.equal(ids.size, expected.events);
    // Only requests for these events count: earlier tests' deliveries may still be arriving.
    const replayed = () =>
      ok.received.filter((r) => ids.has(String(r.headers['idempotency-key']))).length;
    const before = replayed();
    await page.click('button:text("Replay these…")');
    await page.locator('#bulk-count').waitFor();
    assert.equal(
      await page.locator('#bulk-count').textContent(),
      `${expected.events} events, ${expected.deliveries} deliveries`,
    );
    await shoot('bulk-replay');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(replayed(), before, 'nothing is sent before the confirmation');
    await page.click('#bulk-confirm');
    await page.locator('#bulk-done').waitFor();
    await until(
      async () => replayed() === before + expected.deliveries,
      'the replayed deliveries at the sink',
    );
    await page.keyboard.press('Escape');
    await until(async () => !(await page.locator('dialog[open]').count()), 'the dialog closed');
  });

  test('rejections: what the test sent and was refused', async () => {
    const forged = JSON.stringify({ id: 'evt_forged', type: 'charge.refunded' });
    const bad = await gw.post('stripe', forged, stripeHeaders(forged, 'whsec_wrong'));
    assert.equal(bad.status, 401);
    const unknown = await gw.post('nope', '{}', { 'content-type': 'application/json' });
    assert.equal(unknown.status, 404);
    await page.click('nav a:text("Rejections")');
    await page.locator('table.rejections').waitFor();
    const text = (await page.locator('table.rejections').textContent()) ?? '';
    assert.match(text, /stripe/);
    assert.match(text, /signature_invalid/);
    assert.match(text, /nope/);
    assert.match(text, /source_not_found/);
    await shoot('rejections');
  });

  test('destinations: their health, or a note while the route is missing', async () => {
    await page.click('nav a:text("Destinations")');
    if (has.destinations) {
      await page.locator('tr[data-destination="ledger"]').waitFor();
      assert.match(
        (await page.locator('tr[data-destination="ledger"]').textContent()) ?? '',
        /failing|degraded/,
      );
      await page.locator('tr[data-destination="billing"]').waitFor();
    } else {
      // TODO(destinations): GET /api/destinations answers 404 until it lands.
      await page.locator('.note:has-text("Destination health")').waitFor();
    }
    await shoot('destinations');
  });

  test('activity: the chart, or a note while the route is missing', async () => {
    await page.click('nav a:text("Activity")');
    if (has.series) {
      await page.locator('.chart canvas').waitFor();
      await page.locator('.totals').waitFor();
    } else {
      // TODO(series): GET /api/series answers 404 until it lands.
      await page.locator('.note:has-text("activity chart")').waitFor();
    }
    await shoot('activity');
  });

  test('the stream client: shown live, resumed with Last-Event-ID, token in a header', async (t) => {
    if (has.stream) {
      t.skip('the gateway serves /api/stream: the tests above used it');
      return;
    }
    // TODO(stream): until GET /api/stream is served, the browser is given what it will send
    // (the SSE framing of the API contract) to prove the client: reads through fetch, shows
    // an `event`, reconnects with Last-Event-ID after a drop, re-reads on `delivery`.
    await page.goto('/');
    await page.locator('tbody tr').first().waitFor();
    const known = await page.locator('tbody tr').first().getAttribute('data-id');
    const seen: { lastEventId: string | undefined; authorization: string | undefined }[] = [];
    const summary = {
      id: 'hye_streamed',
      source: 'stripe',
      event_id: 'evt_streamed',
      type: 'customer.created',
      status: 'received',
      received_at: new Date(Date.now() + 60_000).toISOString(),
      size: 10,
    };
    await page.route('**/api/stream', (route) => {
      const headers = route.request().headers();
      seen.push({ lastEventId: headers['last-event-id'], authorization: headers.authorization });
      const body =
        seen.length === 1
          ? `retry: 50\n: ping\n\nevent: event\nid: c41\ndata: ${JSON.stringify(summary)}\n\n`
          : `retry: 60000\nevent: delivery\nid: c42\ndata: ${JSON.stringify({ event: known, delivery: 'd', destination: 'billing', status: 'delivered', attempt: 1, status_code: 200 })}\n\n`;
      return route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body });
    });
    const reread = page.waitForRequest((r) => r.url().endsWith(`/api/events/${known}`));
    await page.reload();
    await page.locator('tr[data-id="hye_streamed"]').waitFor();
    await reread;
    await until(async () => seen.length >= 2, 'a reconnection');
    assert.equal(seen[0]?.lastEventId, undefined);
    assert.equal(seen[1]?.lastEventId, 'c41');
    assert.equal(seen[0]?.authorization, `Bearer ${API_TOKEN}`);
    await page.unroute('**/api/stream');
  });

  test('a store outage shows a banner and the list comes back by itself', async () => {
    await page.click('nav a:text("Events")');
    await page.locator('tbody tr').first().waitFor();
    // The store cannot be stopped under a running SQLite gateway; the browser is told what
    // the gateway answers then (503 storage_unavailable, its real body) for a few seconds.
    await page.route('**/api/events?**', (route) =>
      route.fulfill({
        status: 503,
        headers: { 'content-type': 'application/json', 'retry-after': '5' },
        body: JSON.stringify({
          error: { code: 'storage_unavailable', message: 'the store cannot be reached' },
        }),
      }),
    );
    await page.reload();
    await page.locator('.banner.warn:has-text("Storage unavailable")').waitFor();
    await shoot('outage');
    await page.unroute('**/api/events?**');
    await page.locator('tbody tr').first().waitFor({ timeout: 10_000 });
    await until(async () => (await page.locator('.banner.warn').count()) === 0, 'no banner');
  });

  test('a refused token sends the operator back to the login screen', async () => {
    await page.evaluate(() => localStorage.setItem('hookyard.token', 'rotated-away'));
    await page.reload();
    await page.locator('.login .notice').waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('hookyard.token')), null);
  });

  test('nothing was blocked or run, and the token was never in a URL', async () => {
    assert.ok(requested.length > 50);
    for (const url of requested) assert.ok(!url.includes(API_TOKEN), url);
    for (const url of requested) {
      assert.equal(new URL(url).origin, gw.url, `only the gateway is contacted: ${url}`);
    }
    assert.deepEqual(
      await page.evaluate(() => (window as { __violations?: string[] }).__violations),
      [],
    );
    assert.deepEqual(dialogs, []);
  });
});
