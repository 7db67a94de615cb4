// The REST API refuses what it was not asked in exactly its own words: hostile and mistyped
// requests on a real gateway on loopback, a mistyped bulk replay that must create nothing,
// 405 with Allow, the bearer scheme in any case, and a store outage answered 503 on SQLite
// and on PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { parseConfigText } from '../../src/config.ts';
import { startGateway } from '../../src/gateway.ts';
import {
  API_TOKEN,
  SECRETS,
  SOURCES_YAML,
  startTestGateway,
  type TestGateway,
} from '../helpers/gateway.ts';
import { checkAnswer } from '../helpers/openapi.ts';
import { createTestDatabase, POSTGRES_SKIP } from '../helpers/postgres.ts';
import { stripeHeaders } from '../helpers/sign.ts';
import { type Sink, startSink } from '../helpers/sink.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
}

/** Any method, path and body (fetch will not send a body with GET), with the API token
 * unless `authorization` says otherwise; every answer is held against the OpenAPI document. */
function call(
  base: string,
  method: string,
  path: string,
  body?: string,
  authorization: string | null = `Bearer ${API_TOKEN}`,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (authorization !== null) headers.authorization = authorization;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const req = request(`${base}/api${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        try {
          checkAnswer({
            method,
            url: `/api${path}`,
            status: res.statusCode ?? 0,
            header: (name) => {
              const value = res.headers[name.toLowerCase()];
              return Array.isArray(value) ? value.join(', ') : value;
            },
            body: text,
          });
        } catch (error) {
          reject(error as Error);
          return;
        }
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const codeOf = (a: Answer) => [a.status, a.json?.error?.code];

async function sendStripe(gw: TestGateway): Promise<string> {
  const body = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'charge.refunded' });
  const res = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
  assert.equal(res.status, 200);
  return ((await res.json()) as { id: string }).id;
}

let gw: TestGateway;
let sink: Sink;
const ids: string[] = [];
before(async () => {
  sink = await startSink();
  gw = await startTestGateway({
    extra:
      `destinations:\n  main: { url: "${sink.url}", backoff_base: 10ms }\n` +
      `  other: { url: "${sink.url}/other" }\n` +
      'routes:\n  - { source: stripe, to: main }\n',
  });
  for (let i = 0; i < 3; i++) ids.push(await sendStripe(gw));
  await sink.waitFor(3);
});
after(async () => {
  await gw.close();
  await sink.close();
});

/** Deliveries of every event so far, as the API shows them. */
async function deliveryCount(): Promise<number> {
  let total = 0;
  for (const id of ids) {
    const detail = await call(gw.url, 'GET', `/events/${id}`);
    assert.equal(detail.status, 200);
    total += detail.json.deliveries.length;
  }
  return total;
}

describe('hostile requests', () => {
  // [method, path, body, status, code, param]
  const cases: [string, string, string | undefined, number, string, string?][] = [
    // query parameters: wrong types, out of range, unknown values, malformed times
    ['GET', '/rejections?limit=-5', undefined, 400, 'query_invalid', 'limit'],
    ['GET', '/rejections?limit=0', undefined, 400, 'query_invalid', 'limit'],
    ['GET', '/rejections?limit=ten', undefined, 400, 'query_invalid', 'limit'],
    ['GET', '/events?limit=-5', undefined, 400, 'query_invalid', 'limit'],
    ['GET', '/events?limit=0', undefined, 400, 'query_invalid', 'limit'],
    ['GET', '/events?limit=2.5', undefined, 400, 'query_invalid', 'limit'],
    ['GET', '/events?limit=1e2', undefined, 400, 'query_invalid', 'limit'],
    ['GET', '/events?limit=0x10', undefined, 400, 'query_invalid', 'limit'],
    ['GET', '/events?limit=5&limit=6', undefined, 400, 'query_invalid', 'limit'],
    ['GET', '/events?status=deleted', undefined, 400, 'query_invalid', 'status'],
    ['GET', '/events?status=DEAD', undefined, 400, 'query_invalid', 'status'],
    ['GET', '/events?since=yesterday', undefined, 400, 'query_invalid', 'since'],
    ['GET', '/events?since=2024-02-30', undefined, 400, 'query_invalid', 'since'],
    ['GET', '/events?since=2024-13-01T00:00:00Z', undefined, 400, 'query_invalid', 'since'],
    ['GET', '/events?since=Tue%20Mar%2005%202024', undefined, 400, 'query_invalid', 'since'],
    // a local time names no zone; 13 digits are milliseconds mistaken for seconds
    ['GET', '/events?until=2024-05-01T12:00:00', undefined, 400, 'query_invalid', 'until'],
    ['GET', '/events?until=1714564800000', undefined, 400, 'query_invalid', 'until'],
    ['GET', '/events?cursor=bm9wZQ', undefined, 400, 'query_invalid', 'cursor'],
    ['GET', '/events?sourse=stripe', undefined, 400, 'query_invalid', 'sourse'],
    ['GET', '/events?source=stripe&dry_run=true', undefined, 400, 'query_invalid', 'dry_run'],
    ['GET', '/stats?verbose=1', undefined, 400, 'query_invalid', 'verbose'],
    ['GET', '/events/hye_nope?pretty=1', undefined, 400, 'query_invalid', 'pretty'],
    ['GET', '/events', '{"source":"stripe"}', 400, 'body_invalid'],
    // bulk replay bodies: nothing but the exact keys and types runs
    ['POST', '/replay', '', 400, 'body_invalid'],
    ['POST', '/replay', 'dry_run=true', 400, 'body_invalid'],
    ['POST', '/replay', '{"dry_run":true', 400, 'body_invalid'],
    ['POST', '/replay', '[]', 400, 'body_invalid'],
    ['POST', '/replay', 'null', 400, 'body_invalid'],
    ['POST', '/replay', '"all"', 400, 'body_invalid'],
    ['POST', '/replay', '{"dry_run":"true"}', 400, 'body_invalid', 'dry_run'],
    ['POST', '/replay', '{"dry_run":1}', 400, 'body_invalid', 'dry_run'],
    ['POST', '/replay', '{"dry_run":null}', 400, 'body_invalid', 'dry_run'],
    ['POST', '/replay', '{"dryRun":true}', 400, 'body_invalid', 'dryRun'],
    ['POST', '/replay', '{"sourse":"stripe"}', 400, 'body_invalid', 'sourse'],
    ['POST', '/replay', '{"source":""}', 400, 'body_invalid', 'source'],
    ['POST', '/replay', '{"source":["stripe"]}', 400, 'body_invalid', 'source'],
    ['POST', '/replay', '{"status":"deleted"}', 400, 'body_invalid', 'status'],
    ['POST', '/replay', '{"since":"last tuesday"}', 400, 'body_invalid', 'since'],
    ['POST', '/replay', '{"since":-1}', 400, 'body_invalid', 'since'],
    ['POST', '/replay', '{"until":1.5}', 400, 'body_invalid', 'until'],
    ['POST', '/replay', '{"destination":5}', 400, 'body_invalid', 'destination'],
    ['POST', '/replay', '{"__proto__":{"dry_run":true}}', 400, 'body_invalid', '__proto__'],
    ['POST', '/replay', '{"destination":"nowhere"}', 404, 'destination_not_found'],
    // a flag in the URL of a POST is not read, so it is refused rather than ignored
    ['POST', '/replay?dry_run=true', '{}', 400, 'query_invalid', 'dry_run'],
    ['POST', '/replay?source=stripe', '{"dry_run":true}', 400, 'query_invalid', 'source'],
    // one event's replay
    ['POST', '/events/hye_nope/replay', '{"dest":"main"}', 400, 'body_invalid', 'dest'],
    ['POST', '/events/hye_nope/replay', '{"destination":""}', 400, 'body_invalid'],
    ['POST', '/events/hye_nope/replay', '{"dry_run":true}', 400, 'body_invalid', 'dry_run'],
    ['POST', '/events/hye_nope/replay', '[1]', 400, 'body_invalid'],
    ['POST', '/events/hye_nope/replay', '{}', 404, 'not_found'],
    // paths that do not exist
    ['GET', '', undefined, 404, 'not_found'],
    ['GET', '/', undefined, 404, 'not_found'],
    ['GET', '/nothing', undefined, 404, 'not_found'],
    ['GET', '/events/', undefined, 404, 'not_found'],
    ['GET', '/events/hye_nope', undefined, 404, 'not_found'],
    ['GET', '/events/hye_nope/body', undefined, 404, 'not_found'],
    ['GET', '/events/a/b', undefined, 404, 'not_found'],
    ['GET', '/events/..%2Fstats', undefined, 404, 'not_found'],
    ['POST', '/nothing', '{}', 404, 'not_found'],
  ];
  for (const [method, path, body, status, code, param] of cases) {
    test(`${method} /api${path} ${body ?? ''} → ${status} ${code}${param ? ` (${param})` : ''}`, async () => {
      const answer = await call(gw.url, method, path, body);
      assert.deepEqual(codeOf(answer), [status, code]);
      if (param !== undefined) assert.equal(answer.json.error.param, param);
    });
  }

  test('valid queries still answer', async () => {
    for (const path of [
      '/events',
      '/events?limit=1',
      '/events?limit=100000',
      '/events?source=&type=&status=',
      '/events?status=delivered&since=2024-05-01&until=2999-01-01T00:00:00.5%2B02:00',
      `/events?since=${Math.floor(Date.now() / 1000) - 3600}`,
      '/rejections?limit=1',
      '/stats',
    ]) {
      const answer = await call(gw.url, 'GET', path);
      assert.equal(answer.status, 200, path);
    }
    const page = await call(gw.url, 'GET', '/events?limit=100000');
    assert.equal(page.json.data.length, ids.length, 'a limit over 500 is served as 500');
  });
});

describe('a mistyped bulk replay creates nothing', () => {
  test('no deliveries made, none sent, by any refused bulk replay', async () => {
    const before = await deliveryCount();
    assert.equal(before, ids.length);
    const sent = sink.received.length;
    for (const body of [
      '{"dry_run":"true"}',
      '{"dry_run":"false"}',
      '{"sourse":"stripe","dry_run":true}',
      '{"source":"stripe","dry_run":1}',
      '{"status":"dead","statuss":"dead"}',
      '',
    ]) {
      assert.deepEqual(codeOf(await call(gw.url, 'POST', '/replay', body)), [400, 'body_invalid']);
    }
    assert.deepEqual(codeOf(await call(gw.url, 'POST', '/replay?dry_run=true', '{}')), [
      400,
      'query_invalid',
    ]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await deliveryCount(), before, 'no delivery was created');
    assert.equal(sink.received.length, sent, 'nothing was redelivered');
  });

  test('dry_run true counts and creates nothing; the real run creates', async () => {
    const before = await deliveryCount();
    const dry = await call(gw.url, 'POST', '/replay', '{"source":"stripe","dry_run":true}');
    assert.equal(dry.status, 200);
    assert.deepEqual(dry.json, { dry_run: true, events: 3, deliveries: 3, truncated: false });
    assert.equal(await deliveryCount(), before);
    const stringTrue = await call(gw.url, 'POST', '/replay', '{"dry_run":"true"}');
    assert.deepEqual(codeOf(stringTrue), [400, 'body_invalid']);
    assert.equal(await deliveryCount(), before);

    const sent = sink.received.length;
    const real = await call(gw.url, 'POST', '/replay', '{"source":"stripe","dry_run":false}');
    assert.equal(real.status, 202);
    assert.deepEqual(real.json, { dry_run: false, events: 3, deliveries: 3, truncated: false });
    assert.equal(await deliveryCount(), before + 3);
    await sink.waitFor(sent + 3);
  });

  test('one event: an empty body or a destination', async () => {
    const id = ids[0] as string;
    const before = await deliveryCount();
    const empty = await call(gw.url, 'POST', `/events/${id}/replay`, '');
    assert.equal(empty.status, 202);
    const named = await call(gw.url, 'POST', `/events/${id}/replay`, '{"destination":"other"}');
    assert.equal(named.status, 202);
    assert.deepEqual(
      named.json.deliveries.map((d: { destination: string }) => d.destination),
      ['other'],
    );
    assert.equal(await deliveryCount(), before + 2);
  });
});

describe('405 method_not_allowed with Allow', () => {
  const cases: [string, string, string][] = [
    ['DELETE', '/events', 'GET, HEAD'],
    ['POST', '/events', 'GET, HEAD'],
    ['PUT', '/events/hye_x', 'GET, HEAD'],
    ['DELETE', '/events/hye_x', 'GET, HEAD'],
    ['POST', '/events/hye_x/body', 'GET, HEAD'],
    ['GET', '/replay', 'POST'],
    ['DELETE', '/replay', 'POST'],
    ['GET', '/events/hye_x/replay', 'POST'],
    ['PATCH', '/events/hye_x/replay', 'POST'],
    ['POST', '/rejections', 'GET, HEAD'],
    ['OPTIONS', '/stats', 'GET, HEAD'],
  ];
  for (const [method, path, allow] of cases) {
    test(`${method} /api${path} → 405, Allow: ${allow}`, async () => {
      const answer = await call(gw.url, method, path, method === 'GET' ? undefined : '{}');
      assert.deepEqual(codeOf(answer), [405, 'method_not_allowed']);
      assert.equal(answer.headers.allow, allow);
    });
  }

  test('HEAD is GET without a body', async () => {
    const answer = await call(gw.url, 'HEAD', '/events');
    assert.equal(answer.status, 200);
    assert.equal(answer.json, undefined);
  });

  test('without the token, 401 comes first: routes are not revealed', async () => {
    const answer = await call(gw.url, 'DELETE', '/events', undefined, null);
    assert.deepEqual(codeOf(answer), [401, 'unauthorized']);
  });
});

describe('bearer scheme', () => {
  for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
    test(`"${scheme} <token>" is accepted`, async () => {
      assert.equal(
        (await call(gw.url, 'GET', '/stats', undefined, `${scheme} ${API_TOKEN}`)).status,
        200,
      );
    });
  }
  for (const header of [
    `bearer ${API_TOKEN}x`,
    `bearer ${API_TOKEN.slice(0, -1)}`,
    `BEARER wrong`,
    `Basic ${Buffer.from(`user:${API_TOKEN}`).toString('base64')}`,
    `Token ${API_TOKEN}`,
    `Bearer${API_TOKEN}`,
    `bearer`,
    API_TOKEN,
    '',
  ]) {
    test(`"${header.slice(0, 24)}" is refused`, async () => {
      const answer = await call(gw.url, 'GET', '/stats', undefined, header);
      assert.deepEqual(codeOf(answer), [401, 'unauthorized']);
      assert.equal(answer.headers['www-authenticate'], 'Bearer');
    });
  }
});

/** Every route that reads or writes the store answers 503 + Retry-After: 5. */
async function assertOutage(base: string, id: string) {
  for (const [method, path, body] of [
    ['GET', '/events', undefined],
    ['GET', '/events?source=stripe&limit=5', undefined],
    ['GET', `/events/${id}`, undefined],
    ['GET', `/events/${id}/body`, undefined],
    ['POST', `/events/${id}/replay`, '{}'],
    ['POST', '/replay', '{"dry_run":true}'],
    ['POST', '/replay', '{}'],
  ] as const) {
    const answer = await call(base, method, path, body);
    assert.deepEqual(codeOf(answer), [503, 'storage_unavailable'], `${method} ${path}`);
    assert.equal(answer.headers['retry-after'], '5', `${method} ${path}`);
  }
  // Validation still comes first, and what needs no store still answers.
  assert.deepEqual(codeOf(await call(base, 'GET', '/events?limit=-5')), [400, 'query_invalid']);
  assert.equal((await call(base, 'GET', '/stats')).status, 200);
}

describe('store outage: 503 storage_unavailable', () => {
  test('SQLite: the database closed under the gateway', async () => {
    const local = await startTestGateway({
      extra:
        'destinations:\n  main: { url: "http://127.0.0.1:9/" }\nroutes:\n  - { source: stripe, to: main }\n',
    });
    try {
      const id = await sendStripe(local);
      assert.equal((await call(local.url, 'GET', `/events/${id}`)).status, 200);
      await local.gateway.store.close();
      await assertOutage(local.url, id);
    } finally {
      await local.close();
    }
  });

  test('PostgreSQL: nothing listens where the database was', { skip: POSTGRES_SKIP }, async () => {
    const db = await createTestDatabase('hookyard_api_outage');
    const proxy = await startProxy(new URL(db.url));
    try {
      const storage = new URL(db.url);
      storage.port = String(proxy.port);
      const yaml =
        `storage: ${storage.href}\nserver: { port: 0 }\npostgres: { connect_timeout: 2s }\n${SOURCES_YAML}\n` +
        'destinations:\n  main: { url: "http://127.0.0.1:9/" }\nroutes:\n  - { source: stripe, to: main }\n';
      const gateway = await startGateway(parseConfigText(yaml, {}), {
        logger: pino({ level: 'silent' }),
      });
      try {
        const body = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'charge.refunded' });
        const res = await fetch(`${gateway.url}/webhooks/stripe`, {
          method: 'POST',
          body,
          headers: stripeHeaders(body, SECRETS.stripe),
        });
        const { id } = (await res.json()) as { id: string };
        assert.equal((await call(gateway.url, 'GET', `/events/${id}`)).status, 200);
        await proxy.cut();
        await assertOutage(gateway.url, id);
      } finally {
        // With the database gone, closing waits out the client's 5 s end timeout.
        await gateway.close();
      }
    } finally {
      await proxy.cut();
      await db.drop();
    }
  });
});

/** A TCP relay on loopback to the database; `cut()` closes it and every connection through
 * it, so the store is left pointing at a port where nothing listens. */
async function startProxy(target: URL): Promise<{ port: number; cut(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    async cut() {
      const closed = new Promise((r) => server.close(r));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
