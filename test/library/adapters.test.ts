// Each example app (examples/) receives a signed event through its real framework; the
// handler runs once per event, a throwing handler is retried, forged requests are refused.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import express from 'express';
import type { ExampleOptions, RunningExample } from '../../examples/shared.ts';
import { createHookyard } from '../../src/index.ts';
import { engineOf } from '../../src/library.ts';
import { stripeHeaders } from '../helpers/sign.ts';

const SECRET = 'whsec_library_tests';
const dir = mkdtempSync(join(tmpdir(), 'hookyard-lib-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const EXAMPLES: Record<
  string,
  () => Promise<{ start(o: ExampleOptions): Promise<RunningExample> }>
> = {
  'node:http': () => import('../../examples/node-http.ts'),
  express: () => import('../../examples/express.ts'),
  fastify: () => import('../../examples/fastify.ts'),
  'hono (fetch)': () => import('../../examples/hono.ts'),
};

function payment() {
  const id = `evt_${randomUUID()}`;
  return {
    id,
    body: JSON.stringify({
      id,
      type: 'payment_intent.succeeded',
      data: { object: { amount: 1200 } },
    }),
  };
}

async function until(ok: () => boolean, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const [name, load] of Object.entries(EXAMPLES)) {
  describe(`example: ${name}`, () => {
    test('a signed event is stored, acknowledged and handled once; a throw is retried', async () => {
      const calls: { id: string; attempt: number; amount: number }[] = [];
      const failFirst = new Set<string>();
      const app = await (
        await load()
      ).start({
        storage: `sqlite:${join(dir, `${name.replace(/\W/g, '')}.db`)}`,
        stripeSecret: SECRET,
        port: 0,
        onPayment: (id, attempt, amount) => {
          calls.push({ id, attempt, amount });
          if (failFirst.has(id) && attempt === 1) throw new Error('database briefly down');
        },
      });
      try {
        const ok = payment();
        const res = await fetch(app.url, {
          method: 'POST',
          body: ok.body,
          headers: stripeHeaders(ok.body, SECRET),
        });
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as { status: string }).status, 'received');
        await until(() => calls.some((c) => c.id === ok.id));
        // The example reads the amount through the typed payload (`data.object.amount`).
        assert.equal(calls.find((c) => c.id === ok.id)?.amount, 1200);
        // The sender retries: a duplicate, and the handler does not run again.
        const dup = await fetch(app.url, {
          method: 'POST',
          body: ok.body,
          headers: stripeHeaders(ok.body, SECRET),
        });
        assert.equal(((await dup.json()) as { status: string }).status, 'duplicate');

        const flaky = payment();
        failFirst.add(flaky.id);
        await fetch(app.url, {
          method: 'POST',
          body: flaky.body,
          headers: stripeHeaders(flaky.body, SECRET),
        });
        await until(() => calls.some((c) => c.id === flaky.id && c.attempt === 2));

        const forged = await fetch(app.url, {
          method: 'POST',
          body: ok.body.replace('1200', '9999'),
          headers: stripeHeaders(ok.body, SECRET),
        });
        assert.equal(forged.status, 401);
        assert.equal(
          ((await forged.json()) as { error: { code: string } }).error.code,
          'signature_invalid',
        );
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(calls.filter((c) => c.id === ok.id).length, 1);
      } finally {
        await app.close();
      }
    });
  });
}

describe('example: Next.js route handler', () => {
  test('POST(request, { params }) verifies and stores the event', async () => {
    process.env.HOOKYARD_STORAGE = `sqlite:${join(dir, 'next.db')}`;
    process.env.STRIPE_WEBHOOK_SECRET = SECRET;
    const route = await import('../../examples/nextjs/app/webhooks/[source]/route.ts');
    try {
      const p = payment();
      const request = new Request('http://localhost/webhooks/stripe', {
        method: 'POST',
        body: p.body,
        headers: stripeHeaders(p.body, SECRET),
      });
      const res = await route.POST(request, { params: Promise.resolve({ source: 'stripe' }) });
      assert.equal(res.status, 200);
      const { id } = (await res.json()) as { id: string };
      const deadline = Date.now() + 5000;
      for (;;) {
        const e = await engineOf(route.yard).store.getEvent(id);
        if (e?.status === 'delivered') break;
        if (Date.now() > deadline) assert.fail(`event is ${e?.status}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const get = await route.POST(
        new Request('http://localhost/webhooks/nope', { method: 'POST', body: '{}' }),
        {
          params: Promise.resolve({ source: 'nope' }),
        },
      );
      assert.equal(get.status, 404);
    } finally {
      await route.yard.close();
    }
  });
});

describe('the body-parser trap', () => {
  test('express.json() before Hookyard is refused loudly; express.raw() before it works', async () => {
    const yard = createHookyard({
      storage: `sqlite:${join(dir, 'trap.db')}`,
      log_level: 'silent',
      sources: { stripe: { provider: 'stripe', secret: SECRET } },
    });
    const app = express();
    app.post('/parsed/:source', express.json(), yard.express());
    app.post('/raw/:source', express.raw({ type: '*/*' }), yard.express());
    const server: Server = await new Promise((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const p = payment();
      const parsed = await fetch(`${base}/parsed/stripe`, {
        method: 'POST',
        body: p.body,
        headers: stripeHeaders(p.body, SECRET),
      });
      assert.equal(parsed.status, 500);
      assert.match(await parsed.text(), /a body parser ran before hookyard/);
      const raw = await fetch(`${base}/raw/stripe`, {
        method: 'POST',
        body: p.body,
        headers: stripeHeaders(p.body, SECRET),
      });
      assert.equal(raw.status, 200);
    } finally {
      await new Promise((r) => server.close(r));
      await yard.close();
    }
  });

  test('yard.on refuses an unknown source', () => {
    const yard = createHookyard({
      storage: `sqlite:${join(dir, 'unknown.db')}`,
      log_level: 'silent',
      sources: {},
    });
    // The compiler refuses it too when the document is written inline.
    // @ts-expect-error: 'stripe' is not a source of this document
    assert.throws(() => yard.on('stripe', '*', () => {}), /no source named stripe/);
    return yard.close();
  });
});
