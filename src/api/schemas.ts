// The shapes every /api route accepts, as zod schemas: the one place a query parameter or a
// body key is declared, so that validation and an OpenAPI document can come from the same
// source. Everything is strict: an unknown key, a repeated parameter or a wrongly typed value
// is refused with the name of what was wrong, never ignored (a misspelled filter on a bulk
// replay would otherwise widen it to every event).
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.ts';
import { decodeCursor, type EventFilter, type EventStatus } from '../store/contract.ts';
import { parseSearch } from '../store/search.ts';
import type { SeriesWindow } from '../store/series.ts';

export const EVENT_STATUSES = [
  'received',
  'pending',
  'failing',
  'delivered',
  'dead',
] as const satisfies readonly EventStatus[];

/** Most events one page of `GET /api/events` holds; a larger `limit` is served as this. */
export const MAX_EVENTS_PAGE = 500;
/** The rejection log keeps this many (src/ingest/rejections.ts). */
export const MAX_REJECTIONS_PAGE = 1000;

const TIME_HELP = 'must be an ISO 8601 time (2024-05-01T12:00:00Z, 2024-05-01) or Unix seconds';
const isoDateTime = z.iso.datetime({ offset: true });
const isoDate = z.iso.date();

/** ISO 8601 (a date, or a date-time with `Z` or an offset) or Unix seconds → Unix ms. Local
 * times without an offset are refused: which zone they meant is a guess. */
function timeMs(text: string): number | undefined {
  if (/^\d{1,12}$/.test(text)) return Number(text) * 1000;
  if (!isoDateTime.safeParse(text).success && !isoDate.safeParse(text).success) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

const timeText = z.string().transform((text, ctx) => {
  const ms = timeMs(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: TIME_HELP });
    return z.NEVER;
  }
  return ms;
});

