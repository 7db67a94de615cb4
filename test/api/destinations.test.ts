// GET /api/destinations and GET /api/series over real HTTP: a gateway on loopback delivering
// Stripe events (signed by the official `stripe` package) to a real sink that refuses them and
// to one that takes them; the health and the chart counts show what happened.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { API_TOKEN, SECRETS, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { api, apiFetch } from '../helpers/openapi.ts';
import { stripeHeaders } from '../helpers/sign.ts';
import { type Sink, startSink } from '../helpers/sink.ts';

const EVENTS = 3;
let refusing: Sink;
let taking: Sink;
let gw: TestGateway;

before(async () => {
  refusing = await startSink();
  refusing.respond = () => ({ status: 500, body: 'no' });
  taking = await startSink();
  gw = await startTestGateway({
    extra: `
destinations:
  ledger:
    url: "http://ops:hunter2@127.0.0.1:${refusing.port}/hook?token=s3cr3t&v=2#frag"
    max_attempts: 2
    backoff_base: 50ms
    backoff_max: 100ms
  billing: { url: "http://127.0.0.1:${taking.port}/billing" }
  idle: { url: "https://idle.example.com/hooks" }
routes:
  - { source: stripe, to: [ledger, billing] }
`,
  });
});

after(async () => {
  await gw?.close();
  await refusing?.close();
  await taking?.close();
});

async function get(path: string): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await api(gw, path);
  return { status: res.status, headers: res.headers, json: await res.json() };
}

