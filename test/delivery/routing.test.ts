import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config.ts';
import { backoffMs, judge, retryAfterMs } from '../../src/delivery/policy.ts';
import { holds, Router } from '../../src/delivery/router.ts';
import { unsafeAddress } from '../../src/ssrf.ts';

describe('router', () => {
  const router = new Router([
    {
      source: 'stripe',
      events: ['payment_intent.*', 'charge.refunded'],
      filter: {},
      to: ['billing'],
    },
    {
      source: 'stripe',
      events: ['*'],
      filter: { '$.data.object.amount': { $gte: 1000 } },
      to: ['big', 'billing'],
    },
    { source: 'github', events: ['push'], filter: { '$.ref': 'refs/heads/main' }, to: ['deploys'] },
    {
      source: 'github',
      events: [],
      filter: { '$.action': { $in: ['opened', 'edited'] }, '$.pull_request': { $exists: true } },
      to: ['reviews'],
    },
  ]);
  const ev = (source: string, type: string | null, payload: unknown) => ({
    source,
    type,
    payload: () => payload,
  });

  test('globs, fan-out, each destination once', () => {
    assert.deepEqual(router.route(ev('stripe', 'payment_intent.succeeded', {})), ['billing']);
    assert.deepEqual(
      router.route(ev('stripe', 'charge.refunded', { data: { object: { amount: 5000 } } })),
      ['billing', 'big'],
    );
    assert.deepEqual(
      router.route(ev('stripe', 'charge.captured', { data: { object: { amount: 999 } } })),
      [],
    );
    assert.deepEqual(
      router.route(ev('stripe', 'payment_intentXsucceeded', {})),
      [],
      '. is literal',
    );
    assert.deepEqual(router.route(ev('other', 'push', {})), []);
  });

  test('filters: equality, $in, $exists', () => {
    assert.deepEqual(router.route(ev('github', 'push', { ref: 'refs/heads/main' })), ['deploys']);
    assert.deepEqual(router.route(ev('github', 'push', { ref: 'refs/heads/dev' })), []);
    assert.deepEqual(
      router.route(ev('github', 'pull_request', { action: 'opened', pull_request: {} })),
      ['reviews'],
    );
    assert.deepEqual(
      router.route(ev('github', 'pull_request', { action: 'closed', pull_request: {} })),
      [],
    );
    assert.deepEqual(router.route(ev('github', 'issues', { action: 'opened' })), []);
  });

  test('the payload is parsed only when a filter needs it, and at most once', () => {
    let parses = 0;
    const r = new Router([
      { source: 's', events: ['a'], filter: {}, to: ['x'] },
      { source: 's', events: ['*'], filter: { '$.k': 1 }, to: ['y'] },
      { source: 's', events: ['*'], filter: { '$.k': { $lt: 5 } }, to: ['z'] },
    ]);
    const e = { source: 's', type: 'a', payload: () => (parses++, { k: 1 }) };
    assert.deepEqual(r.route(e), ['x', 'y', 'z']);
    assert.equal(parses, 1);
    const none = new Router([{ source: 's', events: ['a'], filter: {}, to: ['x'] }]);
    none.route({ source: 's', type: 'a', payload: () => assert.fail('parsed without a filter') });
  });

  test('conditions never compare different kinds', () => {
    assert.equal(holds('10', { $gt: 5 }), false);
    assert.equal(holds(10, { $gt: 5, $lte: 10 }), true);
    assert.equal(holds(undefined, { $exists: false }), true);
    assert.equal(holds(null, null), true);
    assert.equal(holds(3, { $nin: [1, 2] }), true);
    assert.equal(holds('b', { $ne: 'b' }), false);
  });
});

