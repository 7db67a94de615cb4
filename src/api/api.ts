// The REST API over the store (SPEC §5), framework-free like ingest. Bearer token from config.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';
import { errorReply, jsonReply, type Reply } from '../errors.ts';
import type { Lifecycle } from '../events.ts';
import type { RejectionLog } from '../ingest/rejections.ts';
import type {
  DeliveryDetail,
  EventFilter,
  EventStatus,
  EventSummary,
  Store,
} from '../store/contract.ts';
import type { GroupCommit } from '../store/group-commit.ts';

export interface ApiRequest {
  method: string;
  /** The path below `/api`, e.g. `/events/hye_…`. */
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  /** The request body as text ('' when none). */
  body: string;
}

export interface ApiDeps {
  config: Config;
  store: Store;
  commits: GroupCommit;
  rejections: RejectionLog;
  lifecycle: Lifecycle;
}

const MAX_LIMIT = 500;
const STATUSES: readonly EventStatus[] = ['received', 'pending', 'failing', 'delivered', 'dead'];
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function deliveryJson(d: DeliveryDetail) {
  return {
    id: d.id,
    destination: d.destination,
    status: d.status,
    next_attempt_at: iso(d.nextAt),
    last_error: d.lastError,
    attempts: d.attempts.map((a) => ({
      n: a.n,
      at: iso(a.startedAt),
      duration_ms: a.durationMs,
      status_code: a.statusCode,
      outcome: a.outcome,
      response: a.response,
      error: a.error,
    })),
  };
}
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

const digest = (text: string) => createHash('sha256').update(text).digest();

function authorized(token: string | undefined, header: string | undefined): boolean {
  if (!token || !header?.startsWith('Bearer ')) return false;
  // Hashing first gives equal lengths, so the comparison is constant-time.
  return timingSafeEqual(digest(header.slice(7).trim()), digest(token));
}

/** ISO 8601, or Unix seconds as digits. */
function parseTime(value: string): number | undefined {
  if (/^\d{1,12}$/.test(value)) return Number(value) * 1000;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function eventJson(e: EventSummary) {
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

function listFilter(query: URLSearchParams): EventFilter | string {
  const filter: EventFilter = { limit: 50 };
  const limit = query.get('limit');
  if (limit !== null) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1) return 'limit must be a positive integer';
    filter.limit = Math.min(Number(limit), MAX_LIMIT);
  }
  for (const key of ['source', 'type', 'cursor'] as const) {
    const v = query.get(key);
    if (v) filter[key] = v;
  }
  const status = query.get('status');
  if (status !== null) {
    if (!STATUSES.includes(status as EventStatus))
      return `status must be one of ${STATUSES.join(', ')}`;
    filter.status = status as EventStatus;
  }
  for (const key of ['since', 'until'] as const) {
    const v = query.get(key);
    if (v === null) continue;
    const t = parseTime(v);
    if (t === undefined) return `${key} must be an ISO 8601 time or Unix seconds`;
    filter[key] = t;
  }
  return filter;
}

/** Bulk replay stops after this many events; the reply says it was cut short. */
const MAX_REPLAY_EVENTS = 100_000;

function jsonBody(text: string): Record<string, unknown> | string {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return 'the body must be a JSON object';
}

