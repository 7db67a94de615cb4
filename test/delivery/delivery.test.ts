// Delivery end to end: a real gateway, real sink servers on loopback, signatures checked by
// the official standardwebhooks package.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { SECRETS, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { githubHeaders, stripeHeaders } from '../helpers/sign.ts';
import { type Sink, startSink } from '../helpers/sink.ts';

const DEST_SECRET = 'whsec_c2luay1zZWNyZXQtZm9yLXRlc3RzLTEyMzQ1Njc4';
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(destination: string, routes = '  - { source: stripe, to: sink }\n') {
  const sink = await startSink();
  cleanup.push(() => sink.close());
  const gw = await startTestGateway({
    extra: `destinations:\n  sink: { url: "${sink.url}/hooks", secret: ${DEST_SECRET}, ${destination} }\nroutes:\n${routes}`,
  });
  cleanup.push(() => gw.close());
  return { sink, gw };
}

async function sendStripe(gw: TestGateway, extra: Record<string, unknown> = {}) {
  const body = JSON.stringify({
    id: `evt_${randomUUID()}`,
    type: 'payment_intent.succeeded',
    ...extra,
  });
  const res = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
  assert.equal(res.status, 200);
  const { id } = (await res.json()) as { id: string };
  return { id, body };
}

async function event(gw: TestGateway, id: string) {
  return (await (await gw.api(`/events/${id}`)).json()) as {
    status: string;
    deliveries: {
      status: string;
      attempts: { n: number; outcome: string; status_code: number | null; error: string | null }[];
    }[];
  };
}

