// Standard Webhooks (and Svix's header names): `webhook-id`, the payload's `type`. (docs/providers.md)
import { parsePayload, stringAt } from '../payload.ts';
import { type IngestRequest, type Identified, one, event } from './kit.ts';

export function identify(req: IngestRequest): Identified {
  const id =
    req.headers['webhook-signature'] === undefined ? one(req, 'svix-id') : one(req, 'webhook-id');
  if (!id) return { kind: 'invalid', message: 'missing webhook-id header' };
  // The spec's payload carries `type`; a body that is not JSON is stored without one.
  const parsed = parsePayload(req.body, req.contentType);
  return event(id, parsed.ok ? stringAt(parsed.value, '$.type') : null);
}