export function createApi(deps: ApiDeps): (req: ApiRequest) => Promise<Reply> {
  function destinationOf(body: Record<string, unknown>): string | undefined | Reply {
    const d = body.destination;
    if (d === undefined) return undefined;
    if (typeof d !== 'string') return errorReply('body_invalid', 'destination must be a name');
    if (!deps.config.destinations.has(d))
      return errorReply('destination_not_found', `no destination named ${d}`);
    return d;
  }

  async function replayRoute(req: ApiRequest): Promise<Reply | undefined> {
    const single = /^\/events\/([A-Za-z0-9_]+)\/replay$/.exec(req.path);
    if (!single && req.path !== '/replay') return undefined;
    if (req.method !== 'POST')
      return errorReply('not_found', `no route ${req.method} /api${req.path}`);
    const body = jsonBody(req.body);
    if (typeof body === 'string') return errorReply('body_invalid', body);
    const destination = destinationOf(body);
    if (destination !== undefined && typeof destination !== 'string') return destination;

    if (single) {
      const created = await deps.store.replayEvent(
        single[1] as string,
        destination,
        Date.now(),
        false,
      );
      if (!created) return errorReply('not_found', `no event ${single[1]}`);
      deps.lifecycle.emit('deliveries:created', {
        destinations: created.map((c) => c.destination),
      });
      return jsonReply(202, { deliveries: created });
    }

    // Bulk: the same filters as GET /api/events, newest first, page by page.
    const dryRun = body.dry_run === true;
    const params = new URLSearchParams();
    for (const key of ['source', 'type', 'status', 'since', 'until']) {
      const v = body[key];
      if (v !== undefined) params.set(key, String(v));
    }
    params.set('limit', '500');
    const filter = listFilter(params);
    if (typeof filter === 'string') return errorReply('body_invalid', filter);
    let events = 0;
    let deliveries = 0;
    const touched = new Set<string>();
    let truncated = false;
    for (;;) {
      const page = await deps.store.listEvents(filter);
      for (const e of page.data) {
        if (events >= MAX_REPLAY_EVENTS) {
          truncated = true;
          break;
        }
        const made = (await deps.store.replayEvent(e.id, destination, Date.now(), dryRun)) ?? [];
        events++;
        deliveries += made.length;
        for (const m of made) touched.add(m.destination);
      }
      // Wake the workers page by page, so a long replay starts delivering at once.
      if (!dryRun && touched.size > 0) {
        deps.lifecycle.emit('deliveries:created', { destinations: [...touched] });
      }
      if (truncated || !page.nextCursor) break;
      filter.cursor = page.nextCursor;
      // Let ingest and deliveries run between pages: a large replay must not stall them.
      await new Promise((r) => setImmediate(r));
    }
    return jsonReply(dryRun ? 200 : 202, { dry_run: dryRun, events, deliveries, truncated });
  }

  // Without a token the API stays closed rather than open: events hold customer data.
  return async (req) => {
    if (!authorized(deps.config.api.token, req.authorization)) {
      const message = deps.config.api.token
        ? 'a valid bearer token is needed'
        : 'the API is disabled: set api.token in the config';
      return errorReply('unauthorized', message, { 'www-authenticate': 'Bearer' });
    }
    const replay = await replayRoute(req);
    if (replay) return replay;
    if (req.method !== 'GET') {
      return errorReply('not_found', `no route ${req.method} /api${req.path}`);
    }

    if (req.path === '/events') {
      const filter = listFilter(req.query);
      if (typeof filter === 'string') return errorReply('query_invalid', filter);
      try {
        const page = await deps.store.listEvents(filter);
        return jsonReply(200, { data: page.data.map(eventJson), next_cursor: page.nextCursor });
      } catch (error) {
        if (error instanceof RangeError) return errorReply('query_invalid', error.message);
        throw error;
      }
    }

    const match = /^\/events\/([A-Za-z0-9_]+)(\/body)?$/.exec(req.path);
    if (match) {
      const event = await deps.store.getEvent(match[1] as string);
      if (!event) return errorReply('not_found', `no event ${match[1]}`);
      if (match[2]) {
        // The stored bytes exactly, with the content type they arrived with.
        return {
          status: 200,
          headers: { 'content-type': event.contentType ?? 'application/octet-stream' },
          body: event.body,
        };
      }
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
      });
    }

    if (req.path === '/rejections') {
      const limit = Math.min(Number(req.query.get('limit') ?? 100) || 100, 1000);
      return jsonReply(200, {
        total: deps.rejections.total,
        counts: deps.rejections.countsBySource(),
        data: deps.rejections
          .recent(limit)
          .map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
      });
    }

    if (req.path === '/stats') {
      return jsonReply(200, {
        commits: deps.commits.stats,
        memory: process.memoryUsage(),
        rejections: { total: deps.rejections.total, counts: deps.rejections.countsBySource() },
      });
    }

    return errorReply('not_found', `no route GET /api${req.path}`);
  };
}
