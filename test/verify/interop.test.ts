// Requests signed by the providers' official SDKs must verify; every way of getting a request
// wrong must be refused with its code. Each test runs on every verifier build.
import '@shopify/shopify-api/adapters/node';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApiVersion, LogSeverity, shopifyApi } from '@shopify/shopify-api';
import { getHmac } from '@shopify/shopify-api/test-helpers';
import { verifySlackRequest } from '@slack/bolt';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import {
  MAX_SIGNATURES_PER_HEADER,
  VerifierConfigError,
  type VerifierOptions,
  type VerifyInput,
  type VerifyResult,
} from '../../src/verify/index.ts';
import {
  githubHeaders,
  shopifyHeaders,
  slackHeaders,
  standardWebhooksHeaders,
  standardWebhooksV1aSignature,
  stripeHeaders,
} from '../helpers/sign.ts';
import { BUILDS } from '../helpers/verifiers.ts';

const BODY = JSON.stringify({ id: 'evt_1', type: 'payment_intent.succeeded', note: 'héllo ✓' });
const STRIPE = 'whsec_test_stripe_secret';
const SW = `whsec_${randomBytes(32).toString('base64')}`;
const NOW = Math.floor(Date.now() / 1000);

const codeOf = (r: VerifyResult) => (r.ok ? 'ok' : r.error.code);

