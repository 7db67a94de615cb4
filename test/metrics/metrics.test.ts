// GET /metrics over real HTTP on a real gateway (SQLite on disk, real sinks): the token, the
// content type, the SPEC §9 names and their values after events, duplicates, refusals,
// deliveries and dead deliveries; bounded labels under hostile source names; a store that
// cannot be reached; the admin listener; metrics turned off.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { API_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { stripeHeaders } from '../helpers/sign.ts';
import { type Sink, startSink } from '../helpers/sink.ts';
import { parseMetrics, scrape, type Sample, sendStripe, until, valueOf } from './helpers.ts';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

describe('GET /metrics: access', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw?.close());

  test('without the token: 401 unauthorized with the SPEC error body', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token' },
      { authorization: `Basic ${API_TOKEN}` },
      { authorization: `Bearer ${API_TOKEN}x` },
    ]) {
      const res = await fetch(`${gw.url}/metrics`, { headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      const body = (await res.json()) as any;
      assert.equal(body.error.code, 'unauthorized');
      assert.equal(typeof body.error.message, 'string');
      assert.doesNotMatch(JSON.stringify(body), /hookyard_/);
    }
  });

  test('with the token: the Prometheus text format, SPEC names, process metrics', async () => {
    const res = await fetch(`${gw.url}/metrics`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), CONTENT_TYPE);
    const text = await res.text();
    for (const [name, type] of [
      ['hookyard_events_received_total', 'counter'],
      ['hookyard_events_duplicate_total', 'counter'],
      ['hookyard_requests_rejected_total', 'counter'],
      ['hookyard_ingest_duration_seconds', 'histogram'],
      ['hookyard_commit_batch_size', 'histogram'],
      ['hookyard_delivery_attempts_total', 'counter'],
      ['hookyard_delivery_attempt_duration_seconds', 'histogram'],
      ['hookyard_deliveries_pending', 'gauge'],
      ['hookyard_delivery_oldest_pending_age_seconds', 'gauge'],
      ['hookyard_deliveries_dead_total', 'counter'],
      ['hookyard_storage_up', 'gauge'],
      ['process_cpu_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
    ]) {
      assert.ok(text.includes(`# TYPE ${name} ${type}\n`), `${name} ${type}`);
    }
    const samples = parseMetrics(text);
    // Every configured source starts at 0, so that rate() sees the first event.
    for (const source of ['stripe', 'github', 'slack', 'shop', 'partner', 'custom'])
      assert.equal(valueOf(samples, 'hookyard_events_received_total', { source }), 0, source);
    assert.equal(valueOf(samples, 'hookyard_storage_up'), 1);
  });

  test('POST /metrics is not a scrape', async () => {
    const res = await fetch(`${gw.url}/metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    assert.notEqual(res.status, 200);
    assert.doesNotMatch(await res.text(), /hookyard_events/);
  });
});

describe('GET /metrics: counts', () => {
  let gw: TestGateway;
  let taking: Sink;
  let refusing: Sink;
  const SENT = 7;
  const DUPLICATES = 3;

  before(async () => {
    taking = await startSink();
    refusing = await startSink();
    refusing.respond = () => ({ status: 500, body: 'no' });
    gw = await startTestGateway({
      extra: `
destinations:
  billing: { url: "http://127.0.0.1:${taking.port}/billing" }
  ledger: { url: "http://127.0.0.1:${refusing.port}/ledger", max_attempts: 2, backoff_base: 20ms, backoff_max: 40ms }
  parked: { url: "http://127.0.0.1:9/", max_attempts: 50, backoff_base: 1h, backoff_max: 6h }
routes:
  - { source: stripe, to: [billing, ledger, parked] }
`,
    });
    const ids: string[] = [];
    for (let i = 0; i < SENT; i++) {
      const id = `evt_${randomUUID()}`;
      ids.push(id);
      assert.equal(await sendStripe(gw, id), 200);
    }
    for (let i = 0; i < DUPLICATES; i++) assert.equal(await sendStripe(gw, ids[i]), 200);
    // Refusals: a bad signature (twice), an unknown source, a wrong method.
    for (let i = 0; i < 2; i++) assert.equal(await sendStripe(gw, undefined, 'whsec_wrong'), 401);
    assert.equal((await gw.post('nosuch', '{}', {})).status, 404);
    assert.equal((await fetch(`${gw.url}/webhooks/stripe`)).status, 405);
  });
  after(async () => {
    await gw?.close();
    await taking?.close();
    await refusing?.close();
  });

  test('events, duplicates and refusals by source and code', async () => {
    const s = await scrape(gw.url);
    assert.equal(valueOf(s, 'hookyard_events_received_total', { source: 'stripe' }), SENT);
    assert.equal(valueOf(s, 'hookyard_events_received_total', { source: 'github' }), 0);
    assert.equal(valueOf(s, 'hookyard_events_duplicate_total', { source: 'stripe' }), DUPLICATES);
    const rejected = (labels: Record<string, string>) =>
      valueOf(s, 'hookyard_requests_rejected_total', labels);
    assert.equal(rejected({ source: 'stripe', code: 'signature_invalid' }), 2);
    assert.equal(rejected({ source: '(unknown)', code: 'source_not_found' }), 1);
    assert.equal(rejected({ source: 'stripe', code: 'method_not_allowed' }), 1);
    assert.equal(
      s.filter((x) => x.name === 'hookyard_requests_rejected_total').length,
      3,
      'no series for codes that did not happen',
    );
    // Every acknowledged request (new or duplicate) is one ingest duration.
    assert.equal(
      valueOf(s, 'hookyard_ingest_duration_seconds_count', { source: 'stripe' }),
      SENT + DUPLICATES,
    );
    const sum = valueOf(s, 'hookyard_ingest_duration_seconds_sum', { source: 'stripe' }) ?? 0;
    assert.ok(sum > 0 && sum < 30, `ingest seconds ${sum}`);
    // Each request waited for its answer: batches of one; duplicates are committed too.
    assert.equal(valueOf(s, 'hookyard_commit_batch_size_sum'), SENT + DUPLICATES);
    assert.equal(valueOf(s, 'hookyard_commit_batch_size_count'), SENT + DUPLICATES);
  });

  test('attempts by destination and outcome, dead deliveries, the queue', async () => {
    const s = await until(
      () => scrape(gw.url),
      (x) =>
        valueOf(x, 'hookyard_deliveries_dead_total', { destination: 'ledger' }) === SENT &&
        valueOf(x, 'hookyard_delivery_attempts_total', {
          destination: 'billing',
          outcome: 'delivered',
        }) === SENT &&
        valueOf(x, 'hookyard_delivery_attempts_total', {
          destination: 'parked',
          outcome: 'retry',
        }) === SENT &&
        // the queue is read at most once a second
        valueOf(x, 'hookyard_deliveries_pending', { destination: 'ledger' }) === 0,
    );
    const attempts = (destination: string, outcome: string) =>
      valueOf(s, 'hookyard_delivery_attempts_total', { destination, outcome });
    assert.equal(attempts('billing', 'delivered'), SENT);
    assert.equal(attempts('billing', 'retry'), 0);
    assert.equal(attempts('ledger', 'retry'), SENT);
    assert.equal(attempts('ledger', 'dead'), SENT);
    assert.equal(attempts('ledger', 'delivered'), 0);
    assert.equal(attempts('parked', 'retry'), SENT);
    assert.equal(valueOf(s, 'hookyard_deliveries_dead_total', { destination: 'ledger' }), SENT);
    assert.equal(valueOf(s, 'hookyard_deliveries_dead_total', { destination: 'billing' }), 0);
    assert.equal(
      valueOf(s, 'hookyard_delivery_attempt_duration_seconds_count', { destination: 'ledger' }),
      2 * SENT,
    );
    assert.equal(valueOf(s, 'hookyard_deliveries_pending', { destination: 'parked' }), SENT);
    assert.equal(valueOf(s, 'hookyard_deliveries_pending', { destination: 'billing' }), 0);
    const age = valueOf(s, 'hookyard_delivery_oldest_pending_age_seconds', {
      destination: 'parked',
    });
    assert.ok(age !== undefined && age > 0 && age < 60, `oldest pending age ${age}`);
    assert.equal(
      valueOf(s, 'hookyard_delivery_oldest_pending_age_seconds', { destination: 'billing' }),
      0,
    );
    assert.equal(valueOf(s, 'hookyard_storage_up'), 1);
  });
});

/** The hookyard_ series (name and labels), process metrics left out (their set varies). */
const seriesOf = (samples: readonly Sample[]) =>
  new Set(
    samples
      .filter((s) => s.name.startsWith('hookyard_'))
      .map((s) => `${s.name}${JSON.stringify(s.labels)}`),
  );

describe('GET /metrics: bounded labels', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway();
  });
  after(() => gw?.close());

  test('1000 unknown source names add one series, not a thousand', async () => {
    // One unknown name first, so that the series of "(unknown)" exists.
    assert.equal((await gw.post('first-unknown', '{}', {})).status, 404);
    const before = seriesOf(await scrape(gw.url));
    const names = Array.from({ length: 1000 }, (_, i) =>
      i % 3 === 0
        ? `probe-${i}-${randomUUID()}`
        : i % 3 === 1
          ? encodeURIComponent(`"}\n evil{label="${i}"} 1\n#`)
          : `%E2%80%AE${i}`,
    );
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map(async (name) => {
          const body = JSON.stringify({ id: name });
          const res = await fetch(`${gw.url}/webhooks/${name}`, {
            method: 'POST',
            body,
            headers: stripeHeaders(body, 'whsec_x'),
          });
          await res.arrayBuffer();
          assert.equal(res.status, 404, name);
        }),
      );
    }
    const res = await fetch(`${gw.url}/metrics`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    const text = await res.text();
    assert.doesNotMatch(text, /evil|probe-/);
    const samples = parseMetrics(text);
    assert.deepEqual(seriesOf(samples), before, 'no new series');
    assert.equal(
      valueOf(samples, 'hookyard_requests_rejected_total', {
        source: '(unknown)',
        code: 'source_not_found',
      }),
      1001,
    );
  });
});

