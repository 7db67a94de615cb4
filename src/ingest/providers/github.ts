// GitHub: `X-GitHub-Delivery` and `X-GitHub-Event`. (docs/providers.md)
import { type IngestRequest, type Identified, one, event } from './kit.ts';

export function identify(req: IngestRequest): Identified {
  // X-GitHub-Delivery stays the same on a manual redelivery: the right dedup key.
  const delivery = one(req, 'x-github-delivery');
  if (!delivery) return { kind: 'invalid', message: 'missing X-GitHub-Delivery header' };
  return event(delivery, one(req, 'x-github-event'));
}
