// Slack: JSON events (`url_verification` answered), interactivity and slash-command forms. (docs/providers.md)
import { mediaKind, parseForm, parseFormPayload, parsePayload, stringAt } from '../payload.ts';
import { bodyHash, event, type Identified, type IngestRequest } from './kit.ts';

export function identify(req: IngestRequest): Identified {
  if (mediaKind(req.contentType) === 'form') {
    const form = parseForm(req.body);
    if (form.has('payload')) {
      // Interactivity: one form field holding JSON.
      const parsed = parseFormPayload(form);
      if (!parsed.ok) return { kind: 'invalid', message: parsed.message };
      return event(bodyHash(req.body), stringAt(parsed.value, '$.type') ?? 'interactive');
    }
    if (form.has('command')) return event(bodyHash(req.body), 'slash_command');
    return event(bodyHash(req.body), null);
  }
  const parsed = parsePayload(req.body, req.contentType);
  if (!parsed.ok) return { kind: 'invalid', message: parsed.message };
  const envelope = stringAt(parsed.value, '$.type');
  if (envelope === 'url_verification') {
    const challenge = stringAt(parsed.value, '$.challenge');
    if (!challenge) return { kind: 'invalid', message: 'url_verification without a challenge' };
    return {
      kind: 'handshake',
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ challenge }),
    };
  }
  // Events API retries carry the same event_id: deduplicated like any other id.
  const id = stringAt(parsed.value, '$.event_id') ?? bodyHash(req.body);
  const type = envelope === 'event_callback' ? stringAt(parsed.value, '$.event.type') : envelope;
  return event(id, type);
}

/**
 * Slack's `ssl_check=1` form posts are unsigned by design (docs/providers.md §3): answered 200,
 * not stored, before verification.
 */
export function isSslCheck(req: IngestRequest): boolean {
  return (
    req.headers['x-slack-signature'] === undefined &&
    mediaKind(req.contentType) === 'form' &&
    parseForm(req.body).get('ssl_check') === '1'
  );
}
