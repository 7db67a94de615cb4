// Operational notifications (notify:), end to end: a real gateway delivers to real sinks, and
// the notification endpoint checks every message with the `standardwebhooks` package.
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { parseConfigText } from '../../src/config.ts';
import { startGateway } from '../../src/gateway.ts';
import { API_TOKEN, SECRETS, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { createTestDatabase, POSTGRES_SKIP, type TestDatabase } from '../helpers/postgres.ts';
import { standardWebhooksHeaders } from '../helpers/sign.ts';
import { type Received, type Sink, startSink } from '../helpers/sink.ts';

const NOTIFY_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';

interface Message {
  type: string;
  timestamp: string;
  data: Record<string, any>;
}

/** A message as the receiver sees it: verified by the Standard Webhooks library (which throws
 * on a bad or missing signature), then parsed. */
function verified(r: Received): Message {
  const headers = Object.fromEntries(
    ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(r.headers[h])]),
  );
  return new Webhook(NOTIFY_SECRET).verify(r.body.toString(), headers) as Message;
}

let n = 0;
async function send(gw: Pick<TestGateway, 'post'>, count: number, parallel = 20): Promise<void> {
  let next = 0;
  const one = async () => {
    while (next < count) {
      next++;
      const id = `msg_${n++}`;
      const body = JSON.stringify({ type: 'order.paid', data: { id } });
      const res = await gw.post(
        'partner',
        body,
        standardWebhooksHeaders(body, SECRETS.partner, id),
      );
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, one));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Notifications stored so far (they are events of their own). */
function storedNotifications(gw: TestGateway): number {
  const db = new DatabaseSync(gw.dbPath, { readOnly: true });
  try {
    const row = db
      .prepare("SELECT count(*) AS n FROM events WHERE source = 'hookyard.notify'")
      .get();
    return Number(row?.n);
  } finally {
    db.close();
  }
}

async function withSinks(count: number, run: (sinks: Sink[]) => Promise<void>): Promise<void> {
  const sinks = await Promise.all(Array.from({ length: count }, () => startSink()));
  try {
    await run(sinks);
  } finally {
    await Promise.all(sinks.map((s) => s.close()));
  }
}

describe('notify on PostgreSQL', { skip: POSTGRES_SKIP }, () => {
  let db: TestDatabase | undefined;
  before(async () => {
    db = await createTestDatabase('hookyard_notify');
  });
  after(async () => {
    await db?.drop();
  });

  test('failing, then recovered: one message each, stored and delivered like any event', async () =>
    withSinks(2, async ([app, ops]) => {
      const a = app as Sink;
      const o = ops as Sink;
      let failing = true;
      a.respond = () => ({ status: failing ? 500 : 200 });
      const config = parseConfigText(
        `
storage: ${await (db as TestDatabase).schema()}
server: { port: 0 }
api: { token: ${API_TOKEN} }
sources: { partner: { provider: standard-webhooks, secret: ${SECRETS.partner} } }
destinations: { app: { url: ${a.url}/hook, backoff_base: 20ms, backoff_max: 40ms } }
routes: [{ source: partner, to: app }]
notify: { url: ${o.url}/ops, secret: ${NOTIFY_SECRET}, failing_after: 2 }
`,
        {},
      );
      const gw = await startGateway(config, { logger: pino({ level: 'silent' }) });
      const post: TestGateway['post'] = (source, body, headers) =>
        fetch(`${gw.url}/webhooks/${source}`, { method: 'POST', body, headers });
      try {
        await send({ post }, 2);
        await a.waitFor(4);
        failing = false;
        await send({ post }, 2);
        await o.waitFor(2);
        await sleep(300);
        assert.deepEqual(
          o.received.map((r) => verified(r).type),
          ['destination.failing', 'destination.recovered'],
        );
        const res = await fetch(`${gw.url}/api/events?source=hookyard.notify`, {
          headers: { authorization: `Bearer ${API_TOKEN}` },
        });
        const page = (await res.json()) as { data: { type: string; status: string }[] };
        assert.deepEqual(
          page.data.map((e) => [e.type, e.status]),
          [
            ['destination.recovered', 'delivered'],
            ['destination.failing', 'delivered'],
          ],
        );
      } finally {
        await gw.close();
      }
    }));
});

describe('notify', () => {
  test('a destination that fails, then recovers: exactly one failing and one recovered, signed', async () =>
    withSinks(2, async ([app, ops]) => {
      const a = app as Sink;
      const o = ops as Sink;
      let failing = true;
      a.respond = () => ({ status: failing ? 503 : 200 });
      // The first notification fails once: the recovered one must wait for its retry.
      o.respond = (_r, i) => ({ status: i === 0 ? 500 : 200 });
      const gw = await startTestGateway({
        extra: `
destinations:
  app: { url: ${a.url}/hook, backoff_base: 20ms, backoff_max: 40ms, concurrency: 2 }
routes: [{ source: partner, to: app }]
notify: { url: ${o.url}/ops, secret: ${NOTIFY_SECRET}, failing_after: 3, backoff_base: 1s,
          backoff_max: 1s }
`,
      });
      try {
        await send(gw, 3);
        await a.waitFor(8); // every event failed at least twice: well past failing_after
        failing = false;
        await send(gw, 5); // delivered, like the retries of the first three
        await o.waitFor(3);
        await sleep(500); // nothing more comes
        const all = o.received.map(verified);
        // In order, each once (the first answer was a 500: that message came again).
        assert.deepEqual(
          all.map((m) => m.type),
          ['destination.failing', 'destination.failing', 'destination.recovered'],
        );
        assert.equal(o.received[0]?.headers['webhook-id'], o.received[1]?.headers['webhook-id']);
        const messages = all.slice(1);
        const [fail, ok] = messages as [Message, Message];
        assert.equal(fail.data.destination, 'app');
        assert.equal(fail.data.failed_attempts, 3);
        assert.equal(fail.data.last_error, 'HTTP 503');
        assert.ok(!Number.isNaN(Date.parse(fail.timestamp)));
        assert.equal(ok.data.destination, 'app');
        assert.equal(ok.data.failing_since, fail.data.failing_since);
        assert.ok(ok.data.failed_attempts >= 3);
        // The webhook-id is the stored notification's id: the receiver's dedup key.
        assert.match(String(o.received[2]?.headers['webhook-id']), /^hye_/);
        assert.equal(storedNotifications(gw), 2);
      } finally {
        await gw.close();
      }
    }));

  test('1,000 dead deliveries: the first `burst`, then a summary per interval; counts add up', async (t) =>
    withSinks(2, async ([app, ops]) => {
      const a = app as Sink;
      const o = ops as Sink;
      a.respond = () => ({ status: 500 });
      const burst = 3;
      const intervalMs = 500;
      const gw = await startTestGateway({
        extra: `
destinations:
  app: { url: ${a.url}/hook, max_attempts: 1, concurrency: 50 }
routes: [{ source: partner, to: app }]
notify: { url: ${o.url}/ops, secret: ${NOTIFY_SECRET}, events: [delivery.dead],
          burst: ${burst}, interval: ${intervalMs}ms }
`,
      });
      try {
        // Deaths spread over several intervals: a storm that goes on gets summaries only.
        const started = Date.now();
        for (let i = 1; i <= 4; i++) {
          await send(gw, 250, 50);
          await a.waitFor(250 * i, 60_000);
          if (i < 4) await sleep(300);
        }
        const deadBy = Date.now();
        assert.ok(deadBy - started > 2 * intervalMs, 'the deaths span several intervals');
        const total = () =>
          o.received.map(verified).reduce((sum, m) => sum + Number(m.data.count), 0);
        const until = Date.now() + 4 * intervalMs + 5000;
        while (total() < 1000 && Date.now() < until) await sleep(50);
        await sleep(intervalMs + 200); // a later summary would be a double count
        const messages = o.received.map(verified);
        assert.equal(total(), 1000, 'every dead delivery is told, once');
        assert.ok(messages.every((m) => m.type === 'delivery.dead'));
        const single = messages.filter((m) => m.data.count === 1 && !m.data.summary);
        const summaries = messages.filter((m) => m.data.summary === true);
        assert.equal(single.length, burst, 'the first few one by one');
        for (const m of single) {
          assert.equal(m.data.destination, 'app');
          assert.equal(m.data.reason, '1 attempts failed');
          assert.match(m.data.event_id, /^hye_/);
        }
        for (const s of summaries) assert.deepEqual(s.data.destinations, { app: s.data.count });
        // The bound: `burst` + one summary per interval the deaths spanned (+1 for the
        // interval they end in).
        const intervals = Math.ceil((deadBy - started) / intervalMs) + 1;
        assert.ok(
          messages.length <= burst + intervals,
          `${messages.length} messages for ${deadBy - started} ms of deaths`,
        );
        assert.ok(messages.length <= 20, `${messages.length} messages`);
        t.diagnostic(
          `${messages.length} messages (${single.length} single, ${summaries.length} summaries: ${summaries.map((m) => m.data.count).join(' + ')}) for 1000 deaths over ${deadBy - started} ms; bound ${burst + intervals}`,
        );
      } finally {
        await gw.close();
      }
    }));

  test('a dead notification endpoint: the gateway keeps ingesting and delivering, and no loop', async () =>
    withSinks(2, async ([app, ok]) => {
      const a = app as Sink;
      const good = ok as Sink;
      a.respond = () => ({ status: 500 });
      const dead = await startSink();
      const deadUrl = dead.url;
      await dead.close(); // nothing listens there now: every notification attempt is refused
      const gw = await startTestGateway({
        extra: `
destinations:
  app: { url: ${a.url}/hook, max_attempts: 1 }
  good: { url: ${good.url}/hook }
routes: [{ source: partner, to: [app, good] }]
notify: { url: ${deadUrl}/ops, secret: ${NOTIFY_SECRET}, burst: 2, interval: 300ms,
          failing_after: 2, max_attempts: 2, backoff_base: 10ms, backoff_max: 20ms }
`,
      });
      try {
        await send(gw, 50);
        await good.waitFor(50);
        await a.waitFor(50);
        await sleep(1200); // the notifications die (2 attempts each) meanwhile
        const made = storedNotifications(gw);
        // burst 2 + summaries (a few intervals) + one destination.failing: nothing about the
        // notification destination's own failures and deaths.
        assert.ok(made >= 4 && made <= 10, `${made} notifications`);
        // No more deaths of the app: were the notifications' own deaths told, each interval
        // would bring one more summary, forever.
        await sleep(6 * 300);
        assert.equal(storedNotifications(gw), made, 'quiet once the app is');
        const page = await gw.api('/events?source=hookyard.notify&status=dead&limit=100');
        const dead = (await page.json()) as { data: unknown[] };
        assert.ok(dead.data.length >= 1, 'notifications die like any delivery');
        // Still ingesting and delivering.
        await send(gw, 50);
        await good.waitFor(100);
        await sleep(700);
        assert.ok(storedNotifications(gw) <= made + 4, 'no notifications about notifications');
      } finally {
        await gw.close();
      }
    }));

  test('format: slack — a `{text}` body, control characters escaped, no signature without a secret', async () =>
    withSinks(2, async ([app, slack]) => {
      const a = app as Sink;
      const s = slack as Sink;
      a.respond = () => ({ status: 500 });
      const gw = await startTestGateway({
        extra: `
destinations:
  "app<!channel>": { url: ${a.url}/hook, max_attempts: 1 }
routes: [{ source: partner, to: "app<!channel>" }]
notify: { url: ${s.url}/services/T/B/X, format: slack, failing_after: 1, burst: 1 }
`,
      });
      try {
        await send(gw, 1);
        await s.waitFor(2);
        for (const r of s.received) {
          const body = JSON.parse(r.body.toString()) as Record<string, unknown>;
          assert.deepEqual(Object.keys(body), ['text']);
          assert.equal(typeof body.text, 'string');
          assert.ok(!String(body.text).includes('<!channel>'), String(body.text));
          assert.ok(String(body.text).includes('app&lt;!channel&gt;'), String(body.text));
          assert.equal(r.headers['content-type'], 'application/json');
          assert.equal(r.headers['webhook-signature'], undefined);
        }
        const texts = s.received.map((r) => String(JSON.parse(r.body.toString()).text)).sort();
        assert.match(
          texts[0] as string,
          /^:red_circle: Hookyard: destination `app&lt;!channel&gt;` is failing/,
        );
        assert.match(
          texts[1] as string,
          /^:x: Hookyard: a delivery to `app&lt;!channel&gt;` is dead/,
        );
      } finally {
        await gw.close();
      }
    }));
});