for (const build of BUILDS) {
  const check = (options: VerifierOptions, input: VerifyInput) => build.verify(options, input);

  describe(`official signers on ${build.name}`, () => {
    test('stripe SDK signature verifies; several v1 and a v0 are fine', async () => {
      const headers = stripeHeaders(BODY, STRIPE);
      assert.equal(
        codeOf(await check({ provider: 'stripe', secret: STRIPE }, { body: BODY, headers })),
        'ok',
      );
      const [t, v1] = (headers['stripe-signature'] ?? '').split(',');
      const many = `${t},v1=${'0'.repeat(64)},${v1},v0=abc`;
      const r = await check(
        { provider: 'stripe', secret: STRIPE },
        { body: BODY, headers: { 'stripe-signature': many } },
      );
      assert.equal(codeOf(r), 'ok');
    });

    test('octokit sign() verifies, also as Buffer body and Fetch Headers', async () => {
      const headers = await githubHeaders(BODY, 'gh-secret', 'push', 'd-1');
      const opts = { provider: 'github', secret: 'gh-secret' } as const;
      assert.equal(codeOf(await check(opts, { body: BODY, headers })), 'ok');
      assert.equal(
        codeOf(await check(opts, { body: Buffer.from(BODY), headers: new Headers(headers) })),
        'ok',
      );
    });

    test('standardwebhooks and svix signers verify', async () => {
      const id = 'msg_abc';
      const headers = standardWebhooksHeaders(BODY, SW, id);
      const opts = { provider: 'standard-webhooks', secret: SW } as const;
      assert.equal(codeOf(await check(opts, { body: BODY, headers })), 'ok');
      const at = new Date();
      const svixSig = new SvixWebhook(SW).sign(id, at, BODY);
      const svixHeaders = {
        'svix-id': id,
        'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
        'svix-signature': svixSig,
      };
      assert.equal(codeOf(await check(opts, { body: BODY, headers: svixHeaders })), 'ok');
    });

    test('standard webhooks v1a with a fresh Ed25519 key', async () => {
      const { generateKeyPairSync } = await import('node:crypto');
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
      const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
      const ts = String(NOW);
      const sig = standardWebhooksV1aSignature(seed, `m1.${ts}.${BODY}`);
      const headers = { 'webhook-id': 'm1', 'webhook-timestamp': ts, 'webhook-signature': sig };
      const opts = {
        provider: 'standard-webhooks',
        secret: `whpk_${pub.toString('base64')}`,
      } as const;
      assert.equal(codeOf(await check(opts, { body: BODY, headers })), 'ok');
      const wrongPub = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x ?? '';
      const other = {
        ...opts,
        secret: `whpk_${Buffer.from(wrongPub, 'base64url').toString('base64')}`,
      };
      assert.equal(codeOf(await check(other, { body: BODY, headers })), 'signature_invalid');
    });

    test('slack: our test signer agrees with Bolt, and the verifier accepts it', async () => {
      const headers = slackHeaders(BODY, 'slack-secret');
      verifySlackRequest({
        signingSecret: 'slack-secret',
        body: BODY,
        headers: {
          'x-slack-signature': headers['x-slack-signature'] ?? '',
          'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']),
        },
      });
      assert.equal(
        codeOf(await check({ provider: 'slack', secret: 'slack-secret' }, { body: BODY, headers })),
        'ok',
      );
    });

    test('shopify getHmac signature verifies, X-Shopify-* and events header families', async () => {
      const opts = { provider: 'shopify', secret: 'shpss_1' } as const;
      for (const family of ['webhooks', 'events'] as const) {
        const headers = shopifyHeaders(BODY, 'shpss_1', 'orders/create', 'e1', family);
        assert.equal(codeOf(await check(opts, { body: BODY, headers })), 'ok', family);
        const fetchHeaders = new Headers(headers);
        assert.equal(codeOf(await check(opts, { body: BODY, headers: fetchHeaders })), 'ok');
      }
    });

    test('generic hmac: prefix, base64, sha512, timestamp template', async () => {
      const { createHmac } = await import('node:crypto');
      const mac = (alg: string, enc: 'hex' | 'base64', s: string) =>
        createHmac(alg, 'k').update(s).digest(enc);
      const plain = {
        provider: 'hmac',
        secret: 'k',
        header: 'X-Signature',
        prefix: 'sha256=',
      } as const;
      const hex = { 'x-signature': `sha256=${mac('sha256', 'hex', BODY)}` };
      assert.equal(codeOf(await check(plain, { body: BODY, headers: hex })), 'ok');
      const b64 = { ...plain, algorithm: 'sha512', encoding: 'base64', prefix: '' } as const;
      const b64h = { 'x-signature': mac('sha512', 'base64', BODY) };
      assert.equal(codeOf(await check(b64, { body: BODY, headers: b64h })), 'ok');
      const timed = {
        ...plain,
        timestampHeader: 'X-Timestamp',
        idHeader: 'X-Id',
        template: '{id}:{timestamp}:{body}',
      };
      const headers = {
        'x-id': 'i9',
        'x-timestamp': String(NOW),
        'x-signature': `sha256=${mac('sha256', 'hex', `i9:${NOW}:${BODY}`)}`,
      };
      assert.equal(codeOf(await check(timed, { body: BODY, headers })), 'ok');
      const old = { ...headers, 'x-timestamp': String(NOW - 3600) };
      assert.equal(codeOf(await check(timed, { body: BODY, headers: old })), 'signature_invalid');
    });
  });

  describe(`refusals on ${build.name}`, () => {
    test('secret rotation: any configured secret verifies and is reported', async () => {
      const headers = stripeHeaders(BODY, STRIPE);
      const r = await check(
        { provider: 'stripe', secret: ['whsec_new', STRIPE] },
        { body: BODY, headers },
      );
      assert.ok(r.ok);
      assert.equal(r.secretIndex, 1);
      const gh = await githubHeaders(BODY, 'old', 'push', 'd');
      const g = await check(
        { provider: 'github', secret: ['new', 'old'] },
        { body: BODY, headers: gh },
      );
      assert.ok(g.ok && g.secretIndex === 1);
    });

    test('wrong secret and tampered body', async () => {
      const headers = stripeHeaders(BODY, STRIPE);
      assert.equal(
        codeOf(await check({ provider: 'stripe', secret: 'whsec_other' }, { body: BODY, headers })),
        'signature_invalid',
      );
      assert.equal(
        codeOf(await check({ provider: 'stripe', secret: STRIPE }, { body: `${BODY} `, headers })),
        'signature_invalid',
      );
    });

    test('timestamps too old and too new, in both directions, for every timed scheme', async () => {
      for (const offset of [-301, 301, -86_400, 86_400]) {
        const ts = NOW + offset;
        const s = stripeHeaders(BODY, STRIPE, ts);
        assert.equal(
          codeOf(
            await check(
              { provider: 'stripe', secret: STRIPE },
              { body: BODY, headers: s, now: NOW * 1000 },
            ),
          ),
          'timestamp_out_of_tolerance',
        );
        const sl = slackHeaders(BODY, 'x', ts);
        assert.equal(
          codeOf(
            await check(
              { provider: 'slack', secret: 'x' },
              { body: BODY, headers: sl, now: NOW * 1000 },
            ),
          ),
          'timestamp_out_of_tolerance',
        );
        const sw = standardWebhooksHeaders(BODY, SW, 'm', new Date(ts * 1000));
        assert.equal(
          codeOf(
            await check(
              { provider: 'standard-webhooks', secret: SW },
              { body: BODY, headers: sw, now: NOW * 1000 },
            ),
          ),
          'timestamp_out_of_tolerance',
        );
      }
      const edge = stripeHeaders(BODY, STRIPE, NOW + 290);
      assert.equal(
        codeOf(
          await check(
            { provider: 'stripe', secret: STRIPE },
            { body: BODY, headers: edge, now: NOW * 1000 },
          ),
        ),
        'ok',
      );
      const wide = stripeHeaders(BODY, STRIPE, NOW - 3000);
      assert.equal(
        codeOf(
          await check(
            { provider: 'stripe', secret: STRIPE, tolerance: 3600 },
            { body: BODY, headers: wide, now: NOW * 1000 },
          ),
        ),
        'ok',
      );
    });

    test('a forged request with a stale timestamp says signature_invalid, not the time', async () => {
      const s = stripeHeaders(BODY, 'whsec_forger', NOW - 9999);
      assert.equal(
        codeOf(await check({ provider: 'stripe', secret: STRIPE }, { body: BODY, headers: s })),
        'signature_invalid',
      );
    });

    test('missing, duplicated and garbled headers', async () => {
      const good = stripeHeaders(BODY, STRIPE)['stripe-signature'] ?? '';
      const cases: Record<string, string | string[]>[] = [
        {},
        { 'stripe-signature': [good, good] },
        { 'stripe-signature': '' },
        { 'stripe-signature': 'garbage' },
        { 'stripe-signature': 't=,v1=' },
        { 'stripe-signature': `t=1e9,v1=${'a'.repeat(64)}` },
        { 'stripe-signature': `${good},t=${NOW}` },
        { 'stripe-signature': good.replace(/v1=./, 'v1=z') },
      ];
      for (const headers of cases) {
        const r = await check({ provider: 'stripe', secret: STRIPE }, { body: BODY, headers });
        assert.equal(codeOf(r), 'signature_invalid', JSON.stringify(headers));
      }
      const gh = await githubHeaders(BODY, 's', 'push', 'd');
      const ghCases = [
        {},
        { 'x-hub-signature-256': [gh['x-hub-signature-256'] ?? '', 'sha256=00'] },
        { 'x-hub-signature-256': (gh['x-hub-signature-256'] ?? '').replace('sha256=', 'sha1=') },
        { 'x-hub-signature-256': 'sha256=XYZ' },
        { 'x-hub-signature': 'sha1=0000000000000000000000000000000000000000' },
      ];
      for (const headers of ghCases) {
        const r = await check({ provider: 'github', secret: 's' }, { body: BODY, headers });
        assert.equal(codeOf(r), 'signature_invalid', JSON.stringify(headers));
      }
    });

    test('github sha1 only when allowed', async () => {
      const { createHmac } = await import('node:crypto');
      const headers = {
        'x-hub-signature': `sha1=${createHmac('sha1', 's').update(BODY).digest('hex')}`,
      };
      assert.equal(
        codeOf(await check({ provider: 'github', secret: 's' }, { body: BODY, headers })),
        'signature_invalid',
      );
      assert.equal(
        codeOf(
          await check(
            { provider: 'github', secret: 's', allowSha1: true },
            { body: BODY, headers },
          ),
        ),
        'ok',
      );
    });
  });
}

