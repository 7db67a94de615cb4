// Ids and types a database cannot hold as sent, over real HTTP on PostgreSQL and on SQLite
// alike: genuine events (signed by the official `stripe` package) whose id or type holds
// U+0000 or a lone UTF-16 surrogate are refused with 400 payload_invalid before the commit,
// never fail the events that share their commit, and never merge two distinct ids.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { parseConfigText } from '../../src/config.ts';
import { type Gateway, startGateway } from '../../src/gateway.ts';
import { identify, type IngestRequest } from '../../src/ingest/identify.ts';
import type { EventSummary } from '../../src/store/contract.ts';
import { createTestDatabase, POSTGRES_SKIP, type TestDatabase } from '../helpers/postgres.ts';
import { rawExchange } from '../helpers/raw.ts';
import { githubHeaders, shopifyHeaders, stripeHeaders } from '../helpers/sign.ts';
import { type Sink, startSink } from '../helpers/sink.ts';

const STRIPE = 'whsec_hygiene';
const GITHUB = 'gh-hygiene';
const SHOPIFY = 'shpss_hygiene';
const TOKEN = 'hygiene-token';

const dir = mkdtempSync(join(tmpdir(), 'hookyard-hygiene-e2e-'));
let pg: TestDatabase | undefined;
let sink: Sink | undefined;
before(async () => {
  sink = await startSink();
  if (!POSTGRES_SKIP) pg = await createTestDatabase('hookyard_hygiene_e2e');
});
after(async () => {
  await sink?.close();
  await pg?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const DIALECTS = [
  { name: 'sqlite', skip: false as const, storage: () => `sqlite:${join(dir, 'hygiene.db')}` },
  { name: 'postgres', skip: POSTGRES_SKIP, storage: () => (pg as TestDatabase).url },
];

function stripeBody(id: string, type = 'payment_intent.succeeded', customer = 'cus_1'): string {
  // JSON.stringify writes U+0000 as \u0000 and a lone surrogate as \ud800: the escapes a
  // sender's JSON carries, which JSON.parse turns back into those code units.
  return JSON.stringify({ id, object: 'event', type, data: { object: { id: 'pi_1', customer } } });
}

interface Answer {
  status: number;
  id?: string;
  code?: string;
  duplicate?: boolean;
}

for (const dialect of DIALECTS) {
  describe(`unstorable ids and types over HTTP: ${dialect.name}`, { skip: dialect.skip }, () => {
    let gateway: Gateway;
    before(async () => {
      const yaml =
        `storage: ${dialect.storage()}\nserver: { port: 0 }\napi: { token: ${TOKEN} }\n` +
        `sources:\n` +
        `  stripe: { provider: stripe, secret: ${STRIPE} }\n` +
        `  gh: { provider: github, secret: ${GITHUB} }\n` +
        `  shop: { provider: shopify, secret: ${SHOPIFY} }\n` +
        `destinations:\n` +
        `  app: { url: "${(sink as Sink).url}/hooks", ordering_key: $.data.object.customer }\n` +
        `routes:\n  - { source: stripe, to: app }\n`;
      gateway = await startGateway(parseConfigText(yaml, {}), {
        logger: pino({ level: 'silent' }),
      });
    });
    after(() => gateway.close());

    async function sendStripe(body: string): Promise<Answer> {
      const res = await fetch(`${gateway.url}/webhooks/stripe`, {
        method: 'POST',
        body,
        headers: stripeHeaders(body, STRIPE),
      });
      const json = (await res.json()) as {
        id?: string;
        status?: string;
        error?: { code: string };
      };
      return {
        status: res.status,
        ...(json.id !== undefined && { id: json.id, duplicate: json.status === 'duplicate' }),
        ...(json.error && { code: json.error.code }),
      };
    }

    /**
     * Sends the requests so that they complete at the same moment: each on its own connection
     * with all but its last byte, then the last bytes together, so that they reach the group
     * commit in one tick and share one batch.
     */
    async function sendStripeTogether(bodies: string[]): Promise<Answer[]> {
      const { port } = new URL(gateway.url);
      const sockets: Socket[] = [];
      const answers = bodies.map(async (body, i) => {
        const headers = {
          ...stripeHeaders(body, STRIPE),
          host: '127.0.0.1',
          connection: 'close',
          'content-length': String(Buffer.byteLength(body)),
        };
        const head = Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('');
        const socket = connect(Number(port), '127.0.0.1');
        sockets[i] = socket;
        socket.write(`POST /webhooks/stripe HTTP/1.1\r\n${head}\r\n${body.slice(0, -1)}`);
        const chunks: Buffer[] = [];
        for await (const chunk of socket) chunks.push(chunk as Buffer);
        const text = Buffer.concat(chunks).toString();
        const json = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as {
          id?: string;
          status?: string;
          error?: { code: string };
        };
        return {
          status: Number(text.slice(9, 12)),
          ...(json.id !== undefined && { id: json.id, duplicate: json.status === 'duplicate' }),
          ...(json.error && { code: json.error.code }),
        };
      });
      await new Promise((r) => setTimeout(r, 200));
      sockets.forEach((socket, i) => socket.write((bodies[i] as string).slice(-1)));
      return Promise.all(answers);
    }

    async function commitStats(): Promise<{ refused: number; failures: number }> {
      const res = await fetch(`${gateway.url}/api/stats`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      return ((await res.json()) as { commits: { refused: number; failures: number } }).commits;
    }

    async function stored(): Promise<Map<string, EventSummary>> {
      const page = await gateway.store.listEvents({ source: 'stripe', limit: 1000 });
      return new Map(page.data.map((e) => [e.eventId, e]));
    }

    test('U+0000 in a genuine id or type: 400, and the 20 sent with it are all stored', async () => {
      const bad = [stripeBody('evt_nul\u0000id'), stripeBody('evt_nul_type', 'charge.\u0000')];
      const good = Array.from({ length: 20 }, (_, i) => stripeBody(`evt_${dialect.name}_g${i}`));
      const answers = await sendStripeTogether([...bad, ...good]);
      assert.deepEqual(answers.slice(0, 2), [
        { status: 400, code: 'payload_invalid' },
        { status: 400, code: 'payload_invalid' },
      ]);
      for (const a of answers.slice(2)) assert.deepEqual([a.status, a.duplicate], [200, false]);
      const events = await stored();
      for (let i = 0; i < 20; i++) {
        const id = `evt_${dialect.name}_g${i}`;
        assert.equal(events.get(id)?.id, answers[i + 2]?.id, id);
      }
      assert.ok(![...events.keys()].some((id) => id.includes('nul')));
      // Refused before the commit: the store never saw them, nothing was refused there.
      const commits = await commitStats();
      assert.deepEqual([commits.refused, commits.failures], [0, 0]);
    });

    test('lone surrogates: evt_\\ud800 and evt_\\udfff are 400; distinct ids never merge', async () => {
      // Distinct, well-formed ids, among them U+FFFD itself: what a driver would have turned
      // either lone surrogate into.
      const ids = ['evt_\ufffd', 'evt_\u{1f600}', 'evt_\u{1f601}', 'evt_\ud800\udc00', 'evt_'];
      const first = await Promise.all(ids.map((id) => sendStripe(stripeBody(id))));
      for (const a of first) assert.deepEqual([a.status, a.duplicate], [200, false]);
      assert.equal(new Set(first.map((a) => a.id)).size, ids.length, 'one event per id');

      for (const id of ['evt_\ud800', 'evt_\udfff', 'evt_\udc00\ud800', 'evt_\ud83d']) {
        assert.deepEqual(await sendStripe(stripeBody(id)), {
          status: 400,
          code: 'payload_invalid',
        });
      }
      assert.deepEqual(await sendStripe(stripeBody('evt_ok', 'charge.\udfff')), {
        status: 400,
        code: 'payload_invalid',
      });

      // Each id round-trips exactly, and a resend of one is a duplicate of that one only.
      const events = await stored();
      ids.forEach((id, i) => assert.equal(events.get(id)?.id, first[i]?.id, JSON.stringify(id)));
      const again = await sendStripe(stripeBody('evt_\ufffd'));
      assert.deepEqual(again, { status: 200, id: first[0]?.id, duplicate: true });
    });

    test('an ordering key the database refuses fails its own event only', async () => {
      // U+0000 in the payload value a destination orders by: ingest passes it to the store,
      // which PostgreSQL refuses. The 20 sent with it still get 200 and are stored; the
      // culprit is answered consistently (200 only if it was stored).
      const culprit = stripeBody(`evt_${dialect.name}_key`, 'charge.refunded', 'cus_\u0000');
      const good = Array.from({ length: 20 }, (_, i) =>
        stripeBody(`evt_${dialect.name}_k${i}`, 'charge.refunded', `cus_${i % 3}`),
      );
      const bodies = [...good.slice(0, 10), culprit, ...good.slice(10)];
      const before = await commitStats();
      const answers = await sendStripeTogether(bodies);
      const refused = (await commitStats()).refused - before.refused;
      assert.equal(refused, answers[10]?.status === 200 ? 0 : 1);
      const events = await stored();
      answers.forEach((a, i) => {
        const id = (JSON.parse(bodies[i] as string) as { id: string }).id;
        if (i === 10) {
          assert.equal(a.status === 200, events.has(id), `culprit answered ${a.status}`);
          if (dialect.name === 'sqlite') assert.equal(a.status, 200);
        } else {
          assert.deepEqual([a.status, a.duplicate], [200, false], id);
          assert.equal(events.get(id)?.id, a.id, id);
        }
      });
    });

    test('ids and types from headers: a NUL never reaches the store', async () => {
      // node's HTTP parser refuses a NUL in a header value (RFC 9110 §5.5) before ingest.
      const body = '{"zen":"hi"}';
      const signed = await githubHeaders(body, GITHUB, 'push', 'd-1');
      const head = Object.entries({ ...signed, 'x-github-event': 'pu\u0000sh' })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      const raw = await rawExchange(gateway.url, [
        `POST /webhooks/gh HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\n${head}\r\n${body}`,
      ]);
      assert.match(raw.response, /^HTTP\/1\.1 400 /);
      const page = await gateway.store.listEvents({ source: 'gh', limit: 10 });
      assert.equal(page.data.length, 0);
    });
  });
}

describe('identify: every string stored as text is checked, wherever it comes from', () => {
  // Callers other than node's HTTP parser and fetch's Headers (which refuse NUL and anything
  // over U+00FF in a header) may hand ingest such values.
  const source = (provider: 'github' | 'shopify') =>
    parseConfigText(`sources:\n  s: { provider: ${provider}, secret: x }\n`, {}).sources.get(
      's',
    ) as Parameters<typeof identify>[0];
  const request = (headers: Record<string, string>): IngestRequest => ({
    headers,
    body: new TextEncoder().encode('{}'),
    contentType: headers['content-type'] ?? null,
  });
  const github = (event: string, delivery: string, extra: Record<string, string> = {}) =>
    identify(
      source('github'),
      request({
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': delivery,
        ...extra,
      }),
    ).kind;

  test('GitHub X-GitHub-Event and X-GitHub-Delivery', () => {
    assert.equal(github('push', 'd-1'), 'event');
    assert.equal(github('pu\u0000sh', 'd-1'), 'invalid');
    assert.equal(github('push', 'd-\u0000'), 'invalid');
    assert.equal(github('push', 'd-\ud800'), 'invalid');
    assert.equal(github('push\udfff', 'd-1'), 'invalid');
  });

  test('Shopify topic, any other header and the content type', () => {
    const shopify = (headers: Record<string, string>) =>
      identify(source('shopify'), request(headers)).kind;
    const base = shopifyHeaders('{}', 'x', 'orders/create', 'e-1');
    assert.equal(shopify(base), 'event');
    assert.equal(shopify({ ...base, 'x-shopify-topic': 'orders/\u0000' }), 'invalid');
    assert.equal(shopify({ ...base, 'x-shopify-event-id': '\udc00' }), 'invalid');
    assert.equal(shopify({ ...base, 'x-extra': 'a\u0000b' }), 'invalid');
    assert.equal(shopify({ ...base, 'content-type': 'application/json\u0000' }), 'invalid');
    assert.equal(github('push', 'd-1', { 'x-extra': 'ok\u00ff' }), 'event');
  });
});
