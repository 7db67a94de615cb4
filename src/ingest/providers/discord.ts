// Discord: interactions (PING answered with a PONG) and webhook events (their PING: 204). (docs/providers.md)
import { parsePayload, stringAt } from '../payload.ts';
import { type IngestRequest, type Identified, bodyHash, event } from './kit.ts';

/** Discord interaction types (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-type). */
const DISCORD_INTERACTIONS: Record<number, string> = {
  2: 'application_command',
  3: 'message_component',
  4: 'application_command_autocomplete',
  5: 'modal_submit',
};

export function identify(req: IngestRequest): Identified {
  const parsed = parsePayload(req.body, req.contentType);
  if (!parsed.ok) return { kind: 'invalid', message: parsed.message };
  const body = parsed.value as { type?: unknown; id?: unknown; event?: unknown } | null;
  const type = typeof body === 'object' && body !== null ? body.type : undefined;
  if (typeof body?.event === 'object' && body.event !== null) {
    // Webhook events: `{version, application_id, type: 0|1, event: {type, timestamp, data}}`.
    // Type 0 is their PING, answered 204 with no body (discord-api-docs, webhook events).
    if (type === 0)
      return { kind: 'handshake', status: 204, contentType: 'application/json', body: '' };
    // No event id is documented: the body (type + timestamp + data) is the identity.
    return event(bodyHash(req.body), stringAt(body.event, '$.type'));
  }
  // Interactions: a signed PING (type 1) must be answered with a PONG, `{"type":1}`.
  if (type === 1) {
    return { kind: 'handshake', status: 200, contentType: 'application/json', body: '{"type":1}' };
  }
  const id = stringAt(parsed.value, '$.id');
  if (!id) return { kind: 'invalid', message: 'Discord interaction has no id' };
  return event(
    id,
    typeof type === 'number' ? (DISCORD_INTERACTIONS[type] ?? `type_${type}`) : null,
  );
}