describe('GET /metrics: a store that cannot be reached', () => {
  test('the counters are still served; hookyard_storage_up is 0 and the queue left out', async () => {
    const gw = await startTestGateway({
      extra:
        'destinations:\n  main: { url: "http://127.0.0.1:9/" }\nroutes:\n  - { source: stripe, to: main }\n',
    });
    try {
      assert.equal(await sendStripe(gw), 200);
      const up = await scrape(gw.url);
      assert.equal(valueOf(up, 'hookyard_storage_up'), 1);
      assert.equal(valueOf(up, 'hookyard_deliveries_pending', { destination: 'main' }), 1);
      await gw.gateway.store.close();
      // The queue read of the last second may be served again; then the store is asked.
      const down = await until(
        () => scrape(gw.url),
        (s) => valueOf(s, 'hookyard_storage_up') === 0,
      );
      assert.equal(valueOf(down, 'hookyard_storage_up'), 0);
      assert.equal(valueOf(down, 'hookyard_events_received_total', { source: 'stripe' }), 1);
      assert.equal(
        valueOf(down, 'hookyard_deliveries_pending', { destination: 'main' }),
        undefined,
      );
      assert.equal(
        valueOf(down, 'hookyard_delivery_oldest_pending_age_seconds', { destination: 'main' }),
        undefined,
      );
      // Ingest now answers 503: counted by code.
      assert.equal(await sendStripe(gw), 503);
      const after = await scrape(gw.url);
      assert.equal(
        valueOf(after, 'hookyard_requests_rejected_total', {
          source: 'stripe',
          code: 'storage_unavailable',
        }),
        1,
      );
    } finally {
      await gw.close();
    }
  });
});

