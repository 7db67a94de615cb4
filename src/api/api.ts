// The REST API over the store (SPEC §5), framework-free like ingest. Bearer token from config.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';
import { errorReply, jsonReply, type Reply } from '../errors.ts';
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
}

export interface ApiDeps {
  config: Config;
  store: Store;
  commits: GroupCommit;
  rejections: RejectionLog;
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

export function createApi(deps: ApiDeps): (req: ApiRequest) => Promise<Reply> {
  // Without a token the API stays closed rather than open: events hold customer data.
  return async (req) => {
    if (!authorized(deps.config.api.token, req.authorization)) {
      const message = deps.config.api.token
        ? 'a valid bearer token is needed'
        : 'the API is disabled: set api.token in the config';
      return errorReply('unauthorized', message, { 'www-authenticate': 'Bearer' });
    }
    if (req.method !== 'GET')
      return errorReply('not_found', `no route ${req.method} /api${req.path}`);

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
        rejections: { total: deps.rejections.total, counts: deps.rejections.countsBySource() },
      });
    }

    return errorReply('not_found', `no route GET /api${req.path}`);
  };
}
