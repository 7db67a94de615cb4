// Generic HMAC: `id_header` (else the body's hash) and `type_path`. (docs/providers.md)
import type { SourceConfig } from '../../config.ts';
import { parsePayload, stringAt } from '../payload.ts';
import { type IngestRequest, type Identified, one, bodyHash, event } from './kit.ts';

export function identify(req: IngestRequest, source: SourceConfig): Identified {
  const id = (source.idHeader && one(req, source.idHeader)) || bodyHash(req.body);
  if (!source.typePath) return event(id, null);
  const parsed = parsePayload(req.body, req.contentType);
  return event(id, parsed.ok ? stringAt(parsed.value, source.typePath) : null);
}
