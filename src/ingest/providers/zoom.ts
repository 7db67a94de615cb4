// Zoom: `endpoint.url_validation` answered; event + event_ts + the object's id as the id. (docs/providers.md)
import type { SourceConfig } from '../../config.ts';
import { valueAtPath as valueAt } from '../../json-path.ts';
import { nodeSigner } from '../../verify/node.ts';
import { encryptedToken } from '../../verify/zoom.ts';
import { parsePayload, stringAt } from '../payload.ts';
import { type IngestRequest, type Identified, bodyHash, event } from './kit.ts';

export function identify(req: IngestRequest, source: SourceConfig): Identified {
  const parsed = parsePayload(req.body, req.contentType);
  if (!parsed.ok) return { kind: 'invalid', message: parsed.message };
  const type = stringAt(parsed.value, '$.event');
  if (type === 'endpoint.url_validation') {
    const plainToken = stringAt(parsed.value, '$.payload.plainToken');
    if (!plainToken) return { kind: 'invalid', message: 'url_validation without a plainToken' };
    const options = source.verifier as { secret?: string | readonly string[] };
    // The newest secret answers: Zoom holds one Secret Token at a time.
    const secret = typeof options.secret === 'string' ? options.secret : options.secret?.[0];
    return {
      kind: 'handshake',
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({
        plainToken,
        encryptedToken: encryptedToken(secret ?? '', plainToken, nodeSigner),
      }),
    };
  }
  // Zoom documents no event id: event + event_ts + the object's id identify a delivery, and a
  // retry repeats all three (docs/providers.md §11).
  const ts = valueAt(parsed.value, '$.event_ts');
  if (type === undefined || (typeof ts !== 'number' && typeof ts !== 'string')) {
    return event(bodyHash(req.body), type);
  }
  const object = valueAt(parsed.value, '$.payload.object.id');
  const objectId = typeof object === 'string' || typeof object === 'number' ? `:${object}` : '';
  return event(`${type}:${ts}${objectId}`, type);
}