// A forged header may carry any number of candidate signatures, and each costs a MAC or an
// Ed25519 check. At most MAX_SIGNATURES_PER_HEADER are examined: a header with more is refused
// before any is verified — even when the genuine one comes first. The official libraries have
// no cap; they agree with us up to the cap, which no genuine sender comes near.
const stripeSdk = new Stripe('sk_test_offline');
const bogusHex = () => randomBytes(32).toString('hex');
const bogusB64 = (n: number) => randomBytes(n).toString('base64');

/** `n` entries, all forged except the genuine one at `at` (0-based; -1 for none). */
function list(n: number, at: number, genuine: string, forged: () => string): string[] {
  return Array.from({ length: n }, (_, i) => (i === at ? genuine : forged()));
}

test('the cap is ten signatures per header', () => {
  assert.equal(MAX_SIGNATURES_PER_HEADER, 10);
});

for (const build of BUILDS) {
  const check = (options: VerifierOptions, input: VerifyInput) => build.verify(options, input);

  describe(`signatures per header on ${build.name}`, () => {
    test('stripe: 10 v1 with the genuine last verify (as in stripe-node); 11 or 170 are refused', async () => {
      const opts = { provider: 'stripe', secret: STRIPE } as const;
      const [t, v1] = (stripeHeaders(BODY, STRIPE)['stripe-signature'] ?? '').split(',');
      const header = (entries: string[]) => [t, ...entries].join(',');
      const forged = () => `v1=${bogusHex()}`;
      const ten = header([...list(10, 9, v1 ?? '', forged), 'v0=abc', 'v2=def']);
      assert.equal(
        codeOf(await check(opts, { body: BODY, headers: { 'stripe-signature': ten } })),
        'ok',
      );
      // The official verifier accepts the same header: up to the cap we agree with it.
      assert.ok(stripeSdk.webhooks.constructEvent(BODY, ten, STRIPE));
      for (const [n, at] of [
        [11, 0],
        [11, 10],
        [170, 169],
      ] as const) {
        const r = await check(opts, {
          body: BODY,
          headers: { 'stripe-signature': header(list(n, at, v1 ?? '', forged)) },
        });
        assert.equal(codeOf(r), 'signature_invalid', `${n} signatures, genuine at ${at}`);
      }
      // Malformed v1 entries count too: they are candidates a forger may send.
      const padded = header([...Array.from({ length: 10 }, () => 'v1=zz'), v1 ?? '']);
      assert.equal(
        codeOf(await check(opts, { body: BODY, headers: { 'stripe-signature': padded } })),
        'signature_invalid',
      );
    });

    test('standard webhooks v1: 10 with the genuine last verify (as in standardwebhooks); 11 or 170 are refused', async () => {
      const opts = { provider: 'standard-webhooks', secret: SW } as const;
      const signed = standardWebhooksHeaders(BODY, SW, 'msg_cap');
      const genuine = signed['webhook-signature'] ?? '';
      const forged = () => `v1,${bogusB64(32)}`;
      const withSig = (entries: string[]) => ({
        ...signed,
        'webhook-signature': entries.join(' '),
      });
      const ten = withSig([...list(10, 9, genuine, forged), 'v2,unknown', 'v1b,x']);
      assert.equal(codeOf(await check(opts, { body: BODY, headers: ten })), 'ok');
      assert.doesNotThrow(() => new StandardWebhook(SW).verify(BODY, ten));
      for (const [n, at] of [
        [11, 0],
        [11, 10],
        [170, 169],
      ] as const) {
        const r = await check(opts, { body: BODY, headers: withSig(list(n, at, genuine, forged)) });
        assert.equal(codeOf(r), 'signature_invalid', `${n} signatures, genuine at ${at}`);
      }
      // Entries of unknown versions are skipped, not counted.
      const unknown = withSig([...Array.from({ length: 30 }, () => `v2,${bogusB64(32)}`), genuine]);
      assert.equal(codeOf(await check(opts, { body: BODY, headers: unknown })), 'ok');
    });

    test('standard webhooks v1a (Ed25519): 10 verify, 11 or 170 are refused; v1 and v1a share the cap', async () => {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
      const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
      const opts = {
        provider: 'standard-webhooks',
        secret: [SW, `whpk_${pub.toString('base64')}`],
      } as const;
      const ts = String(NOW);
      const genuine = standardWebhooksV1aSignature(seed, `m1.${ts}.${BODY}`);
      const forged = () => `v1a,${bogusB64(64)}`;
      const headers = (entries: string[]) => ({
        'webhook-id': 'm1',
        'webhook-timestamp': ts,
        'webhook-signature': entries.join(' '),
      });
      const ten = await check(opts, { body: BODY, headers: headers(list(10, 9, genuine, forged)) });
      assert.equal(codeOf(ten), 'ok');
      assert.ok(ten.ok && ten.secretIndex === 1);
      for (const [n, at] of [
        [11, 0],
        [11, 10],
        [170, 169],
      ] as const) {
        const r = await check(opts, { body: BODY, headers: headers(list(n, at, genuine, forged)) });
        assert.equal(codeOf(r), 'signature_invalid', `${n} signatures, genuine at ${at}`);
      }
      const v1 = () => `v1,${bogusB64(32)}`;
      const mixedTen = [...list(4, -1, '', v1), ...list(6, 5, genuine, forged)];
      assert.equal(codeOf(await check(opts, { body: BODY, headers: headers(mixedTen) })), 'ok');
      const mixedEleven = [...list(5, -1, '', v1), ...list(6, 0, genuine, forged)];
      assert.equal(
        codeOf(await check(opts, { body: BODY, headers: headers(mixedEleven) })),
        'signature_invalid',
      );
    });
  });
}

