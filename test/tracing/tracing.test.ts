// Tracing (docs/spec.md §9): with an SDK registered (an in-memory exporter), one ingest and its
// delivery attempts form one trace — the ingest span the root (or the sender's traceparent's
// child), each attempt its child — also when another gateway sharing PostgreSQL delivers, so
// the context can only have travelled through the stored event.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { parseConfigText } from '../../src/config.ts';
import { startGateway } from '../../src/gateway.ts';
import { startTestGateway, SECRETS } from '../helpers/gateway.ts';
import { createTestDatabase, POSTGRES_SKIP, type TestDatabase } from '../helpers/postgres.ts';
import { standardWebhooksHeaders } from '../helpers/sign.ts';
import { startSink } from '../helpers/sink.ts';

const exporter = new InMemorySpanExporter();
before(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
});
after(() => {
  trace.disable();
  context.disable();
});

function partnerEvent(id = `msg_${randomBytes(6).toString('hex')}`) {
  const body = JSON.stringify({ type: 'invoice.paid', data: { id } });
  return { id, body, headers: standardWebhooksHeaders(body, SECRETS.partner, id) };
}

/** Waits until `ok` holds for the finished spans. */
async function spansWhere(ok: (spans: ReadableSpan[]) => boolean, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const spans = exporter.getFinishedSpans();
    if (ok(spans)) return spans;
    if (Date.now() > until) throw new Error(`spans: ${spans.map((s) => s.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const attemptsOf = (spans: ReadableSpan[], eventId: string) =>
  spans
    .filter((s) => s.name.startsWith('deliver ') && s.attributes['hookyard.event.id'] === eventId)
    .sort(
      (a, b) => Number(a.attributes['hookyard.attempt']) - Number(b.attributes['hookyard.attempt']),
    );

describe('one ingest and its deliveries form one trace', () => {
  test('ingest span → an attempt span per attempt, per destination; the app gets the attempt’s traceparent', async () => {
    exporter.reset();
    const flaky = await startSink();
    const steady = await startSink();
    flaky.respond = (_r, i) => ({ status: i === 0 ? 500 : 200 });
    const gw = await startTestGateway({
      extra: `
destinations:
  flaky:  { url: ${flaky.url}/hook, backoff_base: 50ms, backoff_max: 100ms }
  steady: { url: ${steady.url}/hook }
routes:
  - { source: partner, to: [flaky, steady] }
`,
    });
    try {
      const e = partnerEvent();
      const res = await gw.post('partner', e.body, e.headers);
      assert.equal(res.status, 200);
      const { id } = (await res.json()) as { id: string };
      const spans = await spansWhere((s) => attemptsOf(s, id).length === 3);
      const ingest = spans.find(
        (s) => s.name === 'POST /webhooks/:source' && s.attributes['hookyard.event.id'] === id,
      );
      assert.ok(ingest, 'an ingest span');
      assert.equal(ingest.kind, SpanKind.SERVER);
      assert.equal(ingest.parentSpanContext, undefined, 'no traceparent, no active span: a root');
      assert.equal(ingest.attributes['hookyard.source'], 'partner');
      assert.equal(ingest.attributes['http.response.status_code'], 200);
      assert.equal(ingest.attributes['hookyard.duplicate'], false);
      const traceId = ingest.spanContext().traceId;
      const attempts = attemptsOf(spans, id);
      for (const a of attempts) {
        assert.equal(a.spanContext().traceId, traceId, `${a.name} in the ingest's trace`);
        assert.equal(a.parentSpanContext?.spanId, ingest.spanContext().spanId);
        assert.equal(a.kind, SpanKind.CLIENT);
      }
      const toFlaky = attempts.filter((a) => a.attributes['hookyard.destination'] === 'flaky');
      assert.deepEqual(
        toFlaky.map((a) => [
          a.attributes['hookyard.attempt'],
          a.attributes['http.response.status_code'],
          a.attributes['hookyard.outcome'],
        ]),
        [
          [1, 500, 'retry'],
          [2, 200, 'delivered'],
        ],
      );
      const toSteady = attempts.filter((a) => a.attributes['hookyard.destination'] === 'steady');
      assert.equal(toSteady.length, 1);
      // What the app received carries the attempt span as its parent.
      await steady.waitFor(1);
      const sent = steady.received[0]?.headers.traceparent;
      assert.equal(sent, `00-${traceId}-${toSteady[0]?.spanContext().spanId}-01`);
    } finally {
      await gw.close();
      await flaky.close();
      await steady.close();
    }
  });

  test('an incoming traceparent is the ingest span’s parent; refusals and duplicates are spans too', async () => {
    exporter.reset();
    const sink = await startSink();
    const gw = await startTestGateway({
      extra: `
destinations: { app: { url: ${sink.url}/hook } }
routes: [{ source: partner, to: app }]
`,
    });
    try {
      const traceId = randomBytes(16).toString('hex');
      const parent = randomBytes(8).toString('hex');
      const e = partnerEvent();
      const headers = {
        ...e.headers,
        traceparent: `00-${traceId}-${parent}-01`,
        tracestate: 'vendor=abc',
      };
      const res = await gw.post('partner', e.body, headers);
      const { id } = (await res.json()) as { id: string };
      const spans = await spansWhere((s) => attemptsOf(s, id).length === 1);
      const ingest = spans.find(
        (s) => s.attributes['hookyard.event.id'] === id && s.kind === SpanKind.SERVER,
      );
      assert.ok(ingest);
      assert.equal(ingest.spanContext().traceId, traceId);
      assert.equal(ingest.parentSpanContext?.spanId, parent);
      assert.equal(ingest.spanContext().traceState?.get('vendor'), 'abc');
      const [attempt] = attemptsOf(spans, id);
      assert.equal(attempt?.spanContext().traceId, traceId);
      assert.equal(attempt?.parentSpanContext?.spanId, ingest.spanContext().spanId);
      // The app gets the attempt's context in place of the sender's, its tracestate kept.
      await sink.waitFor(1);
      const got = sink.received[0]?.headers;
      assert.equal(got?.traceparent, `00-${traceId}-${attempt?.spanContext().spanId}-01`);
      assert.equal(got?.tracestate, 'vendor=abc');

      // The same event again: a duplicate, answered from the first one's id.
      const dup = await gw.post('partner', e.body, e.headers);
      assert.equal(((await dup.json()) as { status: string }).status, 'duplicate');
      // Hostile trace headers are ignored, never an error: a root span.
      const bad = partnerEvent();
      const refused = await gw.post('partner', bad.body, {
        ...bad.headers,
        'webhook-signature': 'v1,AAAA',
        traceparent: `00-${'0'.repeat(32)}-${parent}-01`,
      });
      assert.equal(refused.status, 401);
      const all = await spansWhere(
        (s) =>
          s.some((x) => x.attributes['hookyard.duplicate'] === true) &&
          s.some((x) => x.attributes['http.response.status_code'] === 401),
      );
      const d = all.find((x) => x.attributes['hookyard.duplicate'] === true);
      assert.equal(d?.attributes['hookyard.event.id'], id);
      const r = all.find((x) => x.attributes['http.response.status_code'] === 401);
      assert.equal(r?.attributes['error.type'], 'signature_invalid');
      assert.equal(r?.parentSpanContext, undefined, 'an all-zero trace id is not a parent');
      // An unknown source is one attribute value, whatever name was sent.
      await gw.post('no-such-source-x', '{}', {});
      const unknown = await spansWhere((s) =>
        s.some((x) => x.attributes['http.response.status_code'] === 404),
      );
      assert.equal(
        unknown.find((x) => x.attributes['http.response.status_code'] === 404)?.attributes[
          'hookyard.source'
        ],
        '(unknown)',
      );
    } finally {
      await gw.close();
      await sink.close();
    }
  });
});

