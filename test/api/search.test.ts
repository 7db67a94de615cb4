// q= over real HTTP: an event signed by the official `stripe` package, with the customer id
// nested in its body, is found by `GET /api/events?q=cus_…` within a bounded time of its 200,
// on a gateway with SQLite and one with PostgreSQL; q is validated like every parameter; a bulk
// replay takes it too.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { parseConfigText } from '../../src/config.ts';
import { startGateway } from '../../src/gateway.ts';
import { API_TOKEN, SECRETS, SOURCES_YAML, startTestGateway } from '../helpers/gateway.ts';
import { createTestDatabase, POSTGRES_SKIP, type TestDatabase } from '../helpers/postgres.ts';
import { apiFetch } from '../helpers/openapi.ts';
import { stripeHeaders } from '../helpers/sign.ts';

/** How long a search may trail an idle gateway's 200 here: the indexer looks every 250 ms, but
 * on PostgreSQL any transaction left open on the server (another test's) holds it back. */
const BOUND_MS = 5000;

interface Target {
  url: string;
  close(): Promise<void>;
}

const auth = { authorization: `Bearer ${API_TOKEN}` };

async function get(base: string, path: string) {
  const res = await apiFetch(`${base}/api${path}`, { headers: auth });
  return { status: res.status, json: (await res.json()) as any };
}

async function post(base: string, path: string, body: unknown) {
  const res = await apiFetch(`${base}/api${path}`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

/** A Stripe event signed by the stripe package, its customer id nested in data.object. */
async function sendStripe(base: string, customer: string): Promise<string> {
  const body = JSON.stringify({
    id: `evt_${randomUUID().replaceAll('-', '')}`,
    object: 'event',
    type: 'charge.refunded',
    data: {
      object: { id: `ch_3N${randomUUID().slice(0, 12)}`, object: 'charge', customer, amount: 4200 },
    },
  });
  const res = await fetch(`${base}/webhooks/stripe`, {
    method: 'POST',
    body,
    headers: stripeHeaders(body, SECRETS.stripe),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { id: string }).id;
}

const GATEWAYS: { name: string; skip: string | false; start(): Promise<Target> }[] = [
  {
    name: 'SQLite',
    skip: false,
    async start() {
      const gw = await startTestGateway();
      return { url: gw.url, close: () => gw.close() };
    },
  },
  {
    name: 'PostgreSQL',
    skip: POSTGRES_SKIP,
    async start() {
      const db: TestDatabase = await createTestDatabase('hookyard_api_search');
      const yaml = `storage: ${db.url}\nserver: { port: 0 }\n${SOURCES_YAML}`;
      const gateway = await startGateway(parseConfigText(yaml, {}), {
        logger: pino({ level: 'silent' }),
      });
      return {
        url: gateway.url,
        async close() {
          await gateway.close();
          await db.drop();
        },
      };
    },
  },
];

for (const g of GATEWAYS) {
  describe(`GET /api/events?q= on ${g.name}`, { skip: g.skip }, () => {
    let gw: Target;
    before(async () => {
      gw = await g.start();
    });
    after(() => gw?.close());

    test('a signed Stripe event is found by the customer id in its body', async (t) => {
      const customer = `cus_${randomUUID().slice(0, 8)}`;
      await sendStripe(gw.url, 'cus_someone_else');
      const id = await sendStripe(gw.url, customer);
      const acked = performance.now();
      let data: { id: string; source: string }[] = [];
      while (performance.now() - acked < BOUND_MS) {
        const res = await get(gw.url, `/events?q=${customer}`);
        assert.equal(res.status, 200);
        data = res.json.data;
        if (data.length > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const ms = Math.round(performance.now() - acked);
      assert.deepEqual(
        data.map((e) => e.id),
        [id],
        `found within ${BOUND_MS} ms of the 200`,
      );
      t.diagnostic(`found ${ms} ms after the 200`);
      // Upper case, a prefix, and with the other filters.
      const upper = await get(gw.url, `/events?q=${customer.toUpperCase().slice(0, 8)}`);
      assert.deepEqual(
        upper.json.data.map((e: { id: string }) => e.id),
        [id],
      );
      const filtered = await get(gw.url, `/events?q=${customer}&source=stripe&type=charge.*`);
      assert.deepEqual(
        filtered.json.data.map((e: { id: string }) => e.id),
        [id],
      );
      const elsewhere = await get(gw.url, `/events?q=${customer}&source=github`);
      assert.deepEqual(elsewhere.json, { data: [], next_cursor: null });
    });

    test('a bulk replay takes the search: the dry run counts what it finds', async () => {
      const customer = `cus_${randomUUID().slice(0, 8)}`;
      await sendStripe(gw.url, customer);
      await sendStripe(gw.url, customer);
      const deadline = performance.now() + BOUND_MS;
      let events = 0;
      while (performance.now() < deadline) {
        const res = await post(gw.url, '/replay', { q: customer, dry_run: true });
        assert.equal(res.status, 200);
        events = res.json.events;
        if (events === 2) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(events, 2);
    });

    test('q is validated: no word, too long, given twice, mistyped in a body', async () => {
      for (const [query, param] of [
        ['q=%25%25%25', 'q'],
        [`q=${'a'.repeat(201)}`, 'q'],
        ['q=cus_1&q=cus_2', 'q'],
      ] as const) {
        const res = await get(gw.url, `/events?${query}`);
        assert.equal(res.status, 400, query);
        assert.equal(res.json.error.code, 'query_invalid', query);
        assert.equal(res.json.error.param, param, query);
      }
      // An empty q is no search, as for every filter.
      assert.equal((await get(gw.url, '/events?q=')).status, 200);
      for (const q of [42, '', '***']) {
        const res = await post(gw.url, '/replay', { q, dry_run: true });
        assert.equal(res.status, 400, String(q));
        assert.equal(res.json.error.code, 'body_invalid');
        assert.equal(res.json.error.param, 'q');
      }
    });
  });
}