// Shopify, over real HTTP on loopback: one server judges every request with the official
// `shopify.webhooks.validate` (node adapter, the raw request) and with both Hookyard builds (the
// raw body bytes and Node's `req.headers`, as ingest gives them). Where the library refuses —
// a required header of the family it reads missing or empty, an empty body, a signature that
// is not its own base64 text — Hookyard refuses too, with `signature_invalid`.
describe('shopify: Hookyard refuses what @shopify/shopify-api refuses', () => {
  const SECRET = 'shpss_interop';
  const shopify = shopifyApi({
    apiKey: 'hookyard-test',
    apiSecretKey: SECRET,
    hostName: '127.0.0.1',
    apiVersion: ApiVersion.July25,
    isEmbeddedApp: false,
    logger: { level: LogSeverity.Error, log: async () => {} },
  });
  interface Judged {
    library: { valid: boolean; reason?: string };
    hookyard: Record<string, string>;
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const bytes = Buffer.concat(chunks);
        const library = await shopify.webhooks.validate({
          rawBody: bytes.toString('utf8'),
          rawRequest: req,
          rawResponse: res,
        });
        const hookyard: Record<string, string> = {};
        for (const build of BUILDS) {
          const r = await build.verify(
            { provider: 'shopify', secret: SECRET },
            { body: bytes, headers: req.headers },
          );
          hookyard[build.name] = codeOf(r);
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ library, hookyard }));
      })();
    });
  });
  let url = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function judge(body: string, headers: Record<string, string>): Promise<Judged> {
    const response = await fetch(url, { method: 'POST', headers, body });
    return (await response.json()) as Judged;
  }
  async function expect(body: string, headers: Record<string, string>, accepted: boolean) {
    const label = JSON.stringify(headers);
    const judged = await judge(body, headers);
    assert.equal(judged.library.valid, accepted, `library on ${label}: ${judged.library.reason}`);
    for (const build of BUILDS) {
      assert.equal(
        judged.hookyard[build.name],
        accepted ? 'ok' : 'signature_invalid',
        `${build.name} on ${label}`,
      );
    }
  }
  const without = (headers: Record<string, string>, name: string) =>
    Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name));

  // A body whose HMAC holds a `+` or `/`, so its url-alphabet spelling differs.
  let body = BODY;
  for (let n = 0; !/[+/]/.test(getHmac(body, SECRET)); n++) body = JSON.stringify({ id: n });

  for (const family of ['webhooks', 'events'] as const) {
    const p = family === 'webhooks' ? 'x-shopify-' : 'shopify-';
    const complete = shopifyHeaders(body, SECRET, 'orders/create', 'e-1', family);
    const hmac = complete[`${p}hmac-sha256`] ?? '';

    test(`${family} family: a complete request is accepted by both`, async () => {
      await expect(body, complete, true);
      // Optional headers are optional.
      await expect(body, without(without(complete, `${p}event-id`), `${p}triggered-at`), true);
    });

    for (const name of ['hmac-sha256', 'topic', 'shop-domain', 'api-version', 'webhook-id']) {
      test(`${family} family: ${p}${name} missing or empty is refused by both`, async () => {
        await expect(body, without(complete, `${p}${name}`), false);
        await expect(body, { ...complete, [`${p}${name}`]: '' }, false);
      });
    }

    test(`${family} family: a signature that is not the library's base64 text is refused by both`, async () => {
      const last = hmac.at(-2) ?? 'A';
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      // Same 32 bytes to a lenient decoder: the two spare bits of the last character set.
      const spareBits = `${hmac.slice(0, -2)}${alphabet[alphabet.indexOf(last) + 1] ?? 'B'}=`;
      for (const variant of [
        hmac.replace(/=$/, ''),
        hmac.replaceAll('+', '-').replaceAll('/', '_'),
        spareBits,
        ` ${hmac}x`.trim(),
        createHmac('sha256', 'other').update(body).digest('base64'),
        createHmac('sha256', SECRET).update(body).digest('hex'),
      ]) {
        await expect(body, { ...complete, [`${p}hmac-sha256`]: variant }, false);
      }
    });

    test(`${family} family: an empty body is refused by both, even correctly signed`, async () => {
      await expect('', { ...complete, [`${p}hmac-sha256`]: getHmac('', SECRET) }, false);
    });
  }

  test('one family per request: the events family wins when shopify-hmac-sha256 is set', async () => {
    const classic = shopifyHeaders(body, SECRET, 'orders/create', 'e-2', 'webhooks');
    const events = shopifyHeaders(body, SECRET, 'orders/create', 'e-2', 'events');
    // The events HMAC, with the other required headers only in the classic family.
    await expect(
      body,
      { ...classic, 'shopify-hmac-sha256': events['shopify-hmac-sha256'] ?? '' },
      false,
    );
    // A complete classic request with a wrong events HMAC: the library checks the events one.
    await expect(body, { ...classic, 'shopify-hmac-sha256': getHmac(body, 'other') }, false);
    // An empty events HMAC does not select the events family.
    await expect(body, { ...classic, 'shopify-hmac-sha256': '' }, true);
    // A complete events request; a wrong classic HMAC beside it is not read.
    await expect(body, { ...events, 'x-shopify-hmac-sha256': getHmac(body, 'other') }, true);
  });
});

