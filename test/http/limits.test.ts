// Oversized and slow requests, and a store that cannot commit: each refused with its status
// and code, nothing falsely acknowledged, and the server healthy afterwards.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { SECRETS, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rawExchange } from '../helpers/raw.ts';
import { stripeHeaders } from '../helpers/sign.ts';

let gw: TestGateway;
/** The gateway's error lines. */
const errors: { msg: string; failedSinceLastLine?: number }[] = [];
before(async () => {
  gw = await startTestGateway({
    server: 'body_limit: 64kb, request_timeout: 1s',
    logger: pino({ level: 'error' }, { write: (line: string) => errors.push(JSON.parse(line)) }),
  });
});
after(() => gw.close());

const event = () => JSON.stringify({ id: `evt_${randomUUID()}`, type: 'x' });

async function stillAccepting() {
  assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
  const body = event();
  const res = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
  assert.equal(res.status, 200);
}

describe('body limit', () => {
  test('a declared oversized body is refused with 413 before any of it is sent', async () => {
    const ex = await rawExchange(gw.url, [
      'POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${10 * 1024 * 1024}\r\n\r\n`,
    ]);
    assert.match(ex.response, /^HTTP\/1\.1 413 /);
    assert.match(ex.response, /"code":"body_too_large"/);
    assert.match(ex.response, /connection: close/i);
    assert.ok(ex.closedByServer);
    await stillAccepting();
  });

  test('a chunked body is cut off with 413 as soon as it passes the limit', async () => {
    const chunk = 'a'.repeat(16 * 1024);
    const frame = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    // 6 × 16 KiB = 96 KiB offered against a 64 KiB limit; the rest (4 MiB more) never needed.
    const writes: (string | { pauseMs: number })[] = [
      'POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    ];
    for (let i = 0; i < 6; i++) writes.push(frame, { pauseMs: 20 });
    const ex = await rawExchange(gw.url, writes);
    assert.match(ex.response, /^HTTP\/1\.1 413 /);
    assert.match(ex.response, /"code":"body_too_large"/);
    await stillAccepting();
  });

  test('a body exactly at the limit is read (and then judged by its signature)', async () => {
    const body = `{"id":"evt_${randomUUID()}","pad":"${'x'.repeat(64 * 1024 - 60)}"}`.padEnd(
      64 * 1024,
      ' ',
    );
    assert.equal(Buffer.byteLength(body), 64 * 1024);
    const res = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
    assert.equal(res.status, 200);
  });
});

describe('slow senders', () => {
  test('a body still arriving after request_timeout gets 408 request_timeout', async () => {
    const body = event();
    const headers = stripeHeaders(body, SECRETS.stripe);
    const ex = await rawExchange(gw.url, [
      'POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Stripe-Signature: ${headers['stripe-signature']}\r\nContent-Length: ${body.length}\r\n\r\n`,
      body.slice(0, 10),
      { pauseMs: 3000 },
      body.slice(10),
    ]);
    assert.match(ex.response, /^HTTP\/1\.1 408 /);
    assert.match(ex.response, /"code":"request_timeout"/);
    assert.ok(
      ex.firstByteMs >= 900 && ex.firstByteMs < 2900,
      `answered after ${ex.firstByteMs} ms`,
    );
    const rejections = (await (await gw.api('/rejections')).json()) as {
      data: { code: string; source: string }[];
    };
    assert.ok(rejections.data.some((r) => r.code === 'request_timeout' && r.source === 'stripe'));
    await stillAccepting();
  });
});

describe('storage unavailable', () => {
  test('while another process holds the write lock: 503 + Retry-After, never 200; then recovery', async () => {
    // A separate process takes SQLite's write lock, as a stuck maintenance job would.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const { DatabaseSync } = require('node:sqlite');
         const db = new DatabaseSync(process.argv[1]);
         db.exec('BEGIN EXCLUSIVE');
         process.stdout.write('locked\\n');
         setInterval(() => {}, 1000);`,
        gw.dbPath,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await once(holder.stdout, 'data');
      const logged = errors.length;
      const body = event();
      const res = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
      assert.equal(res.status, 503);
      for (let i = 0; i < 3; i++) {
        const other = event();
        const r = await gw.post('stripe', other, stripeHeaders(other, SECRETS.stripe));
        assert.equal(r.status, 503);
      }
      // One error line for the outage so far, not one per request.
      assert.deepEqual(
        errors.slice(logged).map((e) => [e.msg, e.failedSinceLastLine]),
        [['store failed; answering 503', 0]],
      );
      assert.equal(res.headers.get('retry-after'), '5');
      assert.equal(
        ((await res.json()) as { error: { code: string } }).error.code,
        'storage_unavailable',
      );
      assert.equal((await fetch(`${gw.url}/readyz`)).status, 503);
      assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
      holder.kill('SIGKILL');
      await once(holder, 'exit');
      // Ready again without any event having arrived since (a load balancer would send none).
      assert.equal((await fetch(`${gw.url}/readyz`)).status, 200);
      // The same event, retried by its sender, is now stored: it was not half-stored before.
      const retry = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
      assert.equal(retry.status, 200);
      assert.equal(((await retry.json()) as { status: string }).status, 'received');
      assert.equal((await fetch(`${gw.url}/readyz`)).status, 200);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