/** Reads until `done` says so, or 15 s have passed (then the caller's asserts say what is wrong). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('destination health and activity over HTTP', () => {
  before(async () => {
    for (let i = 0; i < EVENTS; i++) {
      const body = JSON.stringify({
        id: `evt_${randomUUID()}`,
        object: 'event',
        type: 'charge.refunded',
        data: { object: { id: `ch_${i}` } },
      });
      const res = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
      assert.equal(res.status, 200);
    }
    // Two attempts each to the refusing sink, then dead; one each to the other.
    await refusing.waitFor(EVENTS * 2);
    await taking.waitFor(EVENTS);
  });

  test('GET /api/destinations: every destination, the failing one with its failures, dead count and last error', async () => {
    const byName = (r: { json: any }) =>
      new Map<string, any>(r.json.data.map((d: any) => [d.name, d]));
    const answer = await until(
      () => get('/destinations'),
      (r) =>
        byName(r).get('ledger')?.dead === EVENTS &&
        byName(r).get('billing')?.delivered_5m === EVENTS,
    );
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(
      answer.json.data.map((d: any) => d.name),
      ['ledger', 'billing', 'idle'],
    );
    const d = byName(answer);
    assert.deepEqual(d.get('ledger'), {
      name: 'ledger',
      // No credentials: user info and the fragment go, query values are masked.
      url: `http://127.0.0.1:${refusing.port}/hook?token=***&v=***`,
      pending: 0,
      in_flight: 0,
      oldest_pending_age_s: null,
      delivered_5m: 0,
      failed_5m: EVENTS * 2,
      delivered_1h: 0,
      failed_1h: EVENTS * 2,
      dead: EVENTS,
      last_error: 'HTTP 500',
    });
    assert.deepEqual(d.get('billing'), {
      name: 'billing',
      url: `http://127.0.0.1:${taking.port}/billing`,
      pending: 0,
      in_flight: 0,
      oldest_pending_age_s: null,
      delivered_5m: EVENTS,
      failed_5m: 0,
      delivered_1h: EVENTS,
      failed_1h: 0,
      dead: 0,
      last_error: null,
    });
    // Configured, never used: listed with zeros.
    assert.deepEqual(d.get('idle'), {
      name: 'idle',
      url: 'https://idle.example.com/hooks',
      pending: 0,
      in_flight: 0,
      oldest_pending_age_s: null,
      delivered_5m: 0,
      failed_5m: 0,
      delivered_1h: 0,
      failed_1h: 0,
      dead: 0,
      last_error: null,
    });
    assert.doesNotMatch(JSON.stringify(answer.json), /hunter2|s3cr3t|ops:|frag/);
  });

  test('GET /api/series: every bucket of the window, the events sent and their outcomes', async () => {
    const before = Date.now();
    const answer = await until(
      () => get('/series?window=1h'),
      (r) => r.json.data.reduce((t: number, b: any) => t + b.failed, 0) === EVENTS * 2,
    );
    assert.equal(answer.status, 200);
    assert.equal(answer.json.bucket_s, 60);
    const data: any[] = answer.json.data;
    assert.equal(data.length, 60);
    data.forEach((b, i) => {
      assert.deepEqual(Object.keys(b), ['t', 'received', 'delivered', 'failed']);
      if (i > 0) assert.equal(Date.parse(b.t) - Date.parse(data[i - 1].t), 60_000);
    });
    const last = Date.parse(data.at(-1).t);
    assert.ok(last <= Date.now() && last >= Math.floor(before / 60_000) * 60_000 - 60_000);
    const total = (key: string, rows: any[] = data) => rows.reduce((t, b) => t + b[key], 0);
    assert.equal(total('received'), EVENTS);
    assert.equal(total('delivered'), EVENTS);
    assert.equal(total('failed'), EVENTS * 2);

    for (const [window, bucket, points] of [
      ['6h', 60, 360],
      ['24h', 300, 288],
      ['7d', 3600, 168],
    ] as const) {
      const r = await get(`/series?window=${window}`);
      assert.equal(r.json.bucket_s, bucket, window);
      assert.equal(r.json.data.length, points, window);
      assert.equal(total('received', r.json.data), EVENTS, window);
      assert.equal(Date.parse(r.json.data[0].t) % (bucket * 1000), 0, window);
    }
    // Without a window: the last hour.
    assert.equal((await get('/series')).json.data.length, 60);
  });

  test('strict queries: an unknown window or parameter is 400 query_invalid; other methods 405', async () => {
    for (const [path, param] of [
      ['/series?window=2h', 'window'],
      ['/series?window=1h&window=6h', 'window'],
      ['/series?bucket=60', 'bucket'],
      ['/destinations?name=ledger', 'name'],
    ] as const) {
      const r = await get(path);
      assert.equal(r.status, 400, path);
      assert.equal(r.json.error.code, 'query_invalid', path);
      assert.equal(r.json.error.param, param, path);
    }
    for (const path of ['/destinations', '/series']) {
      const res = await apiFetch(`${gw.url}/api${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(res.status, 405, path);
      assert.equal(((await res.json()) as any).error.code, 'method_not_allowed');
      assert.match(res.headers.get('allow') ?? '', /GET/);
    }
    const unauthorized = await api(gw, '/destinations', 'wrong');
    assert.equal(unauthorized.status, 401);
  });
});

describe('the queue of a slow destination', () => {
  test('one attempt in flight, two pending, the oldest waiting for a second or more', async () => {
    const slow = await startSink();
    slow.respond = () => ({ status: 200, delayMs: 2500 });
    const local = await startTestGateway({
      extra: `destinations:\n  slow: { url: "http://127.0.0.1:${slow.port}/", concurrency: 1 }\nroutes:\n  - { source: stripe, to: slow }\n`,
    });
    try {
      const sent = Date.now();
      for (let i = 0; i < 3; i++) {
        const body = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'charge.refunded' });
        assert.equal(
          (await local.post('stripe', body, stripeHeaders(body, SECRETS.stripe))).status,
          200,
        );
      }
      const health = async () =>
        ((await (await api(local, '/destinations')).json()) as any).data[0];
      const d = await until(health, (h) => h.in_flight === 1 && h.oldest_pending_age_s >= 1);
      assert.equal(d.in_flight, 1);
      assert.equal(d.pending, 2);
      assert.ok(
        d.oldest_pending_age_s <= Math.ceil((Date.now() - sent) / 1000),
        d.oldest_pending_age_s,
      );
      assert.equal(d.delivered_5m, 0);
    } finally {
      await local.close();
      await slow.close();
    }
  });
});

describe('a store that cannot be reached', () => {
  test('GET /api/destinations and /api/series answer 503 storage_unavailable with Retry-After', async () => {
    const local = await startTestGateway({
      extra: 'destinations:\n  main: { url: "http://127.0.0.1:9/" }\n',
    });
    try {
      assert.equal((await api(local, '/destinations')).status, 200);
      await local.gateway.store.close();
      for (const path of ['/destinations', '/series?window=24h']) {
        const res = await api(local, path);
        assert.equal(res.status, 503, path);
        assert.equal(((await res.json()) as any).error.code, 'storage_unavailable', path);
        assert.equal(res.headers.get('retry-after'), '5', path);
      }
    } finally {
      await local.close();
    }
  });
});