// Options often come from YAML or plain JavaScript: every wrong shape is the verifier's own
// config error (code `verifier_config_invalid`), never a bare TypeError, on both builds.
const BAD_OPTIONS: unknown[] = [
  undefined,
  null,
  'stripe',
  [],
  {},
  { secret: 's' },
  { provider: 'nope', secret: 's' },
  { provider: 42, secret: 's' },
  { provider: 'stripe', secret: '' },
  { provider: 'stripe', secret: undefined },
  { provider: 'stripe' },
  { provider: 'stripe', secret: null },
  { provider: 'stripe', secret: 42 },
  { provider: 'stripe', secret: { key: 's' } },
  { provider: 'stripe', secret: Buffer.from('whsec_x') },
  { provider: 'stripe', secret: [] },
  { provider: 'stripe', secret: ['whsec_x', 42] },
  { provider: 'stripe', secret: ['whsec_x', undefined] },
  { provider: 'stripe', secret: ['whsec_x', ''] },
  { provider: 'stripe', secret: 'whsec_x', tolerance: '300' },
  { provider: 'stripe', secret: 'whsec_x', tolerance: -1 },
  { provider: 'stripe', secret: 'whsec_x', tolerance: Number.NaN },
  { provider: 'slack', secret: 'x', tolerance: null },
  { provider: 'github', secret: 'trailing\n' },
  { provider: 'github', secret: 'g', allowSha1: 'yes' },
  { provider: 'shopify', secret: undefined },
  { provider: 'standard-webhooks', secret: 'whsec_***' },
  { provider: 'standard-webhooks', secret: 'whsk_abc' },
  { provider: 'standard-webhooks', secret: [undefined] },
  { provider: 'hmac', secret: 's' },
  { provider: 'hmac', secret: 's', header: '' },
  { provider: 'hmac', secret: 's', header: 42 },
  { provider: 'hmac', secret: 's', header: 'X', algorithm: 'md5' },
  { provider: 'hmac', secret: 's', header: 'X', algorithm: 'toString' },
  { provider: 'hmac', secret: 's', header: 'X', encoding: 'base32' },
  { provider: 'hmac', secret: 's', header: 'X', prefix: 5 },
  { provider: 'hmac', secret: 's', header: 'X', timestampHeader: 5 },
  { provider: 'hmac', secret: 's', header: 'X', idHeader: [] },
  { provider: 'hmac', secret: 's', header: 'X', template: 5 },
  { provider: 'hmac', secret: 's', header: 'X', template: 'no body' },
  { provider: 'hmac', secret: 's', header: 'X', template: '{timestamp}{body}' },
];

for (const build of BUILDS) {
  describe(`configuration errors on ${build.name} are thrown at construction`, () => {
    for (const options of BAD_OPTIONS) {
      test(String(JSON.stringify(options)), () => {
        assert.throws(
          () => build.create(options as VerifierOptions),
          (error: unknown) =>
            error instanceof VerifierConfigError && error.code === 'verifier_config_invalid',
        );
      });
    }
  });
}
