// Property-based fuzz: no input makes a verifier throw, and no random or one-byte-altered
// request verifies. Runs on every build.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { VerifierOptions } from '../../src/verify/index.ts';
import {
  githubHeaders,
  shopifyHeaders,
  standardWebhooksHeaders,
  stripeHeaders,
} from '../helpers/sign.ts';
import { fromHex } from '../../src/verify/encoding.ts';
import { BUILDS } from '../helpers/verifiers.ts';

const SW = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const CONFIGS: VerifierOptions[] = [
  { provider: 'stripe', secret: 'whsec_x' },
  { provider: 'github', secret: 'g', allowSha1: true },
  { provider: 'slack', secret: 's' },
  {
    provider: 'standard-webhooks',
    secret: [SW, 'whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g='],
  },
  { provider: 'shopify', secret: 'p' },
  { provider: 'hmac', secret: 'h', header: 'X-Sig', timestampHeader: 'X-Ts', encoding: 'base64' },
];
const NAMES = [
  'stripe-signature',
  'x-hub-signature-256',
  'x-hub-signature',
  'x-slack-signature',
  'x-slack-request-timestamp',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'svix-id',
  'svix-timestamp',
  'svix-signature',
  'x-shopify-hmac-sha256',
  'x-shopify-topic',
  'x-shopify-shop-domain',
  'x-shopify-api-version',
  'x-shopify-webhook-id',
  'shopify-hmac-sha256',
  'shopify-topic',
  'x-sig',
  'x-ts',
];
// Header values shaped like the real ones, so the fuzz reaches past the first parse.
const value = fc.oneof(
  fc.string(),
  fc.stringMatching(
    /^(t=\d{0,11}|v1=[0-9a-f]{0,66}|v0=[0-9a-f]{64}|sha256=[0-9a-fA-F]{0,66}|v1a?,[A-Za-z0-9+/=]{0,90}|\d{1,12})([ ,](t=\d{10}|v1=[0-9a-z]{64}|v1,[A-Za-z0-9+/]{43}=))*$/,
  ),
  fc.array(fc.string(), { maxLength: 3 }),
);
const headers = fc.dictionary(fc.constantFrom(...NAMES), value);
const body = fc.oneof(fc.string(), fc.uint8Array({ maxLength: 256 }));

for (const build of BUILDS) {
  describe(`fuzz on ${build.name}`, () => {
    test('random requests never throw and never verify', async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...CONFIGS), headers, body, async (options, h, b) => {
          const r = await build.verify(options, { body: b, headers: h });
          assert.equal(r.ok, false);
          assert.ok(['signature_invalid', 'timestamp_out_of_tolerance'].includes(r.error.code));
        }),
        { numRuns: 1500 },
      );
    });

    test('non-string header values and non-byte bodies are refused, not thrown', async () => {
      for (const options of CONFIGS) {
        const weird = [{ 'stripe-signature': 42 }, { 'webhook-signature': null }, { 'x-sig': {} }];
        for (const h of weird) {
          const r = await build.verify(options, { body: 'x', headers: h as never });
          assert.equal(r.ok, false);
        }
        const r = await build.verify(options, { body: 5 as never, headers: {} });
        assert.equal(r.ok, false);
      }
    });

    test('whatever verify() is given, it answers with the invalid result and never throws', async () => {
      // The README's promise: a caller passing `req.headers` of the wrong thing, or no body,
      // gets a refusal, not a TypeError (nor, on the Web Crypto build, a rejection).
      const inputs: unknown[] = [
        undefined,
        null,
        5,
        'body',
        [],
        {},
        { body: 'x' },
        { body: 'x', headers: null },
        { body: 'x', headers: undefined },
        { body: 'x', headers: 5 },
        { body: 'x', headers: 'stripe-signature: t=1' },
        { body: 'x', headers: ['stripe-signature', 't=1'] },
        { body: 'x', headers: true },
        { headers: {} },
        { body: null, headers: {} },
        { body: 5, headers: {} },
        { body: {}, headers: {} },
        { body: new ArrayBuffer(4), headers: {} },
        { body: [1, 2], headers: {} },
        { body: 'x', headers: {}, now: Number.NaN },
        { body: 'x', headers: {}, now: '1700000000000' },
      ];
      for (const options of CONFIGS) {
        for (const input of inputs) {
          const r = await build.verify(options, input as never);
          assert.equal(
            r.ok ? 'ok' : r.error.code,
            'signature_invalid',
            String(JSON.stringify(input)),
          );
        }
      }
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...CONFIGS),
          fc.oneof(
            fc.anything(),
            fc.record({ body: fc.anything(), headers: fc.anything() }),
            fc.record({ body, headers, now: fc.anything() }),
          ),
          async (options, input) => {
            const r = await build.verify(options, input as never);
            assert.equal(r.ok, false);
          },
        ),
        { numRuns: 500 },
      );
    });

    test('a genuine request checked against a `now` that is not a number is refused', async () => {
      // NaN compares false with everything: it must not read as "within tolerance".
      const text = '{"id":"evt_now"}';
      const h = stripeHeaders(text, 'whsec_x', 1_000);
      const options = CONFIGS[0] as VerifierOptions;
      assert.equal(
        (await build.verify(options, { body: text, headers: h, now: 1_000_000 })).ok,
        true,
      );
      for (const now of [Number.NaN, Number.POSITIVE_INFINITY, 'soon', null, {}]) {
        const r = await build.verify(options, { body: text, headers: h, now: now as never });
        assert.equal(r.ok ? 'ok' : r.error.code, 'signature_invalid', String(now));
      }
    });

    test('changing any one byte of a genuine request breaks it', async () => {
      const text = JSON.stringify({ id: 'evt_1', type: 't', data: { amount: 1000 } });
      const signed = [
        { options: CONFIGS[0] as VerifierOptions, headers: stripeHeaders(text, 'whsec_x') },
        {
          options: CONFIGS[1] as VerifierOptions,
          headers: await githubHeaders(text, 'g', 'push', 'd'),
        },
        { options: CONFIGS[3] as VerifierOptions, headers: standardWebhooksHeaders(text, SW, 'm') },
        {
          options: CONFIGS[4] as VerifierOptions,
          headers: shopifyHeaders(text, 'p', 'orders/create', 'e1'),
        },
      ];
      for (const { options, headers: h } of signed) {
        assert.equal((await build.verify(options, { body: text, headers: h })).ok, true);
      }
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...signed),
          fc.nat({ max: text.length - 1 }),
          fc.integer({ min: 1, max: 255 }),
          async ({ options, headers: h }, at, flip) => {
            const bytes = Buffer.from(text);
            bytes[at] = (bytes[at] ?? 0) ^ flip;
            const r = await build.verify(options, { body: bytes, headers: h });
            assert.equal(r.ok, false);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
}

describe('hex decoding', () => {
  test('decodes what Node decodes and refuses everything else', () => {
    const strict = /^(?:[0-9a-fA-F]{2})+$/;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('hex')),
          fc
            .uint8Array({ minLength: 1, maxLength: 40 })
            .map((b) => Buffer.from(b).toString('hex').toUpperCase()),
          fc.string(),
          fc.string({ unit: 'binary' }),
        ),
        (text) => {
          const decoded = fromHex(text);
          if (strict.test(text))
            assert.deepEqual(decoded, new Uint8Array(Buffer.from(text, 'hex')));
          else assert.equal(decoded, undefined);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
