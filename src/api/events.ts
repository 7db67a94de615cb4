// GET /api/events, /api/events/:id and /api/events/:id/body: the stored events as snake_case
// JSON, and the stored bytes as they arrived.
import type { z } from 'zod';
import { errorReply, jsonReply, type Reply } from '../errors.ts';
import type { DeliveryDetail, EventSummary, Store } from '../store/contract.ts';
import {
  type deliveryDetailJson,
  type eventDetailJson,
  eventFilter,
  type eventPageJson,
  type eventSummaryJson,
} from './schemas.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function eventJson(e: EventSummary): z.output<typeof eventSummaryJson> {
  return {
    id: e.id,
    source: e.source,
    event_id: e.eventId,
    type: e.type,
    status: e.status,
    received_at: new Date(e.receivedAt).toISOString(),
    size: e.size,
  };
}

function deliveryJson(d: DeliveryDetail): z.output<typeof deliveryDetailJson> {
  return {
    id: d.id,
    destination: d.destination,
    status: d.status,
    next_attempt_at: iso(d.nextAt),
    last_error: d.lastError,
    attempts: d.attempts.map((a) => ({
      n: a.n,
      at: new Date(a.startedAt).toISOString(),
      duration_ms: a.durationMs,
      status_code: a.statusCode,
      outcome: a.outcome,
      response: a.response,
      error: a.error,
    })),
  };
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export async function listEvents(
  store: Store,
  query: Parameters<typeof eventFilter>[0] & { limit: number },
): Promise<Reply> {
  const page = await store.listEvents(eventFilter(query, query.limit));
  return jsonReply(200, {
    data: page.data.map(eventJson),
    next_cursor: page.nextCursor,
  } satisfies z.output<typeof eventPageJson>);
}

export async function eventDetail(store: Store, id: string): Promise<Reply> {
  const event = await store.getEvent(id);
  if (!event) return errorReply('not_found', `no event ${id}`);
  let body: string;
  let encoding: 'utf8' | 'base64';
  try {
    body = utf8Strict.decode(event.body);
    encoding = 'utf8';
  } catch {
    body = Buffer.from(event.body).toString('base64');
    encoding = 'base64';
  }
  return jsonReply(200, {
    ...eventJson(event),
    content_type: event.contentType,
    headers: event.headers,
    body,
    body_encoding: encoding,
    deliveries: event.deliveries.map(deliveryJson),
  } satisfies z.output<typeof eventDetailJson>);
}

/** The stored bytes exactly, with the content type they arrived with. */
export async function eventBody(store: Store, id: string): Promise<Reply> {
  const event = await store.getEvent(id);
  if (!event) return errorReply('not_found', `no event ${id}`);
  return {
    status: 200,
    // The sender's bytes under the sender's content type: a browser opening this URL must save
    // them, never sniff or render them (a body may be HTML or script).
    headers: {
      'content-type': event.contentType ?? 'application/octet-stream',
      'x-content-type-options': 'nosniff',
      'content-disposition': `attachment; filename="${event.id}.body"`,
    },
    body: event.body,
  };
}
