// Per provider: the event id (the dedup key, docs/spec.md §3 / docs/providers.md §25), the event type,
// and handshakes that must be answered instead of stored.
import { createHash } from 'node:crypto';
import type { SourceConfig } from '../config.ts';
import type { Provider } from '../verify/index.ts';
import { nodeSigner } from '../verify/node.ts';
import { encryptedToken } from '../verify/zoom.ts';
import { valueAtPath as valueAt } from '../json-path.ts';
import { mediaKind, parseForm, parseFormPayload, parsePayload, stringAt } from './payload.ts';

export interface IngestRequest {
  /** Lower-cased names; a header sent twice is an array. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Uint8Array;
  contentType: string | null;
}

export type Identified =
  | { kind: 'event'; eventId: string; type: string | null }
  | { kind: 'handshake'; status: number; contentType: string; body: string }
  | { kind: 'invalid'; message: string };

const MAX_EVENT_ID = 255;

function one(req: IngestRequest, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = req.headers[name];
    if (typeof v === 'string' && v.length > 0) return v;
  }
  return undefined;
}

function bodyHash(body: Uint8Array): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/**
 * Whether a text column keeps the string exactly as sent, on both dialects: PostgreSQL text
 * cannot hold U+0000 (the whole commit would fail), and both drivers encode a lone UTF-16
 * surrogate (a `\ud800` JSON escape parses to one) as U+FFFD, so two distinct ids would be
 * stored as one and the second acknowledged as a duplicate of the first.
 */
export function storable(text: string): boolean {
  return text.isWellFormed() && !text.includes('\0');
}

const UNSTORABLE = 'contains U+0000 or a lone UTF-16 surrogate';

function event(eventId: string, type: string | null | undefined): Identified {
  if (eventId.length > MAX_EVENT_ID) {
    return { kind: 'invalid', message: `event id is longer than ${MAX_EVENT_ID} characters` };
  }
  if (!storable(eventId)) return { kind: 'invalid', message: `event id ${UNSTORABLE}` };
  if (type && !storable(type)) return { kind: 'invalid', message: `event type ${UNSTORABLE}` };
  return { kind: 'event', eventId, type: type ?? null };
}

/**
 * Headers are stored with the event (as JSON text, which escapes anything) and sent on with
 * every delivery, where a NUL would fail each attempt; RFC 9110 §5.5 forbids NUL in a field
 * value. node's HTTP parser and fetch's Headers already refuse one; other callers may not.
 */
function unstorableHeader(req: IngestRequest): Identified | undefined {
  if (req.contentType !== null && !storable(req.contentType))
    return { kind: 'invalid', message: `content-type ${UNSTORABLE}` };
  // On every stored event: a plain loop, no arrays (Object.entries here was 1.6% of ingest).
  const headers = req.headers;
  for (const name in headers) {
    const value = headers[name];
    let ok = storable(name);
    if (typeof value === 'string') ok &&= storable(value);
    else if (value) for (const v of value) ok &&= storable(v);
    if (!ok) return { kind: 'invalid', message: `a header ${UNSTORABLE}` };
  }
  return undefined;
}

function stripeEvent(req: IngestRequest): Identified {
  const parsed = parsePayload(req.body, req.contentType);
  if (!parsed.ok) return { kind: 'invalid', message: parsed.message };
  const id = stringAt(parsed.value, '$.id');
  if (!id) return { kind: 'invalid', message: 'Stripe event has no id' };
  return event(id, stringAt(parsed.value, '$.type'));
}

function githubEvent(req: IngestRequest): Identified {
  // X-GitHub-Delivery stays the same on a manual redelivery: the right dedup key.
  const delivery = one(req, 'x-github-delivery');
  if (!delivery) return { kind: 'invalid', message: 'missing X-GitHub-Delivery header' };
  return event(delivery, one(req, 'x-github-event'));
}

function slackEvent(req: IngestRequest): Identified {
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

function standardWebhooksEvent(req: IngestRequest): Identified {
  const id =
    req.headers['webhook-signature'] === undefined ? one(req, 'svix-id') : one(req, 'webhook-id');
  if (!id) return { kind: 'invalid', message: 'missing webhook-id header' };
  // The spec's payload carries `type`; a body that is not JSON is stored without one.
  const parsed = parsePayload(req.body, req.contentType);
  return event(id, parsed.ok ? stringAt(parsed.value, '$.type') : null);
}

function shopifyEvent(req: IngestRequest): Identified {
  // The header family the verifier checked (as @shopify/shopify-api: `shopify-*` when
  // shopify-hmac-sha256 is set, else `X-Shopify-*`), never a mix of the two.
  const p = one(req, 'shopify-hmac-sha256') ? 'shopify-' : 'x-shopify-';
  // The event id is the same for every copy of one event (Shopify's dedup advice).
  const id = one(req, `${p}event-id`, `${p}webhook-id`);
  if (!id) return { kind: 'invalid', message: `missing ${p}webhook-id header` };
  return event(id, one(req, `${p}topic`));
}

/** Discord interaction types (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-type). */
const DISCORD_INTERACTIONS: Record<number, string> = {
  2: 'application_command',
  3: 'message_component',
  4: 'application_command_autocomplete',
  5: 'modal_submit',
};

function discordEvent(req: IngestRequest): Identified {
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

function zoomEvent(req: IngestRequest, source: SourceConfig): Identified {
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

function hmacEvent(req: IngestRequest, source: SourceConfig): Identified {
  const id = (source.idHeader && one(req, source.idHeader)) || bodyHash(req.body);
  if (!source.typePath) return event(id, null);
  const parsed = parsePayload(req.body, req.contentType);
  return event(id, parsed.ok ? stringAt(parsed.value, source.typePath) : null);
}

/** What to store the request as: id and type are checked to be storable as sent, and so are
 * the headers of a request that is to be stored. */
export function identify(source: SourceConfig, req: IngestRequest): Identified {
  const found = identifyEvent(source, req);
  return found.kind === 'event' ? (unstorableHeader(req) ?? found) : found;
}

/** Per provider: the event's id and type, or a handshake to answer. Typed against the
 * provider list, so a provider added to the verifiers without one here does not compile. */
const IDENTIFY: Record<Provider, (req: IngestRequest, source: SourceConfig) => Identified> = {
  stripe: stripeEvent,
  github: githubEvent,
  slack: slackEvent,
  'standard-webhooks': standardWebhooksEvent,
  shopify: shopifyEvent,
  discord: discordEvent,
  zoom: zoomEvent,
  hmac: hmacEvent,
};

function identifyEvent(source: SourceConfig, req: IngestRequest): Identified {
  return IDENTIFY[source.provider](req, source);
}

/**
 * Slack's `ssl_check=1` form posts are unsigned by design (docs/providers.md §3): answered 200,
 * not stored, before verification.
 */
export function isSlackSslCheck(source: SourceConfig, req: IngestRequest): boolean {
  return (
    source.provider === 'slack' &&
    req.headers['x-slack-signature'] === undefined &&
    mediaKind(req.contentType) === 'form' &&
    parseForm(req.body).get('ssl_check') === '1'
  );
}
