// What every provider's ingest module shares (src/ingest/providers/): the request it reads,
// what it answers, and the checks every event id and type pass.
import { createHash } from 'node:crypto';

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

export function one(req: IngestRequest, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = req.headers[name];
    if (typeof v === 'string' && v.length > 0) return v;
  }
  return undefined;
}

export function bodyHash(body: Uint8Array): string {
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

export const UNSTORABLE = 'contains U+0000 or a lone UTF-16 surrogate';

export function event(eventId: string, type: string | null | undefined): Identified {
  if (eventId.length > MAX_EVENT_ID) {
    return { kind: 'invalid', message: `event id is longer than ${MAX_EVENT_ID} characters` };
  }
  if (!storable(eventId)) return { kind: 'invalid', message: `event id ${UNSTORABLE}` };
  if (type && !storable(type)) return { kind: 'invalid', message: `event type ${UNSTORABLE}` };
  return { kind: 'event', eventId, type: type ?? null };
}