describe('the context travels with the stored event', { skip: POSTGRES_SKIP }, () => {
  let db: TestDatabase | undefined;
  before(async () => {
    db = await createTestDatabase('hookyard_tracing');
  });
  after(async () => {
    await db?.drop();
  });

  test('another gateway sharing PostgreSQL delivers: its attempt is in the ingest’s trace', async () => {
    exporter.reset();
    const sink = await startSink();
    const storage = await (db as TestDatabase).schema();
    const yaml = (rate: string) => `
storage: ${storage}
server: { port: 0 }
api: { token: t }
sources: { partner: { provider: standard-webhooks, secret: ${SECRETS.partner} } }
destinations: { app: { url: ${sink.url}/hook, ${rate} } }
routes: [{ source: partner, to: app }]
`;
    const logger = pino({ level: 'silent' });
    // A may start one attempt an hour: after the first event, the next can only be B's.
    const a = await startGateway(parseConfigText(yaml('rate: 1/h'), {}), { logger });
    const b = await startGateway(parseConfigText(yaml('rate: 100/s'), {}), { logger });
    try {
      const post = (e: ReturnType<typeof partnerEvent>) =>
        fetch(`${a.url}/webhooks/partner`, { method: 'POST', body: e.body, headers: e.headers });
      await post(partnerEvent());
      await sink.waitFor(1);
      const res = await post(partnerEvent());
      const { id } = (await res.json()) as { id: string };
      const spans = await spansWhere((s) => attemptsOf(s, id).length === 1);
      const ingest = spans.find(
        (s) => s.attributes['hookyard.event.id'] === id && s.kind === SpanKind.SERVER,
      );
      const [attempt] = attemptsOf(spans, id);
      assert.ok(ingest && attempt);
      assert.equal(attempt.spanContext().traceId, ingest.spanContext().traceId);
      assert.equal(attempt.parentSpanContext?.spanId, ingest.spanContext().spanId);
      assert.equal(attempt.parentSpanContext?.isRemote, true, 'read back from the store');
      await sink.waitFor(2);
    } finally {
      await a.close();
      await b.close();
      await sink.close();
    }
  });
});
