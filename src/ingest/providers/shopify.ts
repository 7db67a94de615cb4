// Shopify: one header family, its event (or webhook) id and topic. (docs/providers.md)
import { type IngestRequest, type Identified, one, event } from './kit.ts';

export function identify(req: IngestRequest): Identified {
  // The header family the verifier checked (as @shopify/shopify-api: `shopify-*` when
  // shopify-hmac-sha256 is set, else `X-Shopify-*`), never a mix of the two.
  const p = one(req, 'shopify-hmac-sha256') ? 'shopify-' : 'x-shopify-';
  // The event id is the same for every copy of one event (Shopify's dedup advice).
  const id = one(req, `${p}event-id`, `${p}webhook-id`);
  if (!id) return { kind: 'invalid', message: `missing ${p}webhook-id header` };
  return event(id, one(req, `${p}topic`));
}