describe('retry policy', () => {
  const s = { maxAttempts: 5, backoffBaseMs: 1000, backoffMaxMs: 6000 };
  test('backoff lies in [d/2, d] with d = min(max, base·2^(n−1))', () => {
    assert.equal(
      backoffMs(1, s, () => 0),
      500,
    );
    assert.equal(
      backoffMs(1, s, () => 1),
      1000,
    );
    assert.equal(
      backoffMs(3, s, () => 1),
      4000,
    );
    assert.equal(
      backoffMs(4, s, () => 1),
      6000,
      'capped at backoff_max',
    );
    assert.equal(
      backoffMs(10, s, () => 0),
      3000,
    );
  });
  test('verdicts: 2xx delivered, 410 dead, last attempt dead, Retry-After honoured up to max', () => {
    assert.deepEqual(judge(1, { statusCode: 204 }, s, 0), { status: 'delivered' });
    assert.equal(judge(1, { statusCode: 410 }, s, 0).status, 'dead');
    assert.equal(judge(5, { statusCode: 500 }, s, 0).status, 'dead');
    assert.equal(judge(4, {}, s, 0).status, 'pending', 'a timeout is retried');
    for (let i = 0; i < 50; i++) {
      const v = judge(2, { statusCode: 500 }, s, 1_700_000_000_123);
      assert.ok(v.status === 'pending' && Number.isInteger(v.nextAt), 'whole milliseconds');
    }
    assert.deepEqual(judge(1, { statusCode: 503, retryAfter: '3' }, s, 100), {
      status: 'pending',
      nextAt: 3100,
    });
    assert.deepEqual(judge(1, { statusCode: 429, retryAfter: '99999' }, s, 0), {
      status: 'pending',
      nextAt: 6000,
    });
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(retryAfterMs('soon', 0), undefined);
  });
});

describe('destination and route config', () => {
  const base = 'sources:\n  s: { provider: github, secret: x }\n';
  test('defaults, fan-out and references', () => {
    const c = parseConfigText(
      `${base}destinations:\n  a: { url: "http://127.0.0.1:3000/a", secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw }\n  b: { url: "https://example.com/b", timeout: 2s, max_attempts: 3 }\nroutes:\n  - { source: s, events: push, to: [a, b] }\n`,
      {},
    );
    const a = c.destinations.get('a');
    assert.equal(a?.timeoutMs, 10_000);
    assert.equal(a?.maxAttempts, 12);
    assert.equal(a?.backoffBaseMs, 5000);
    assert.equal(a?.backoffMaxMs, 6 * 3_600_000);
    assert.equal(a?.concurrency, 10);
    assert.equal(c.destinations.get('b')?.timeoutMs, 2000);
    assert.deepEqual(c.routes, [{ source: 's', events: ['push'], filter: {}, to: ['a', 'b'] }]);
  });
  test('refusals name the key', () => {
    const err = (yaml: string) => assert.throws(() => parseConfigText(base + yaml, {}));
    err('destinations:\n  m: { url: "http://169.254.169.254/latest" }\n');
    err('destinations:\n  m: { url: "http://metadata.google.internal/" }\n');
    err('destinations:\n  m: { url: "ftp://x/" }\n');
    err('routes:\n  - { source: nope, to: a }\n');
    err('destinations:\n  a: { url: "http://127.0.0.1/" }\nroutes:\n  - { source: s, to: b }\n');
    err(
      'destinations:\n  a: { url: "http://127.0.0.1/" }\nroutes:\n  - { source: s, to: a, filter: { "$.x": { $regex: "." } } }\n',
    );
    assert.throws(
      () =>
        parseConfigText(
          `${base}destinations:\n  a: { url: "http://127.0.0.1/", rate: fast }\n`,
          {},
        ),
      /destinations\.a\.rate: expected a rate like 50\/s/,
    );
    assert.throws(
      () =>
        parseConfigText(
          `${base}destinations:\n  a: { url: "http://127.0.0.1/", ordering_key: id }\n`,
          {},
        ),
      /destinations\.a\.ordering_key: expected a path/,
    );
    const ok = parseConfigText(
      `${base}destinations:\n  a: { url: "http://127.0.0.1/", rate: 600/m, ordering_key: $.data.object.id }\n`,
      {},
    );
    assert.deepEqual(ok.destinations.get('a')?.rate, { limit: 600, windowMs: 60_000 });
    assert.equal(ok.destinations.get('a')?.orderingKey, '$.data.object.id');
    assert.throws(
      () => parseConfigText(`${base}destinations:\n  m: { url: "http://169.254.169.254/" }\n`, {}),
      /destinations\.m\.url: refused/,
    );
    // Allowed when asked for explicitly:
    parseConfigText(
      `${base}destinations:\n  m: { url: "http://169.254.169.254/", allow_unsafe_url: true }\n`,
      {},
    );
  });
  test('unsafe addresses', () => {
    for (const a of [
      '169.254.169.254',
      '169.254.1.1',
      'fe80::1',
      '::ffff:169.254.169.254',
      'fd00:ec2::254',
      '0.0.0.0',
    ]) {
      assert.ok(unsafeAddress(a), a);
    }
    for (const a of ['127.0.0.1', '10.0.0.1', '::1', '192.168.1.1', '8.8.8.8'])
      assert.equal(unsafeAddress(a), undefined, a);
  });
});