/** A positive integer written in digits, capped at `max` (cursor paging fetches the rest). */
const pageSize = (max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a positive integer')
    .transform(Number)
    .refine((n) => n >= 1, 'must be a positive integer')
    .transform((n) => Math.min(n, max));

const cursor = z
  .string()
  .refine((c) => decodeCursor(c) !== undefined, 'is not a cursor this server gave out');

/** Search text: its words (src/store/search.ts), at least one. */
const searchText = z
  .string()
  .max(200, 'must be at most 200 characters')
  .refine(hasWords, 'must contain a word (letters or digits)')
  .describe(
    'search the body and the ids: each word must begin a word of the event, case-insensitive (cus_12 finds cus_123); a word of 1 or 2 characters must match a whole word',
  );

function hasWords(q: string): boolean {
  try {
    parseSearch(q);
    return true;
  } catch {
    return false;
  }
}

/** The filters `GET /api/events` and a bulk replay share, as query parameters. */
const filterParams = {
  source: z.string().optional().describe('the source name'),
  type: z.string().optional().describe('an event type, or a glob with * (payment_intent.*)'),
  status: z.enum(EVENT_STATUSES).optional(),
  since: timeText.optional().describe('received at or after (ISO 8601 or Unix seconds)'),
  until: timeText.optional().describe('received before (ISO 8601 or Unix seconds)'),
  q: searchText.optional(),
};

/** `GET /api/events` */
export const listEventsQuery = z.strictObject({
  ...filterParams,
  limit: pageSize(MAX_EVENTS_PAGE).default(50).describe(`1 to ${MAX_EVENTS_PAGE}, default 50`),
  cursor: cursor.optional().describe("the previous page's next_cursor"),
});

/** `GET /api/rejections` */
export const rejectionsQuery = z.strictObject({
  limit: pageSize(MAX_REJECTIONS_PAGE)
    .default(100)
    .describe(`1 to ${MAX_REJECTIONS_PAGE}, default 100`),
});

/** Routes that take no query parameters (every POST among them: `POST /api/replay?dry_run=true`
 * must not run for real with the flag ignored). */
export const noQuery = z.strictObject({});

export const SERIES_WINDOWS = ['1h', '6h', '24h', '7d'] as const satisfies readonly SeriesWindow[];

/** `GET /api/series` */
export const seriesQuery = z.strictObject({
  window: z
    .enum(SERIES_WINDOWS)
    .default('1h')
    .describe('the last 1h or 6h in 60 s buckets, 24h in 300 s, 7d in 3600 s; default 1h'),
});

// Body values are typed JSON: a string where a boolean belongs is wrong, not coerced.
const name = z.string().min(1, 'must not be empty');
const bodyTime = z.union([
  z
    .int()
    .min(0)
    .transform((seconds) => seconds * 1000),
  z.string().pipe(timeText),
]);

/** `POST /api/events/:id/replay`: an empty body means every destination the event went to. */
export const replayOneBody = z.strictObject({
  destination: name.optional().describe('replay to this destination only'),
});

/** `POST /api/replay`: the filters of `GET /api/events`, a destination, and the dry run. */
export const replayBulkBody = z.strictObject({
  source: name.optional(),
  type: name.optional(),
  status: z.enum(EVENT_STATUSES).optional(),
  since: bodyTime.optional(),
  until: bodyTime.optional(),
  q: searchText.optional(),
  destination: name.optional().describe('replay to this destination only'),
  dry_run: z.boolean().optional().describe('count only: true creates nothing'),
});

/** An `EventFilter` from parsed filters, leaving out what was not given. */
export function eventFilter(
  parsed: {
    source?: string | undefined;
    type?: string | undefined;
    status?: EventStatus | undefined;
    since?: number | undefined;
    until?: number | undefined;
    cursor?: string | undefined;
    q?: string | undefined;
  },
  limit: number,
): EventFilter {
  const filter: EventFilter = { limit };
  if (parsed.source !== undefined) filter.source = parsed.source;
  if (parsed.type !== undefined) filter.type = parsed.type;
  if (parsed.status !== undefined) filter.status = parsed.status;
  if (parsed.since !== undefined) filter.since = parsed.since;
  if (parsed.until !== undefined) filter.until = parsed.until;
  if (parsed.cursor !== undefined) filter.cursor = parsed.cursor;
  if (parsed.q !== undefined) filter.q = parsed.q;
  return filter;
}

/** What was wrong: the parameter or key at fault ('' for the body as a whole), and a line
 * that names every problem. */
export interface Failure {
  ok: false;
  param: string;
  message: string;
}
export type Parsed<T> = { ok: true; value: T } | Failure;

/** The first offending key (for `error.param`) and every issue in one line. */
function failure(error: z.ZodError, what: 'query parameter' | 'key'): Failure {
  let param = '';
  const parts = error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      param ||= issue.keys[0] ?? '';
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      return `unknown ${what}${issue.keys.length > 1 ? 's' : ''} ${keys}`;
    }
    const path = issue.path.map(String).join('.');
    param ||= path;
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  return { ok: false, param, message: parts.join('; ') };
}

/**
 * Query parameters against a strict schema. An empty value is the same as leaving the
 * parameter out (how forms and URL templates send "no filter"); a parameter given twice is
 * refused rather than one of its values picked.
 */
export function parseQuery<T>(schema: z.ZodType<T>, query: URLSearchParams): Parsed<T> {
  const values: Record<string, string> = Object.create(null);
  for (const [key, value] of query) {
    if (key in values) {
      return { ok: false, param: key, message: `${key}: given more than once` };
    }
    values[key] = value;
  }
  for (const key of Object.keys(values)) if (values[key] === '') delete values[key];
  const result = schema.safeParse(values);
  return result.success
    ? { ok: true, value: result.data }
    : failure(result.error, 'query parameter');
}

/**
 * A JSON body against a strict schema. `emptyAs` is what a body of no bytes stands for, or
 * undefined when the route needs an explicit JSON object.
 */
export function parseBody<T>(
  schema: z.ZodType<T>,
  text: string,
  emptyAs: object | undefined,
): Parsed<T> {
  let value: unknown;
  if (text.trim() === '') {
    if (emptyAs === undefined) {
      return { ok: false, param: '', message: 'the body must be a JSON object, e.g. {}' };
    }
    value = emptyAs;
  } else {
    try {
      value = JSON.parse(text);
    } catch {
      return { ok: false, param: '', message: 'the body is not valid JSON' };
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, param: '', message: 'the body must be a JSON object' };
  }
  const result = schema.safeParse(value);
  return result.success ? { ok: true, value: result.data } : failure(result.error, 'key');
}

