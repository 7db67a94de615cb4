// Each provider's `sign` against that provider's own signer (or its published vector): the
// bytes Hookyard signs with are the bytes the provider's libraries produce.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { getHmac } from '@shopify/shopify-api/test-helpers';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { toBase64, toHex } from '../../src/verify/encoding.ts';
import { sign as signGitHub } from '../../src/verify/github.ts';
import { sign as signHmac } from '../../src/verify/hmac.ts';
import { nodeSigner } from '../../src/verify/node.ts';
import { sign as signShopify } from '../../src/verify/shopify.ts';
import { sign as signSlack } from '../../src/verify/slack.ts';
import {
  sign as signStandardWebhooks,
  standardWebhooksPublicKey,
} from '../../src/verify/standard-webhooks.ts';
import { sign as signStripe } from '../../src/verify/stripe.ts';
import { BUILDS } from '../helpers/verifiers.ts';

const BODY = '{"id":"evt_1","type":"charge.refunded","note":"ünïcode ✓"}';

describe('sign() matches the providers’ own signers', () => {
  test('stripe: stripe-node generateTestHeaderString', () => {
    const stripe = new Stripe('sk_test_offline');
    const expected = stripe.webhooks.generateTestHeaderString({
      payload: BODY,
      secret: 'whsec_x',
      timestamp: 1700000000,
    });
    assert.deepEqual(
      signStripe({ secret: 'whsec_x', body: BODY, timestamp: 1700000000 }, nodeSigner),
      {
        'stripe-signature': expected,
      },
    );
  });

  test('github: @octokit/webhooks-methods sign', async () => {
    assert.deepEqual(signGitHub({ secret: 's3cret', body: BODY }, nodeSigner), {
      'x-hub-signature-256': await octokitSign('s3cret', BODY),
    });
  });

  test('github: the docs vector', () => {
    assert.equal(
      signGitHub({ secret: "It's a Secret to Everybody", body: 'Hello, World!' }, nodeSigner)[
        'x-hub-signature-256'
      ],
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
  });

  test('slack: the docs vector', () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    assert.deepEqual(
      signSlack(
        { secret: '8f742231b10e8888abcd99yyyzzz85a5', body, timestamp: 1531420618 },
        nodeSigner,
      ),
      {
        'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
        'x-slack-request-timestamp': '1531420618',
      },
    );
  });

  test('shopify: @shopify/shopify-api getHmac', () => {
    assert.equal(
      signShopify({ secret: 'shpss_1', body: BODY }, nodeSigner)['x-shopify-hmac-sha256'],
      getHmac(BODY, 'shpss_1'),
    );
  });

  test('standard webhooks v1: standardwebhooks and svix sign the same', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const at = new Date(1614265330_000);
    const ours = signStandardWebhooks(
      { secret, id: 'msg_1', timestamp: 1614265330, body: BODY },
      nodeSigner,
    );
    assert.equal(ours['webhook-signature'], new StandardWebhook(secret).sign('msg_1', at, BODY));
    assert.equal(ours['webhook-signature'], new SvixWebhook(secret).sign('msg_1', at, BODY));
    assert.deepEqual([ours['webhook-id'], ours['webhook-timestamp']], ['msg_1', '1614265330']);
  });

  test('standard webhooks v1a: the Go reference vector, and the whpk_ key derived', async () => {
    const seed = 'whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=';
    const ours = signStandardWebhooks(
      {
        secret: seed,
        id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        timestamp: 1614265330,
        body: '{"test": 2432232314}',
      },
      nodeSigner,
    );
    assert.equal(
      ours['webhook-signature'],
      'v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==',
    );
    const pk = standardWebhooksPublicKey(seed, nodeSigner);
    assert.equal(pk, 'whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=');
    for (const build of BUILDS) {
      const r = await build.verify(
        { provider: 'standard-webhooks', secret: pk },
        { body: '{"test": 2432232314}', headers: ours, now: 1614265330_000 },
      );
      assert.equal(r.ok, true, build.name);
    }
  });

  test('generic hmac: what sign() makes, the verifier with the same options accepts', async () => {
    const variants = [
      { header: 'X-Signature', prefix: 'sha256=' },
      { header: 'X-Sig', algorithm: 'sha512', encoding: 'base64' },
      {
        header: 'X-Sig',
        algorithm: 'sha1',
        timestampHeader: 'X-Ts',
        idHeader: 'X-Id',
        template: '{id}:{timestamp}:{body}',
      },
    ] as const;
    const now = 1700000000;
    for (const v of variants) {
      const options = { ...v, secret: 'k' };
      const headers = signHmac({ options, body: BODY, timestamp: now, id: 'e-1' }, nodeSigner);
      for (const build of BUILDS) {
        const r = await build.verify(
          { provider: 'hmac', ...options },
          { body: BODY, headers, now: now * 1000 },
        );
        assert.equal(r.ok, true, `${build.name} ${JSON.stringify(v)}`);
      }
    }
  });

  test('toHex and toBase64 agree with Buffer on every length', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = randomBytes(n);
      assert.equal(toHex(bytes), bytes.toString('hex'));
      assert.equal(toBase64(bytes), bytes.toString('base64'));
    }
  });
});
