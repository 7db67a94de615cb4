// Shopify: `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256 of the raw body with the app's client
// secret. https://shopify.dev/docs/apps/build/webhooks/subscribe/https
//
// Hookyard refuses exactly what the official @shopify/shopify-api (15.x, `webhooks.validate`,
// lib/webhooks/validate.ts) refuses:
// - it reads the unprefixed "events" family (`shopify-hmac-sha256`, `shopify-topic`, …) when
//   `shopify-hmac-sha256` is present and non-empty, and the `X-Shopify-*` family otherwise —
//   one family per request, never a mix;
// - it requires that family's HMAC, topic, shop domain, API version and webhook id headers,
//   each non-empty. They are not covered by the HMAC, so a request without them is not one
//   Shopify sent as is;
// - it refuses an empty body;
// - it compares the header with its own base64 of the HMAC as text, so only the canonical
//   padded standard base64 of 32 bytes can match.
import { fromBase64, toBase64, utf8 } from './encoding.ts';
import { header, refuse, secretList } from './kit.ts';
import type { HeadersInput, Plan, Scheme, SignedHeaders, Signer } from './types.ts';

export interface ShopifyOptions {
  secret: string | readonly string[];
}

interface Family {
  hmac: string;
  /** Lower-cased name → the name as Shopify documents it, for messages. */
  required: readonly (readonly [string, string])[];
}

const WEBHOOKS: Family = {
  hmac: 'X-Shopify-Hmac-Sha256',
  required: [
    ['x-shopify-topic', 'X-Shopify-Topic'],
    ['x-shopify-shop-domain', 'X-Shopify-Shop-Domain'],
    ['x-shopify-api-version', 'X-Shopify-API-Version'],
    ['x-shopify-webhook-id', 'X-Shopify-Webhook-Id'],
  ],
};

const EVENTS: Family = {
  hmac: 'shopify-hmac-sha256',
  required: [
    ['shopify-topic', 'shopify-topic'],
    ['shopify-shop-domain', 'shopify-shop-domain'],
    ['shopify-api-version', 'shopify-api-version'],
    ['shopify-webhook-id', 'shopify-webhook-id'],
  ],
};

// 32 bytes in padded standard base64: 42 free characters, a 43rd whose low two bits are zero
// (the 256th bit ends inside it), and one `=`.
const CANONICAL_HMAC = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** The first required header of the family that is missing or empty, as a refusal. */
function missingHeader(headers: HeadersInput, family: Family): Plan | undefined {
  for (const [name, shown] of family.required) {
    const h = header(headers, name);
    if (!h.ok) return h.plan;
    if (!h.value) return refuse(`missing or empty ${shown} header`);
  }
  return undefined;
}

export function shopify(options: ShopifyOptions): Scheme {
  const keys = secretList('shopify', options.secret).map(utf8);
  return {
    provider: 'shopify',
    tolerance: 0,
    plan(body, headers) {
      const events = header(headers, EVENTS.hmac);
      if (!events.ok) return events.plan;
      const family = events.value ? EVENTS : WEBHOOKS;
      const h = family === EVENTS ? events : header(headers, WEBHOOKS.hmac.toLowerCase());
      if (!h.ok) return h.plan;
      if (!h.value) return refuse(`missing ${family.hmac} header`);
      if (!CANONICAL_HMAC.test(h.value)) {
        return refuse(`${family.hmac} is not the base64 of a SHA-256 HMAC`);
      }
      const missing = missingHeader(headers, family);
      if (missing) return missing;
      if (body.length === 0) return refuse('the body is empty');
      const sig = fromBase64(h.value) as Uint8Array;
      return {
        ok: true,
        checks: [{ kind: 'hmac', algorithm: 'sha256', keys, message: [body], signatures: [sig] }],
      };
    },
  };
}

export interface ShopifySignInput {
  secret: string;
  body: Uint8Array | string;
}

/** Only the HMAC header: the topic, shop, version and id headers are the caller's. */
export function sign(input: ShopifySignInput, signer: Signer): SignedHeaders {
  const body = typeof input.body === 'string' ? utf8(input.body) : input.body;
  return { 'x-shopify-hmac-sha256': toBase64(signer.hmac('sha256', utf8(input.secret), [body])) };
}