// ---------------------------------------------------------------------------------------------
// What the routes answer. The route code types its output with these (z.output<typeof …>), and
// src/api/openapi.ts turns them into the document's response schemas, so a field renamed in
// one place fails the type check until it is renamed in the other; the API tests then hold
// every response they see against the document (test/helpers/openapi.ts). Responses are
// strict too: a field the document does not name is a drift, not an extra.

/** An event id in a path: what the route table matches (src/api/api.ts). */
export const EVENT_ID_PATTERN = '[A-Za-z0-9_]{1,64}';

/** A durable listener's name in a path or the stream's `?listener=` (hookyard listen --name). */
export const LISTENER_NAME_PATTERN = '[A-Za-z0-9][A-Za-z0-9._-]{0,63}';

const isoTime = z.iso.datetime().describe('ISO 8601, UTC');
const count = z.int().min(0);

/** One event in `GET /api/events` and in the stream's `event: event` messages. */
export const eventSummaryJson = z.strictObject({
  id: z.string().describe('the Hookyard id (hye_…)'),
  source: z.string().describe('the source it arrived on'),
  event_id: z.string().describe("the provider's id for it (evt_… for Stripe), or Hookyard's"),
  type: z.string().nullable().describe("the provider's event type, when it names one"),
  status: z.enum(EVENT_STATUSES),
  received_at: isoTime,
  size: count.describe('body bytes'),
});

export const attemptJson = z.strictObject({
  n: z.int().min(1).describe('1 for the first attempt'),
  at: isoTime.describe('when it started'),
  duration_ms: z.number().min(0),
  status_code: z.int().nullable().describe('null when no response came (error says why)'),
  outcome: z.enum(['delivered', 'retry', 'dead']),
  response: z.string().nullable().describe('the first 4 KiB of the response body'),
  error: z.string().nullable(),
});

export const deliveryDetailJson = z.strictObject({
  id: z.string(),
  destination: z.string(),
  status: z.enum(['pending', 'delivered', 'dead']),
  next_attempt_at: isoTime.nullable(),
  last_error: z.string().nullable(),
  attempts: z.array(attemptJson),
});

/** `GET /api/events/:id` */
export const eventDetailJson = eventSummaryJson.extend({
  content_type: z.string().nullable(),
  headers: z
    .array(z.tuple([z.string(), z.string()]))
    .describe('[name, value] pairs as they arrived, in order'),
  body: z.string().describe('the body as UTF-8 text, or base64 when it is not valid UTF-8'),
  body_encoding: z.enum(['utf8', 'base64']),
  deliveries: z.array(deliveryDetailJson),
});

/** `GET /api/events` */
export const eventPageJson = z.strictObject({
  data: z.array(eventSummaryJson).describe('newest first'),
  next_cursor: z
    .string()
    .nullable()
    .describe(
      'pass as cursor for the next page; null at the end. A page filtered by type, time or status walks at most 5,000 events: it may then be short, even empty, with a next_cursor',
    ),
});

/** `POST /api/events/:id/replay` */
export const replayOneJson = z.strictObject({
  deliveries: z
    .array(z.strictObject({ id: z.string().nullable(), destination: z.string() }))
    .describe('the deliveries created'),
});

/** `POST /api/replay`: 200 for a dry run (nothing created), 202 when deliveries were created. */
export const replayBulkJson = z.strictObject({
  dry_run: z.boolean(),
  events: count.describe('events matched'),
  deliveries: count.describe('deliveries created (or that would be, on a dry run)'),
  truncated: z.boolean().describe('true when the run stopped at its cap of events'),
});

const rejectionCounts = z
  .array(z.strictObject({ source: z.string(), code: z.string(), count }))
  .describe('refusals since start, per source and code');

const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** `GET /api/rejections` */
export const rejectionsJson = z.strictObject({
  total: count.describe('refusals since start'),
  counts: rejectionCounts,
  data: z
    .array(
      z.strictObject({
        at: isoTime,
        source: z.string().describe('the configured source, or "(unknown)"'),
        name: z.string().optional().describe('for an unknown source: the name the URL gave'),
        code: z.enum(ERROR_CODE_NAMES),
        status: z.int(),
        message: z.string(),
        remote_address: z.string().nullable(),
        size: count.nullable(),
      }),
    )
    .describe('the most recent refusals, newest first'),
});

