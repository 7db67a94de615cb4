// Stripe: the body's `id` and `type`. (docs/providers.md)
import { parsePayload, stringAt } from '../payload.ts';
import { type IngestRequest, type Identified, event } from './kit.ts';

export function identify(req: IngestRequest): Identified {
  const parsed = parsePayload(req.body, req.contentType);
  if (!parsed.ok) return { kind: 'invalid', message: parsed.message };
  const id = stringAt(parsed.value, '$.id');
  if (!id) return { kind: 'invalid', message: 'Stripe event has no id' };
  return event(id, stringAt(parsed.value, '$.type'));
}
