// Replay over the REST API: one event, to its destinations or another; in bulk by filter,
// with a dry run first.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { API_TOKEN, SECRETS, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { api, apiFetch } from '../helpers/openapi.ts';
import { stripeHeaders } from '../helpers/sign.ts';
import { type Sink, startSink } from '../helpers/sink.ts';

let gw: TestGateway;
let main: Sink;
let other: Sink;
before(async () => {
  main = await startSink();
  other = await startSink();
  gw = await startTestGateway({
    extra:
      `destinations:\n  main: { url: "${main.url}", backoff_base: 10ms, max_attempts: 2 }\n` +
      `  other: { url: "${other.url}" }\nroutes:\n  - { source: stripe, to: main }\n`,
  });
});
after(async () => {
  await gw.close();
  await main.close();
  await other.close();
});

const post = (path: string, body: unknown) =>
  apiFetch(`${gw.url}/api${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function send(kind: string) {
  const body = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'charge.refunded', kind });
  const res = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
  return ((await res.json()) as { id: string }).id;
}

async function status(id: string) {
  return ((await (await api(gw, `/events/${id}`)).json()) as { status: string }).status;
}

async function until(check: () => Promise<boolean>, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('replay', () => {
  test('one event again to its destination, then to another one', async () => {
    const id = await send('ok');
    await until(async () => (await status(id)) === 'delivered');
    const before = main.received.length;
    const res = await post(`/events/${id}/replay`, {});
    assert.equal(res.status, 202);
    const { deliveries } = (await res.json()) as {
      deliveries: { id: string; destination: string }[];
    };
    assert.deepEqual(
      deliveries.map((d) => d.destination),
      ['main'],
    );
    await main.waitFor(before + 1);
    assert.equal(main.received.at(-1)?.headers['idempotency-key'], id);
    const to = await post(`/events/${id}/replay`, { destination: 'other' });
    assert.equal(to.status, 202);
    await other.waitFor(1);
    assert.equal(other.received[0]?.headers['idempotency-key'], id);
  });

  test('a dead event replayed after the app is fixed ends delivered', async () => {
    main.respond = (r) => (r.body.includes('"broken"') ? { status: 500 } : { status: 200 });
    const id = await send('broken');
    await until(async () => (await status(id)) === 'dead');
    main.respond = () => ({ status: 200 });
    assert.equal((await post(`/events/${id}/replay`, '')).status, 202);
    await until(async () => (await status(id)) === 'delivered');
  });

  test('bulk: dry run counts, the real run creates, filters apply', async () => {
    main.respond = (r) => (r.body.includes('"bulk"') ? { status: 500 } : { status: 200 });
    const ids = [await send('bulk'), await send('bulk'), await send('bulk')];
    for (const id of ids) await until(async () => (await status(id)) === 'dead');
    main.respond = () => ({ status: 200 });
    const dry = await post('/replay', { status: 'dead', source: 'stripe', dry_run: true });
    assert.equal(dry.status, 200);
    assert.deepEqual(await dry.json(), {
      dry_run: true,
      events: 3,
      deliveries: 3,
      truncated: false,
    });
    for (const id of ids) assert.equal(await status(id), 'dead', 'a dry run changes nothing');
    const real = await post('/replay', { status: 'dead' });
    assert.equal(real.status, 202);
    assert.deepEqual(await real.json(), {
      dry_run: false,
      events: 3,
      deliveries: 3,
      truncated: false,
    });
    for (const id of ids) await until(async () => (await status(id)) === 'delivered');
    const none = await post('/replay', { status: 'dead', dry_run: true });
    assert.equal(((await none.json()) as { events: number }).events, 0);
  });

  test('errors', async () => {
    const codeOf = async (res: Response) => [
      res.status,
      ((await res.json()) as { error: { code: string } }).error.code,
    ];
    assert.deepEqual(await codeOf(await post('/events/hye_nope/replay', {})), [404, 'not_found']);
    const id = await send('ok');
    assert.deepEqual(await codeOf(await post(`/events/${id}/replay`, { destination: 'nowhere' })), [
      404,
      'destination_not_found',
    ]);
    assert.deepEqual(await codeOf(await post(`/events/${id}/replay`, '[1]')), [
      400,
      'body_invalid',
    ]);
    assert.deepEqual(await codeOf(await post('/replay', { since: 'last tuesday' })), [
      400,
      'body_invalid',
    ]);
    assert.deepEqual(await codeOf(await api(gw, `/events/${id}/replay`)), [
      405,
      'method_not_allowed',
    ]);
    const unauth = await apiFetch(`${gw.url}/api/replay`, { method: 'POST', body: '{}' });
    assert.equal(unauth.status, 401);
  });
});