/** `GET /api/destinations` */
export const destinationsJson = z.strictObject({
  data: z.array(
    z.strictObject({
      name: z.string(),
      url: z.string().describe('without user info or fragment, query values masked as ***'),
      pending: count,
      in_flight: count,
      oldest_pending_age_s: count.nullable(),
      delivered_5m: count,
      failed_5m: count,
      delivered_1h: count,
      failed_1h: count,
      dead: count,
      last_error: z.string().nullable(),
    }),
  ),
});

/** `GET /api/series` */
export const seriesJson = z.strictObject({
  bucket_s: z.int().min(1),
  data: z
    .array(z.strictObject({ t: isoTime, received: count, delivered: count, failed: count }))
    .describe('every bucket of the window, oldest first; the last is the bucket of now'),
});

/** `GET /api/stats`. The group-commit counters and Node's process.memoryUsage(), snake_case. */
export const statsJson = z.strictObject({
  commits: z.strictObject({
    batches: count,
    events: count,
    failures: count,
    refused: count,
    last_failure_at: z.number().nullable().describe('Unix ms of the last failed commit'),
    healthy: z.boolean(),
  }),
  memory: z
    .strictObject({
      rss: count,
      heap_total: count,
      heap_used: count,
      external: count,
      array_buffers: count,
    })
    .describe("Node's process.memoryUsage(), bytes"),
  rejections: z.strictObject({ total: count, counts: rejectionCounts }),
});

/** A stream's `event: delivery` message (src/api/stream.ts DeliveryOutcome). */
export const deliveryOutcomeJson = z.strictObject({
  event: z.string(),
  delivery: z.string(),
  destination: z.string(),
  status: z.enum(['delivered', 'failing', 'dead']),
  attempt: z.int().min(1),
  status_code: z.int().nullable(),
});

/** `GET /api/stream`: documented here, checked by its own parser in src/http/web.ts. */
export const streamQuery = z.strictObject({
  source: z.string().optional().describe('the source name'),
  type: z.string().optional().describe('an event type, or a glob with * (payment_intent.*)'),
  after: z
    .string()
    .optional()
    .describe('resume after this cursor (an `id:` of the stream); Last-Event-ID wins'),
  listener: z
    .string()
    .regex(new RegExp(`^${LISTENER_NAME_PATTERN}$`))
    .optional()
    .describe(
      "a durable listener's name: without Last-Event-ID or after, resume after its acknowledged cursor (a listener seen for the first time starts at the head, and is stored there)",
    ),
});

/** `POST /api/listeners/:name/ack` */
export const listenerAckBody = z.strictObject({
  cursor: z
    .string()
    .min(1, 'must not be empty')
    .describe('the `id:` of the last stream message the local app answered 2xx for'),
});

/** Most events `backlog` counts: more reads as this number. */
export const MAX_LISTENER_BACKLOG = 10_000;

/** A durable listener: where its local app has got to. */
export const listenerJson = z.strictObject({
  name: z.string(),
  cursor: z.string().describe('the stream cursor of the last event acknowledged'),
  created_at: isoTime,
  updated_at: isoTime.describe('when it last acknowledged'),
  backlog: count
    .max(MAX_LISTENER_BACKLOG)
    .describe(
      `events stored after the cursor (of every source and type), counted up to ${MAX_LISTENER_BACKLOG}: ${MAX_LISTENER_BACKLOG} means at least as many`,
    ),
});

/** `POST /api/listeners/:name/ack`: the listener as stored now (its cursor is ahead of the one
 * sent when another listener of the same name has taken over and got further). */
export const listenerAckJson = listenerJson.omit({ backlog: true });

/** `GET /api/listeners` */
export const listenersJson = z.strictObject({
  data: z.array(listenerJson).describe('by name'),
});

/** `{"error":{"code","message"}}` (src/errors.ts); `param` names the query parameter or body
 * key at fault (query_invalid, body_invalid). */
export const errorJson = z.strictObject({
  error: z.strictObject({
    code: z.enum(ERROR_CODE_NAMES),
    message: z.string(),
    param: z.string().optional(),
  }),
});
