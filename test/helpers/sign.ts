// Request signers for tests. Where a provider publishes an SDK that signs, that SDK signs —
// an independent implementation, not ours. Slack ships no signer; its requests are signed with
// node:crypto and cross-checked by Bolt's own verifier in test/verify/interop.test.ts.
import { createHmac, createPrivateKey, sign as ed25519Sign } from 'node:crypto';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { getHmac } from '@shopify/shopify-api/test-helpers';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';

const stripeSdk = new Stripe('sk_test_offline');

export type SignedHeaders = Record<string, string>;

export function stripeHeaders(body: string, secret: string, timestamp?: number): SignedHeaders {
  const header = stripeSdk.webhooks.generateTestHeaderString({
    payload: body,
    secret,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
  return { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header };
}

export async function githubHeaders(
  body: string,
  secret: string,
  event: string,
  delivery: string,
): Promise<SignedHeaders> {
  return {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': delivery,
    'x-hub-signature-256': await octokitSign(secret, body),
    'user-agent': 'GitHub-Hookshot/test',
  };
}

export function standardWebhooksHeaders(
  body: string,
  secret: string,
  id: string,
  at = new Date(),
): SignedHeaders {
  const signature = new StandardWebhook(secret).sign(id, at, body);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}

/** Standard Webhooks v1a: Ed25519 from a raw 32-byte seed (docs/providers.md §4). */
export function standardWebhooksV1aSignature(seed: Buffer, signed: string): string {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return `v1a,${ed25519Sign(null, Buffer.from(signed), key).toString('base64')}`;
}

export function slackHeaders(
  body: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
  contentType = 'application/json',
): SignedHeaders {
  const mac = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return {
    'content-type': contentType,
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': `v0=${mac}`,
  };
}

/**
 * A Shopify request as Shopify sends it: every header `@shopify/shopify-api`'s
 * `webhooks.validate` requires, in the classic `X-Shopify-*` family or the unprefixed
 * "events" family (docs/providers.md §5). The HMAC is the official test helper's.
 */
export function shopifyHeaders(
  body: string,
  secret: string,
  topic: string,
  eventId: string,
  family: 'webhooks' | 'events' = 'webhooks',
): SignedHeaders {
  const p = family === 'webhooks' ? 'x-shopify-' : 'shopify-';
  return {
    'content-type': 'application/json',
    [`${p}hmac-sha256`]: getHmac(body, secret),
    [`${p}topic`]: topic,
    [`${p}shop-domain`]: 'hookyard-test.myshopify.com',
    [`${p}api-version`]: '2025-07',
    [`${p}webhook-id`]: `wh-${eventId}`,
    [`${p}event-id`]: eventId,
    [`${p}triggered-at`]: new Date().toISOString(),
  };
}
