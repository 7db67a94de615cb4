// Durable listeners (docs/spec.md §6, `hookyard listen --name`): GET /api/listeners,
// GET /api/listeners/:name and POST /api/listeners/:name/ack. A listener's cursor is the last
// event its local app answered 2xx for; the stream resumes after it (GET /api/stream
// ?listener=). Two `listen`s of one name are not refused: the newer one takes over from the
// stored cursor, and the older one's acknowledgements can only move the cursor forward
// (store/contract.ts ackListener), so neither makes the other skip an event.
import type { z } from 'zod';
import { errorReply, jsonReply, type Reply } from '../errors.ts';
import type { ListenerRecord, Store } from '../store/contract.ts';
import {
  type listenerAckJson,
  type listenerJson,
  type listenersJson,
  MAX_LISTENER_BACKLOG,
} from './schemas.ts';
import { compareCursors } from './stream.ts';

const iso = (ms: number) => new Date(ms).toISOString();

function ackJson(l: ListenerRecord): z.output<typeof listenerAckJson> {
  return {
    name: l.name,
    cursor: l.cursor,
    created_at: iso(l.createdAt),
    updated_at: iso(l.updatedAt),
  };
}

/** Events stored after the listener's cursor, counted up to MAX_LISTENER_BACKLOG: one read of
 * summaries through the stream's index, never a scan of the whole store. */
async function withBacklog(
  store: Store,
  l: ListenerRecord,
): Promise<z.output<typeof listenerJson>> {
  const page = await store.eventsAfter(l.cursor, MAX_LISTENER_BACKLOG);
  return { ...ackJson(l), backlog: page.data.length };
}

export async function listListeners(store: Store): Promise<Reply> {
  const all = await store.listListeners();
  const data = [];
  for (const l of all) data.push(await withBacklog(store, l));
  return jsonReply(200, { data } satisfies z.output<typeof listenersJson>);
}

export async function getListener(store: Store, name: string): Promise<Reply> {
  const found = await store.getListener(name);
  if (!found) return errorReply('not_found', `no listener ${name}`);
  return jsonReply(200, await withBacklog(store, found));
}

const bad = (message: string): Reply =>
  jsonReply(400, { error: { code: 'body_invalid', message, param: 'cursor' } });

/**
 * Moves the listener's cursor forward to `cursor`, creating the listener there. A cursor past
 * the stream's head was never handed out: storing it would make the listener skip every event
 * up to it, so it is refused, as a malformed one is.
 */
export async function ackListener(store: Store, name: string, cursor: string): Promise<Reply> {
  if (!/^\d{1,20}(\.\d{1,19})?$/.test(cursor)) return bad('cursor: is not a stream cursor');
  if (compareCursors(cursor, await store.headCursor()) > 0) {
    return bad('cursor: is ahead of the stream: no stream gave it out');
  }
  try {
    return jsonReply(200, ackJson(await store.ackListener(name, cursor, Date.now())));
  } catch (error) {
    if (error instanceof RangeError) return bad('cursor: is not a stream cursor');
    throw error;
  }
}