describe('GET /metrics: configuration', () => {
  test('metrics.public: true serves it without the token', async () => {
    const gw = await startTestGateway({ extra: 'metrics: { public: true }\n' });
    try {
      const res = await fetch(`${gw.url}/metrics`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), CONTENT_TYPE);
      assert.match(await res.text(), /^hookyard_storage_up 1$/m);
      // The API is still guarded.
      assert.equal((await fetch(`${gw.url}/api/events`)).status, 401);
    } finally {
      await gw.close();
    }
  });

  test('metrics.enabled: false answers 404 not_found, even with the token', async () => {
    const gw = await startTestGateway({ extra: 'metrics: { enabled: false }\n' });
    try {
      const res = await fetch(`${gw.url}/metrics`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as any).error.code, 'not_found');
    } finally {
      await gw.close();
    }
  });

  test('with server.admin: served on the admin listener, not on the public one', async () => {
    const gw = await startTestGateway({
      server: 'admin: { host: 127.0.0.1, port: 0 }',
      extra: 'metrics: { public: true }\n',
    });
    try {
      const adminUrl = gw.gateway.adminUrl;
      assert.ok(adminUrl && adminUrl !== gw.url);
      assert.equal(await sendStripe(gw), 200);
      const s = await scrape(adminUrl, null);
      assert.equal(valueOf(s, 'hookyard_events_received_total', { source: 'stripe' }), 1);
      const pub = await fetch(`${gw.url}/metrics`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      assert.equal(pub.status, 404);
      assert.doesNotMatch(await pub.text(), /hookyard_events/);
    } finally {
      await gw.close();
    }
  });

  test('metrics.public takes only a boolean', async () => {
    await assert.rejects(
      startTestGateway({ extra: 'metrics: { public: yes please }\n' }),
      /metrics\.public/,
    );
    await assert.rejects(startTestGateway({ extra: 'metrics: { scrape: true }\n' }), /metrics/);
  });
});
