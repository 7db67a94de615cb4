// Tracing with no SDK registered (the default): nothing breaks, nothing is written for a
// request without a traceparent, and what a destination receives is what it received before
// tracing existed (a sender's traceparent passes through untouched).
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { SECRETS, startTestGateway } from '../helpers/gateway.ts';
import { standardWebhooksHeaders } from '../helpers/sign.ts';
import { startSink } from '../helpers/sink.ts';

test('no SDK: ingest and delivery work, spans are no-ops, no trace context is stored', async () => {
  assert.equal(trace.getTracer('hookyard').startSpan('x').isRecording(), false, 'no SDK here');
  const sink = await startSink();
  const gw = await startTestGateway({
    extra: `
destinations: { app: { url: ${sink.url}/hook } }
routes: [{ source: partner, to: app }]
`,
  });
  try {
    const plain = JSON.stringify({ type: 'a' });
    const r1 = await gw.post(
      'partner',
      plain,
      standardWebhooksHeaders(plain, SECRETS.partner, 'msg_1'),
    );
    assert.equal(r1.status, 200);
    const sender = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const traced = JSON.stringify({ type: 'b' });
    const r2 = await gw.post('partner', traced, {
      ...standardWebhooksHeaders(traced, SECRETS.partner, 'msg_2'),
      traceparent: sender,
    });
    assert.equal(r2.status, 200);
    await sink.waitFor(2);
    const byBody = (b: string) => sink.received.find((r) => r.body.toString() === b);
    assert.equal(byBody(plain)?.headers.traceparent, undefined);
    assert.equal(byBody(traced)?.headers.traceparent, sender, 'forwarded as received');
    const db = new DatabaseSync(gw.dbPath, { readOnly: true });
    try {
      const rows = db.prepare('SELECT event_id, trace_context FROM events ORDER BY seq').all();
      // Without an SDK only a sender's own context is kept, for a process that delivers with one.
      assert.deepEqual(
        rows.map((r) => [r.event_id, r.trace_context]),
        [
          ['msg_1', null],
          ['msg_2', sender],
        ],
      );
    } finally {
      db.close();
    }
  } finally {
    await gw.close();
    await sink.close();
  }
});
