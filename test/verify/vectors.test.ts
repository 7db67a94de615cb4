// The worked vectors of docs/providers.md, through every verifier build.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VerifierOptions, VerifyInput } from '../../src/verify/index.ts';
import { BUILDS } from '../helpers/verifiers.ts';

const SLACK_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';

const SW_HEADERS = {
  'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  'webhook-timestamp': '1614265330',
};

const VECTORS: { name: string; options: VerifierOptions; input: VerifyInput }[] = [
  {
    name: 'GitHub (docs)',
    options: { provider: 'github', secret: "It's a Secret to Everybody" },
    input: {
      body: 'Hello, World!',
      headers: {
        'x-hub-signature-256':
          'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
      },
    },
  },
  {
    name: 'Slack (docs, form-encoded slash command)',
    options: { provider: 'slack', secret: '8f742231b10e8888abcd99yyyzzz85a5' },
    input: {
      body: SLACK_BODY,
      now: 1531420618_000,
      headers: {
        'x-slack-request-timestamp': '1531420618',
        'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
      },
    },
  },
  {
    name: 'Standard Webhooks v1 (reference test)',
    options: { provider: 'standard-webhooks', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    input: {
      body: '{"test": 2432232314}',
      now: 1614265330_000,
      headers: {
        ...SW_HEADERS,
        'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      },
    },
  },
  {
    name: 'Standard Webhooks v1a Ed25519 (Go reference test)',
    options: {
      provider: 'standard-webhooks',
      secret: 'whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=',
    },
    input: {
      body: '{"test": 2432232314}',
      now: 1614265330_000,
      headers: {
        ...SW_HEADERS,
        'webhook-signature':
          'v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==',
      },
    },
  },
  {
    name: 'Standard Webhooks, svix-* header names',
    options: { provider: 'standard-webhooks', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    input: {
      body: '{"test": 2432232314}',
      now: 1614265330_000,
      headers: {
        'svix-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        'svix-timestamp': '1614265330',
        'svix-signature': 'v2,unknown v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      },
    },
  },
  {
    // The library also requires the topic, shop domain, API version and webhook id headers.
    name: 'Shopify (computed), X-Shopify-* headers',
    options: { provider: 'shopify', secret: 'shop-secret' },
    input: {
      body: '{"id":1}',
      headers: {
        'X-Shopify-Hmac-Sha256': 'plW8VGqq0nDMIEhDqaNNW99asdUCy7EIqLZVcQwtAZ0=',
        'X-Shopify-Topic': 'orders/create',
        'X-Shopify-Shop-Domain': 'example.myshopify.com',
        'X-Shopify-API-Version': '2025-07',
        'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      },
    },
  },
  {
    name: 'Shopify (computed), events family headers',
    options: { provider: 'shopify', secret: 'shop-secret' },
    input: {
      body: '{"id":1}',
      headers: {
        'shopify-hmac-sha256': 'plW8VGqq0nDMIEhDqaNNW99asdUCy7EIqLZVcQwtAZ0=',
        'shopify-topic': 'orders/create',
        'shopify-shop-domain': 'example.myshopify.com',
        'shopify-api-version': '2025-07',
        'shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      },
    },
  },
];

for (const build of BUILDS) {
  describe(`vectors on ${build.name}`, () => {
    for (const vector of VECTORS) {
      test(`${vector.name} verifies`, async () => {
        const result = await build.verify(vector.options, vector.input);
        assert.equal(result.ok, true, result.ok ? '' : result.error.message);
      });
      test(`${vector.name} with one body byte changed is refused`, async () => {
        const body = String(vector.input.body);
        const tampered = `${body.slice(0, -1)}${body.endsWith('1') ? '2' : '1'}`;
        const result = await build.verify(vector.options, { ...vector.input, body: tampered });
        assert.equal(result.ok ? 'ok' : result.error.code, 'signature_invalid');
      });
      // Every header of these vectors is one the provider's library requires.
      test(`${vector.name} without any one of its headers, or with it empty, is refused`, async () => {
        const headers = vector.input.headers as Record<string, string>;
        for (const name of Object.keys(headers)) {
          const rest = Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name));
          for (const variant of [rest, { ...rest, [name]: '' }]) {
            const result = await build.verify(vector.options, {
              ...vector.input,
              headers: variant,
            });
            assert.equal(result.ok ? 'ok' : result.error.code, 'signature_invalid', name);
          }
        }
      });
    }
  });
}
