// `hookyard listen` in-process against a real gateway and a real local app (node:http) that
// checks signatures with the official stripe package; the listener API (GET /api/listeners,
// POST /api/listeners/:name/ack, GET /api/stream?listener=) with hostile input.
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { listen } from '../../src/cli/commands/listen.ts';
import { client } from '../../src/cli/gateway-client.ts';
import type { Io } from '../../src/cli/io.ts';
import { API_TOKEN, SECRETS, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { stripeHeaders } from '../helpers/sign.ts';
import { cli } from './helpers.ts';

const stripe = new Stripe('sk_test_offline');

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The stripe package's verdict, for requests to /stripe. */
  verified: boolean;
  seq: number | undefined;
}

interface LocalApp {
  url: string;
  received: Received[];
  /** Status to answer the next request with (default 200). */
  answer: () => number;
  close(): Promise<void>;
}

async function startLocalApp(): Promise<LocalApp> {
  const app: LocalApp = { url: '', received: [], answer: () => 200, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let verified: boolean;
      let seq: number | undefined;
      try {
        const event = stripe.webhooks.constructEvent(
          body,
          String(req.headers['stripe-signature']),
          SECRETS.stripe,
        );
        verified = true;
        seq = (event.data.object as { seq?: number }).seq;
      } catch {
        verified = false;
      }
      const status = app.answer();
      if (status >= 200 && status < 300) {
        app.received.push({ headers: req.headers, body, verified, seq });
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  app.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stripe`;
  app.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return app;
}

function stripeBody(seq: number): string {
  return JSON.stringify({
    id: `evt_${randomUUID().replaceAll('-', '')}`,
    object: 'event',
    type: seq % 2 ? 'payment_intent.succeeded' : 'charge.refunded',
    data: { object: { id: `pi_${seq}`, seq } },
  });
}

async function sendStripe(gw: TestGateway, seq: number): Promise<void> {
  const body = stripeBody(seq);
  const res = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
  assert.equal(res.status, 200, await res.text());
}

function captured(): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: { write: (c: string) => out.push(c) },
    stderr: { write: (c: string) => err.push(c) },
    env: {},
  };
}

/** Runs listen until stopped. */
function startListen(
  gw: TestGateway,
  app: LocalApp,
  name: string,
  extra: { source?: string; events?: string } = {},
) {
  const io = captured();
  const controller = new AbortController();
  const done = listen(
    {
      forwardTo: new URL(app.url),
      name,
      ...extra,
      retryMs: [20, 100],
      reconnectMs: [20, 200],
    },
    client({ url: gw.url, token: API_TOKEN }, io),
    io,
    controller.signal,
  );
  return {
    io,
    done,
    async stop() {
      controller.abort();
      assert.equal(await done, 0);
    },
  };
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const authed = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway();
});
after(async () => {
  await gw.close();
});

describe('hookyard listen', () => {
  test('forwards byte for byte with the original headers: the stripe package verifies each', async () => {
    const app = await startLocalApp();
    const l = startListen(gw, app, 'bytes');
    try {
      await until('connected', () => l.io.err.join('').includes('connected'));
      const sent: string[] = [];
      for (let i = 0; i < 20; i++) {
        const body = stripeBody(i);
        sent.push(body);
        const headers = { ...stripeHeaders(body, SECRETS.stripe), 'x-custom-trace': `t${i}` };
        assert.equal((await gw.post('stripe', body, headers)).status, 200);
      }
      await until('20 events', () => app.received.length >= 20);
      assert.deepEqual(
        app.received.map((r) => r.body.toString()),
        sent,
      );
      for (const [i, r] of app.received.entries()) {
        assert.equal(r.verified, true, `event ${i} verified by stripe.webhooks.constructEvent`);
        assert.equal(r.headers['x-custom-trace'], `t${i}`);
        assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
      }
      // One line per event: time, source, type, local status, ms.
      const lines = l.io.out.join('').trim().split('\n');
      assert.equal(lines.length, 20);
      assert.match(
        lines[0] as string,
        /^\d\d:\d\d:\d\d\.\d{3} {2}stripe {2}charge\.refunded {2}200 {2}\d+ ms {2}hye_/,
      );
    } finally {
      await l.stop();
      await app.close();
    }
  });

  test('bytes that are not UTF-8 arrive as they were stored', async () => {
    const app = await startLocalApp();
    const l = startListen(gw, app, 'raw', { source: 'custom' });
    try {
      await until('connected', () => l.io.err.join('').includes('connected'));
      // A BOM and an invalid UTF-8 byte inside a JSON string.
      const body = Buffer.concat([
        Buffer.from('{"event":"raw.bytes","x":"'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('"}'),
      ]);
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"event":"bom"}')]);
      for (const [i, b] of [body, bom].entries()) {
        const sig = createHmac('sha256', SECRETS.custom).update(b).digest('hex');
        const res = await gw.post('custom', new Uint8Array(b), {
          'x-signature': `sha256=${sig}`,
          'x-event-id': `raw-${randomUUID()}-${i}`,
          'content-type': 'application/json',
        });
        assert.equal(res.status, 200, await res.text());
      }
      await until('2 events', () => app.received.length >= 2);
      assert.deepEqual(app.received[0]?.body, body);
      assert.deepEqual(app.received[1]?.body, bom);
    } finally {
      await l.stop();
      await app.close();
    }
  });

  test('resumes after the acknowledged cursor: what came while it was away, in order, once', async () => {
    const app = await startLocalApp();
    let l = startListen(gw, app, 'resume', { source: 'stripe' });
    await until('connected', () => l.io.err.join('').includes('connected'));
    for (let i = 0; i < 10; i++) await sendStripe(gw, i);
    await until('10 events', () => app.received.length >= 10);
    await l.stop();
    // Away: 30 more arrive, while another stream keeps the gateway's stream reader moving on
    // (a stream without a cursor starts where that reader is).
    const other = await fetch(`${gw.url}/api/stream`, { headers: authed });
    for (let i = 10; i < 40; i++) await sendStripe(gw, i);
    await new Promise((r) => setTimeout(r, 400));
    const listed = (await (
      await fetch(`${gw.url}/api/listeners/resume`, { headers: authed })
    ).json()) as { backlog: number; cursor: string };
    assert.ok(listed.backlog >= 30, `backlog ${listed.backlog}`);
    l = startListen(gw, app, 'resume', { source: 'stripe' });
    try {
      await until('40 events', () => app.received.length >= 40);
      await other.body?.cancel();
      assert.match(l.io.err.join(''), /listener resume: \d+ events to catch up/);
      await new Promise((r) => setTimeout(r, 200)); // nothing more comes
      assert.deepEqual(
        app.received.map((r) => r.seq),
        Array.from({ length: 40 }, (_, i) => i),
      );
    } finally {
      await l.stop();
      await app.close();
    }
  });

  test('a local app that fails is retried; the events behind it wait, in order', async () => {
    const app = await startLocalApp();
    let calls = 0;
    app.answer = () => (++calls % 3 === 0 ? 200 : 503); // two failures before each success
    const l = startListen(gw, app, 'retry', { source: 'stripe', events: 'payment_intent.*' });
    try {
      await until('connected', () => l.io.err.join('').includes('connected'));
      for (let i = 0; i < 10; i++) await sendStripe(gw, i);
      await until('5 events', () => app.received.length >= 5);
      await new Promise((r) => setTimeout(r, 200));
      // --events: only payment_intent.* (odd seq).
      assert.deepEqual(
        app.received.map((r) => r.seq),
        [1, 3, 5, 7, 9],
      );
      assert.match(l.io.out.join(''), / 503 .*retrying in/);
    } finally {
      await l.stop();
      await app.close();
    }
  });

  test('a second listen of the same name takes over: the first stops, each event arrives once', async () => {
    const app = await startLocalApp();
    const first = startListen(gw, app, 'both', { source: 'stripe' });
    await until('first connected', () => first.io.err.join('').includes('connected'));
    for (let i = 0; i < 5; i++) await sendStripe(gw, i);
    await until('5 events', () => app.received.length >= 5);
    const second = startListen(gw, app, 'both', { source: 'stripe' });
    try {
      await assert.rejects(first.done, /another listen of both has taken over/);
      for (let i = 5; i < 15; i++) await sendStripe(gw, i);
      await until('15 events', () => app.received.length >= 15);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        app.received.map((r) => r.seq),
        Array.from({ length: 15 }, (_, i) => i),
      );
    } finally {
      await second.stop();
      await app.close();
    }
  });

  test('usage errors exit 2', async () => {
    assert.equal((await cli(['listen'])).code, 2);
    assert.equal((await cli(['listen', '--forward-to', 'ftp://x'])).code, 2);
    const bad = await cli(['listen', '--forward-to', 'http://127.0.0.1:1/', '--name', '../etc']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--name/);
    assert.match((await cli(['listen', '--help'])).stdout, /--forward-to/);
  });

  test('a wrong token is an error, not an endless retry', async () => {
    const io = captured();
    await assert.rejects(
      listen(
        { forwardTo: new URL('http://127.0.0.1:1/'), name: 'x' },
        client({ url: gw.url, token: 'wrong' }, io),
        io,
        new AbortController().signal,
      ),
      /401/,
    );
  });
});

describe('the listener API', () => {
  const ack = (name: string, body: string) =>
    fetch(`${gw.url}/api/listeners/${name}/ack`, { method: 'POST', headers: authed, body });

  test('ack moves forward only; a late ack of a taken-over listener changes nothing', async () => {
    const head = async () => {
      // The stream's first id after a send is a real cursor.
      return (await (await fetch(`${gw.url}/api/listeners`, { headers: authed })).json()) as {
        data: { name: string; cursor: string; backlog: number }[];
      };
    };
    await sendStripe(gw, 1000);
    const page = (await (
      await fetch(`${gw.url}/api/events?limit=2`, { headers: authed })
    ).json()) as { data: unknown[] };
    assert.ok(page.data.length > 0);
    // Cursors from a stream of a new listener: registered at the head.
    const s = await fetch(`${gw.url}/api/stream?listener=api-a`, { headers: authed });
    assert.equal(s.status, 200);
    await s.body?.cancel();
    const a = (await head()).data.find((l) => l.name === 'api-a');
    assert.ok(a, 'the stream registered the listener');
    assert.equal(a.backlog, 0);
    await sendStripe(gw, 1001);
    await sendStripe(gw, 1002);
    const cursors = await streamCursors(`${gw.url}/api/stream?after=${a.cursor}`, 2);
    const [c1, c2] = cursors as [string, string];
    assert.equal((await ack('api-a', JSON.stringify({ cursor: c2 }))).status, 200);
    const late = await ack('api-a', JSON.stringify({ cursor: c1 }));
    assert.equal(late.status, 200);
    assert.equal(((await late.json()) as { cursor: string }).cursor, c2);
    const got = (await (
      await fetch(`${gw.url}/api/listeners/api-a`, { headers: authed })
    ).json()) as {
      cursor: string;
      backlog: number;
    };
    assert.equal(got.cursor, c2);
    assert.equal(got.backlog, 0);
  });

  test('hostile input: malformed and future cursors, bad names, bodies, methods', async () => {
    const cases: [string, string, number][] = [
      ['api-b', '{}', 400],
      ['api-b', '{"cursor":""}', 400],
      ['api-b', '{"cursor":"abc"}', 400],
      ['api-b', '{"cursor":"1.2.3"}', 400],
      ['api-b', '{"cursor":"-1"}', 400],
      ['api-b', '{"cursor":99999999999}', 400],
      ['api-b', `{"cursor":"${'9'.repeat(19)}"}`, 400], // ahead of the head: never handed out
      ['api-b', '{"cursor":"1","extra":1}', 400],
      ['api-b', 'not json', 400],
      ['.hidden', '{"cursor":"1"}', 404],
      ['a%2Fb', '{"cursor":"1"}', 404],
      ['x'.repeat(65), '{"cursor":"1"}', 404],
    ];
    for (const [name, body, status] of cases) {
      const res = await ack(name, body);
      assert.equal(res.status, status, `${name} ${body}: ${await res.text()}`);
    }
    assert.equal((await fetch(`${gw.url}/api/listeners/api-b`, { headers: authed })).status, 404);
    const unauth = await fetch(`${gw.url}/api/listeners/api-b/ack`, {
      method: 'POST',
      body: '{"cursor":"1"}',
    });
    assert.equal(unauth.status, 401);
    const get = await fetch(`${gw.url}/api/listeners/api-b/ack`, { headers: authed });
    assert.equal(get.status, 405);
    for (const q of ['listener=', 'listener=..', 'listener=a%20b', `listener=${'y'.repeat(65)}`]) {
      const s = await fetch(`${gw.url}/api/stream?${q}`, { headers: authed });
      assert.equal(s.status, 400, q); // none of them is a name
      await s.body?.cancel();
    }
  });
});

/** The first `n` event cursors of a stream. */
async function streamCursors(url: string, n: number): Promise<string[]> {
  const res = await fetch(url, { headers: authed });
  const reader = res.body?.getReader();
  assert.ok(reader);
  let text = '';
  const ids: string[] = [];
  while (ids.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
    ids.splice(0, ids.length, ...[...text.matchAll(/^id: (.+)$/gm)].map((m) => m[1] as string));
  }
  await reader.cancel();
  return ids.slice(0, n);
}
