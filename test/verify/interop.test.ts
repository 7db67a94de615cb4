// Requests signed by the providers' official SDKs must verify; every way of getting a request
// wrong must be refused with its code. Each test runs on every verifier build.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { verifySlackRequest } from '@slack/bolt';
import { Webhook as SvixWebhook } from 'svix';
import {
  createVerifier,
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

    test('shopify getHmac signature verifies, prefixed and unprefixed header', async () => {
      const headers = shopifyHeaders(BODY, 'shpss_1', 'orders/create', 'e1');
      const opts = { provider: 'shopify', secret: 'shpss_1' } as const;
      assert.equal(codeOf(await check(opts, { body: BODY, headers })), 'ok');
      const unprefixed = { 'shopify-hmac-sha256': headers['x-shopify-hmac-sha256'] ?? '' };
      assert.equal(codeOf(await check(opts, { body: BODY, headers: unprefixed })), 'ok');
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

describe('configuration errors are thrown at construction, not per request', () => {
  for (const options of [
    { provider: 'stripe', secret: '' },
    { provider: 'stripe', secret: [] },
    { provider: 'github', secret: 'trailing\n' },
    { provider: 'standard-webhooks', secret: 'whsec_***' },
    { provider: 'standard-webhooks', secret: 'whsk_abc' },
    { provider: 'hmac', secret: 's', header: 'X', template: 'no body' },
    { provider: 'hmac', secret: 's', header: 'X', template: '{timestamp}{body}' },
    { provider: 'nope', secret: 's' },
  ]) {
    test(JSON.stringify(options), () => {
      assert.throws(() => createVerifier(options as VerifierOptions), VerifierConfigError);
    });
  }
});
