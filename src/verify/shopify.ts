// Shopify: `X-Shopify-Hmac-Sha256` = base64 HMAC-SHA256 of the raw body with the app's client
// secret. The unprefixed `shopify-hmac-sha256` (events family) is read too, as the official
// @shopify/shopify-api does. https://shopify.dev/docs/apps/build/webhooks/subscribe/https
import { fromBase64, utf8 } from './encoding.ts';
import { header, refuse, secretList } from './kit.ts';
import type { Scheme } from './types.ts';

export interface ShopifyOptions {
  secret: string | readonly string[];
}

export function shopify(options: ShopifyOptions): Scheme {
  const keys = secretList('shopify', options.secret).map(utf8);
  return {
    provider: 'shopify',
    tolerance: 0,
    plan(body, headers) {
      let h = header(headers, 'x-shopify-hmac-sha256');
      if (h.ok && h.value === undefined) h = header(headers, 'shopify-hmac-sha256');
      if (!h.ok) return h.plan;
      if (!h.value) return refuse('missing X-Shopify-Hmac-Sha256 header');
      const sig = fromBase64(h.value);
      if (sig?.length !== 32) return refuse('X-Shopify-Hmac-Sha256 is not a base64 SHA-256 HMAC');
      return {
        ok: true,
        checks: [{ kind: 'hmac', algorithm: 'sha256', keys, message: [body], signatures: [sig] }],
      };
    },
  };
}