async function until<T>(
  what: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 5000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (ok(v)) return v;
    if (Date.now() > end)
      assert.fail(`condition not reached in ${timeoutMs} ms: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('delivery', () => {
  test('byte-identical body, content type, provider headers, Idempotency-Key, a verifiable signature', async () => {
    const { sink, gw } = await setup('timeout: 2s');
    const sent = Date.now();
    const { id, body } = await sendStripe(gw, { note: 'café ☕  spaced' });
    await sink.waitFor(1);
    const got = sink.received[0];
    assert.ok(got);
    // Woken by the commit, not by a poll: well under the 30 s backstop sleep.
    assert.ok(got.at - sent < 1000, `delivered ${got.at - sent} ms after sending`);
    assert.equal(got.path, '/hooks');
    assert.deepEqual(got.body, Buffer.from(body));
    assert.equal(got.headers['content-type'], 'application/json; charset=utf-8');
    assert.ok(
      String(got.headers['stripe-signature']).startsWith('t='),
      'provider header forwarded',
    );
    assert.equal(got.headers['idempotency-key'], id);
    assert.equal(got.headers['webhook-id'], id);
    const verified = new Webhook(DEST_SECRET).verify(got.body.toString(), {
      'webhook-id': String(got.headers['webhook-id']),
      'webhook-timestamp': String(got.headers['webhook-timestamp']),
      'webhook-signature': String(got.headers['webhook-signature']),
    });
    assert.equal((verified as { id: string }).id, JSON.parse(body).id);
    const e = await until(
      () => event(gw, id),
      (e) => e.status === 'delivered',
    );
    assert.deepEqual(
      e.deliveries[0]?.attempts.map((a) => [a.n, a.outcome, a.status_code]),
      [[1, 'delivered', 200]],
    );
  });

  test('failures are retried on the backoff schedule, then delivered; the event shows failing meanwhile', async () => {
    const { sink, gw } = await setup('backoff_base: 200ms, backoff_max: 10s');
    sink.respond = (_r, i) => (i < 2 ? { status: 500, body: 'boom' } : { status: 200 });
    const { id } = await sendStripe(gw);
    await sink.waitFor(1);
    await until(
      () => event(gw, id),
      (e) => e.status === 'failing',
    );
    await sink.waitFor(3);
    const [a, b, c] = sink.received.map((r) => r.at);
    // Waits are random in [d/2, d]: d = 200 ms, then 400 ms (a little slack for scheduling).
    assert.ok(b! - a! >= 100 - 5 && b! - a! <= 200 + 150, `first wait ${b! - a!} ms`);
    assert.ok(c! - b! >= 200 - 5 && c! - b! <= 400 + 150, `second wait ${c! - b!} ms`);
    const e = await until(
      () => event(gw, id),
      (e) => e.status === 'delivered',
    );
    const attempts = e.deliveries[0]?.attempts ?? [];
    assert.deepEqual(
      attempts.map((x) => x.outcome),
      ['retry', 'retry', 'delivered'],
    );
    assert.equal((attempts[0] as unknown as { response: string }).response, 'boom');
    // The same Idempotency-Key on every attempt.
    assert.equal(new Set(sink.received.map((r) => r.headers['idempotency-key'])).size, 1);
  });

  test('Retry-After from the app is honoured', async () => {
    const { sink, gw } = await setup('backoff_base: 20ms');
    sink.respond = (_r, i) =>
      i === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 };
    await sendStripe(gw);
    await sink.waitFor(2, 5000);
    const wait = sink.received[1]!.at - sink.received[0]!.at;
    assert.ok(wait >= 990, `retried after ${wait} ms, Retry-After said 1 s`);
  });

  test('410 Gone is dead at once; max_attempts failures are dead', async () => {
    const { sink, gw } = await setup('backoff_base: 10ms, max_attempts: 3');
    sink.respond = (r) => (r.body.includes('"gone"') ? { status: 410 } : { status: 500 });
    const gone = await sendStripe(gw, { kind: 'gone' });
    const failing = await sendStripe(gw, { kind: 'failing' });
    const g = await until(
      () => event(gw, gone.id),
      (e) => e.status === 'dead',
    );
    assert.equal(g.deliveries[0]?.attempts.length, 1);
    const f = await until(
      () => event(gw, failing.id),
      (e) => e.status === 'dead',
    );
    assert.deepEqual(
      f.deliveries[0]?.attempts.map((a) => a.outcome),
      ['retry', 'retry', 'dead'],
    );
    const dead = (await (await gw.api('/events?status=dead')).json()) as { data: unknown[] };
    assert.equal(dead.data.length, 2);
  });

  test('a destination that does not answer in time is retried, the timeout recorded', async () => {
    const { sink, gw } = await setup('timeout: 300ms, backoff_base: 50ms');
    sink.respond = (_r, i) => (i === 0 ? { status: 200, delayMs: 2000 } : { status: 200 });
    const { id } = await sendStripe(gw);
    const e = await until(
      () => event(gw, id),
      (e) => e.status === 'delivered',
      6000,
    );
    const first = e.deliveries[0]?.attempts[0];
    assert.equal(first?.outcome, 'retry');
    assert.match(first?.error ?? '', /timed out after 300 ms/);
  });

  test('concurrency caps attempts in flight per destination', async () => {
    const { sink, gw } = await setup('concurrency: 2');
    sink.respond = () => ({ status: 200, delayMs: 150 });
    await Promise.all(Array.from({ length: 6 }, () => sendStripe(gw)));
    await sink.waitFor(6, 5000);
    assert.equal(sink.maxConcurrent, 2);
  });

  test('ordering_key: one key at a time in arrival order, keys in parallel, a retry holds its key', async () => {
    const { sink, gw } = await setup(
      'concurrency: 8, ordering_key: $.data.object.id, backoff_base: 100ms',
    );
    const inFlight = new Map<string, number>();
    let overlapSameKey = 0;
    let failedOnce = false;
    sink.respond = (r) => {
      const payload = JSON.parse(r.body.toString()) as {
        seq: number;
        data: { object: { id: string } };
      };
      const key = payload.data.object.id;
      const n = (inFlight.get(key) ?? 0) + 1;
      inFlight.set(key, n);
      if (n > 1) overlapSameKey++;
      setTimeout(() => inFlight.set(key, (inFlight.get(key) ?? 1) - 1), 30);
      // The first delivery of key A fails once: every later A must wait for its retry.
      if (key === 'A' && payload.seq === 0 && !failedOnce) {
        failedOnce = true;
        return { status: 500, delayMs: 30 };
      }
      return { status: 200, delayMs: 30 };
    };
    const keys = ['A', 'B', 'C', 'A', 'B', 'C', 'A', 'B', 'C'];
    for (const [seq, key] of keys.entries())
      await sendStripe(gw, { seq, data: { object: { id: key } } });
    await sink.waitFor(keys.length + 1, 8000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(overlapSameKey, 0, 'two deliveries of one key were in flight together');
    const order = (key: string) =>
      sink.received
        .map(
          (r) => JSON.parse(r.body.toString()) as { seq: number; data: { object: { id: string } } },
        )
        .filter((p) => p.data.object.id === key)
        .map((p) => p.seq);
    assert.deepEqual(order('A'), [0, 0, 3, 6], 'A: the failed first one retried before the rest');
    assert.deepEqual(order('B'), [1, 4, 7]);
    assert.deepEqual(order('C'), [2, 5, 8]);
    assert.ok(sink.maxConcurrent >= 2, 'different keys ran in parallel');
  });

  test('rate caps attempts started per second', async () => {
    const { sink, gw } = await setup('rate: 10/s, concurrency: 50');
    await Promise.all(Array.from({ length: 25 }, () => sendStripe(gw)));
    await sink.waitFor(25, 10_000);
    const times = sink.received.map((r) => r.at).sort((a, b) => a - b);
    const span = (times.at(-1) as number) - (times[0] as number);
    // A burst of 10, then 10 per second: the last of 25 cannot start before ~1.5 s.
    assert.ok(span >= 1300, `25 attempts within ${span} ms at 10/s`);
    for (let i = 0; i + 11 < times.length; i++) {
      assert.ok(
        (times[i + 11] as number) - (times[i] as number) >= 900,
        'more than 11 in some second',
      );
    }
  });

  test('fan-out and filters: one delivery per matching destination', async () => {
    const a = await startSink();
    const b = await startSink();
    cleanup.push(
      () => a.close(),
      () => b.close(),
    );
    const gw = await startTestGateway({
      extra: `destinations:\n  a: { url: "${a.url}" }\n  b: { url: "${b.url}" }\nroutes:\n  - { source: github, events: [push], filter: { "$.ref": refs/heads/main }, to: [a, b] }\n  - { source: github, events: ["issue*"], to: b }\n`,
    });
    cleanup.push(() => gw.close());
    const send = async (event: string, payload: unknown) => {
      const body = JSON.stringify(payload);
      const res = await gw.post(
        'github',
        body,
        await githubHeaders(body, SECRETS.github, event, randomUUID()),
      );
      return ((await res.json()) as { id: string }).id;
    };
    await send('push', { ref: 'refs/heads/main' });
    await send('push', { ref: 'refs/heads/dev' }); // filtered out: stored, delivered nowhere
    const issues = await send('issues', { action: 'opened' });
    await a.waitFor(1);
    await b.waitFor(2);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(a.received.length, 1);
    assert.equal(b.received.length, 2);
    const list = (await (await gw.api('/events?source=github&status=received')).json()) as {
      data: unknown[];
    };
    assert.equal(list.data.length, 1, 'the dev push has no deliveries');
    assert.equal((await event(gw, issues)).deliveries.length, 1);
  });

  test('destination down for a while, then up: everything delivered, nothing dead', async () => {
    // Find a free port, then leave it closed: connections are refused until the sink starts.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const gw = await startTestGateway({
      extra: `destinations:\n  down: { url: "http://127.0.0.1:${port}/", backoff_base: 100ms, backoff_max: 400ms, max_attempts: 50 }\nroutes:\n  - { source: stripe, to: down }\n`,
    });
    cleanup.push(() => gw.close());
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await sendStripe(gw)).id);
    await until(
      () => event(gw, ids[0] as string),
      (e) => (e.deliveries[0]?.attempts.length ?? 0) >= 3,
      5000,
    );
    let sink: Sink | undefined;
    try {
      sink = await startSink(port);
      await sink.waitFor(20, 10_000);
      for (const id of ids)
        await until(
          () => event(gw, id),
          (e) => e.status === 'delivered',
        );
      const dead = (await (await gw.api('/events?status=dead')).json()) as { data: unknown[] };
      assert.equal(dead.data.length, 0);
      const first = await event(gw, ids[0] as string);
      assert.match(first.deliveries[0]?.attempts[0]?.error ?? '', /ECONNREFUSED/);
    } finally {
      await sink?.close();
    }
  });
});

describe('graceful stop', () => {
  test('an attempt in flight when the gateway stops is finished and recorded, not dropped', async () => {
    const sink = await startSink();
    cleanup.push(() => sink.close());
    sink.respond = () => ({ status: 200, delayMs: 800 });
    const gw = await startTestGateway({
      extra: `destinations:\n  slow: { url: "${sink.url}" }\nroutes:\n  - { source: stripe, to: slow }\n`,
    });
    const { id } = await sendStripe(gw);
    await sink.waitFor(1);
    const stopping = Date.now();
    await gw.gateway.close(); // what SIGTERM runs
    assert.ok(Date.now() - stopping >= 500, 'close waited for the attempt in flight');
    const { SqliteStore } = await import('../../src/store/sqlite/store.ts');
    const store = new SqliteStore(gw.dbPath);
    try {
      const e = await store.getEvent(id);
      assert.equal(e?.status, 'delivered');
      assert.equal(e?.deliveries[0]?.attempts.length, 1);
    } finally {
      await store.close();
      const { rmSync } = await import('node:fs');
      rmSync(gw.dir, { recursive: true, force: true });
    }
  });
});
