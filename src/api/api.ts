// The REST API over the store, framework-free like ingest: bearer token, a route table that
// tells an unknown path (404) from a method the path does not take (405 + Allow), strict
// validation of every query and body (schemas.ts), and a store outage answered 503.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import type { Config } from '../config.ts';
import { ERROR_CODES, errorReply, jsonReply, type Reply } from '../errors.ts';
import type { RejectionLog } from '../ingest/rejections.ts';
import type { Lifecycle } from '../lifecycle.ts';
import { type Store, StoreUnavailableError } from '../store/contract.ts';
import type { GroupCommit } from '../store/group-commit.ts';
import type { ActivityCounter } from '../store/series.ts';
import { listDestinations } from './destinations.ts';
import { eventBody, eventDetail, listEvents } from './events.ts';
import { ackListener, getListener, listListeners } from './listeners.ts';
import { type ReplayDeps, replayBulk, replayOne } from './replay.ts';
import { activitySeries } from './series.ts';
import {
  EVENT_ID_PATTERN,
  LISTENER_NAME_PATTERN,
  listEventsQuery,
  listenerAckBody,
  noQuery,
  type Failure,
  parseBody,
  parseQuery,
  type rejectionsJson,
  rejectionsQuery,
  seriesQuery,
  replayBulkBody,
  replayOneBody,
  type statsJson,
} from './schemas.ts';

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
  /** The activity counts (GET /api/series, the recent outcomes of GET /api/destinations). */
  activity: ActivityCounter;
}

/** Seconds a client should wait before trying again while the store is unreachable. */
const RETRY_AFTER_SECONDS = '5';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** `Bearer <token>` (RFC 6750 §2.1), the scheme in any case: an authentication scheme is a
 * case-insensitive token (RFC 9110 §11.1, formerly RFC 7235 §2.1). */
export function authorized(token: string | undefined, header: string | undefined): boolean {
  if (!token || header === undefined) return false;
  const credentials = /^bearer +(.+)$/i.exec(header)?.[1];
  if (credentials === undefined) return false;
  // Hashing first gives equal lengths, so the comparison is constant-time.
  return timingSafeEqual(digest(credentials.trim()), digest(token));
}

/** A 400 naming the parameter or key at fault in `error.param`, as Stripe's API does
 * (https://docs.stripe.com/api/errors). */
export function invalid(code: 'query_invalid' | 'body_invalid', failed: Failure): Reply {
  const error = { code, message: failed.message, ...(failed.param && { param: failed.param }) };
  return jsonReply(ERROR_CODES[code].status, { error });
}

type Handler = (req: ApiRequest, params: readonly string[]) => Promise<Reply>;

/** A GET route: its query parameters validated, and no body. */
function get<Q>(
  query: z.ZodType<Q>,
  handle: (params: readonly string[], query: Q) => Promise<Reply>,
): Handler {
  return async (req, params) => {
    const q = parseQuery(query, req.query);
    if (!q.ok) return invalid('query_invalid', q);
    // Filters sent as a body to a GET would be silently ignored; say so instead.
    if (req.body.trim() !== '') {
      return invalid('body_invalid', { ok: false, param: '', message: 'GET takes no body' });
    }
    return handle(params, q.value);
  };
}

/** A POST route: no query parameters (a flag put in the URL must not be ignored), a JSON body. */
function post<B>(
  body: z.ZodType<B>,
  emptyAs: object | undefined,
  handle: (params: readonly string[], body: B) => Promise<Reply>,
): Handler {
  return async (req, params) => {
    const q = parseQuery(noQuery, req.query);
    if (!q.ok) return invalid('query_invalid', q);
    const b = parseBody(body, req.body, emptyAs);
    if (!b.ok) return invalid('body_invalid', b);
    return handle(params, b.value);
  };
}

interface Route {
  /** Matched against the whole path below /api; groups are the handler's params. */
  path: RegExp;
  methods: { GET?: Handler; POST?: Handler };
}

/** What the `Allow` header of a 405 lists: HEAD goes with GET (RFC 9110 §9.3.2). */
function allowed(route: Route): string {
  return Object.keys(route.methods)
    .flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]))
    .join(', ');
}

/** The API's handler, and its route table as data (the OpenAPI coverage test reads it). */
export type Api = ((req: ApiRequest) => Promise<Reply>) & {
  readonly routes: readonly { path: RegExp; methods: readonly ('GET' | 'POST')[] }[];
};

/** `GET /api/stats`, snake_case like every other body (docs/spec.md §5). */
function statsBody(c: GroupCommit['stats'], rejections: RejectionLog): z.output<typeof statsJson> {
  const m = process.memoryUsage();
  return {
    commits: {
      batches: c.batches,
      events: c.events,
      failures: c.failures,
      refused: c.refused,
      last_failure_at: c.lastFailureAt,
      healthy: c.healthy,
    },
    memory: {
      rss: m.rss,
      heap_total: m.heapTotal,
      heap_used: m.heapUsed,
      external: m.external,
      array_buffers: m.arrayBuffers,
    },
    rejections: { total: rejections.total, counts: rejections.countsBySource() },
  };
}

export function createApi(deps: ApiDeps): Api {
  const { store } = deps;
  const unavailable = (message: string) =>
    errorReply('storage_unavailable', message, { 'retry-after': RETRY_AFTER_SECONDS });

  /**
   * Whether a failure is the store being unreachable. Stores say so with
   * StoreUnavailableError; an error of another kind counts as an outage only if the store
   * cannot be reached now either, so that a bug still surfaces as a 500.
   */
  async function isOutage(error: unknown): Promise<boolean> {
    if (error instanceof StoreUnavailableError) return true;
    try {
      await store.ping();
      return false;
    } catch {
      return true;
    }
  }

  const replayDeps: ReplayDeps = {
    config: deps.config,
    store,
    lifecycle: deps.lifecycle,
    async partial(error, done) {
      if (!(await isOutage(error))) throw error;
      // The client must know a retry would replay the first events again.
      const note = done.deliveries > 0 ? ` after ${done.deliveries} deliveries were created` : '';
      return unavailable(`the store cannot be reached${note}`);
    },
  };

  const ID = `(${EVENT_ID_PATTERN})`;
  const routes: Route[] = [
    {
      path: /^\/events$/,
      methods: { GET: get(listEventsQuery, (_, query) => listEvents(store, query)) },
    },
    {
      path: new RegExp(`^/events/${ID}$`),
      methods: { GET: get(noQuery, ([id]) => eventDetail(store, id as string)) },
    },
    {
      path: new RegExp(`^/events/${ID}/body$`),
      methods: { GET: get(noQuery, ([id]) => eventBody(store, id as string)) },
    },
    {
      path: new RegExp(`^/events/${ID}/replay$`),
      methods: {
        POST: post(replayOneBody, {}, ([id], body) => replayOne(replayDeps, id as string, body)),
      },
    },
    {
      // No empty-body default: a bare POST must not replay every event.
      path: /^\/replay$/,
      methods: { POST: post(replayBulkBody, undefined, (_, body) => replayBulk(replayDeps, body)) },
    },
    {
      path: /^\/listeners$/,
      methods: { GET: get(noQuery, () => listListeners(store)) },
    },
    {
      path: new RegExp(`^/listeners/(${LISTENER_NAME_PATTERN})$`),
      methods: { GET: get(noQuery, ([name]) => getListener(store, name as string)) },
    },
    {
      path: new RegExp(`^/listeners/(${LISTENER_NAME_PATTERN})/ack$`),
      methods: {
        POST: post(listenerAckBody, undefined, ([name], body) =>
          ackListener(store, name as string, body.cursor),
        ),
      },
    },
    {
      path: /^\/rejections$/,
      methods: {
        GET: get(rejectionsQuery, async (_, { limit }) =>
          jsonReply(200, {
            total: deps.rejections.total,
            counts: deps.rejections.countsBySource(),
            data: deps.rejections.recent(limit).map((r) => ({
              at: new Date(r.at).toISOString(),
              source: r.source,
              ...(r.name !== undefined && { name: r.name }),
              code: r.code,
              status: r.status,
              message: r.message,
              remote_address: r.remoteAddress,
              size: r.size,
            })),
          } satisfies z.output<typeof rejectionsJson>),
        ),
      },
    },
    {
      path: /^\/destinations$/,
      methods: { GET: get(noQuery, () => listDestinations(deps.config, deps.activity)) },
    },
    {
      path: /^\/series$/,
      methods: { GET: get(seriesQuery, (_, q) => activitySeries(deps.activity, q.window)) },
    },
    {
      path: /^\/stats$/,
      methods: {
        GET: get(noQuery, async () =>
          jsonReply(200, statsBody(deps.commits.stats, deps.rejections)),
        ),
      },
    },
  ];

  // Without a token the API stays closed rather than open: events hold customer data.
  const api = async (req: ApiRequest): Promise<Reply> => {
    if (!authorized(deps.config.api.token, req.authorization)) {
      const message = deps.config.api.token
        ? 'a valid bearer token is needed'
        : 'the API is disabled: set api.token in the config';
      return errorReply('unauthorized', message, { 'www-authenticate': 'Bearer' });
    }
    for (const route of routes) {
      const match = route.path.exec(req.path);
      if (!match) continue;
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      const handler = method === 'GET' || method === 'POST' ? route.methods[method] : undefined;
      if (!handler) {
        return errorReply('method_not_allowed', `${req.method} is not allowed on /api${req.path}`, {
          allow: allowed(route),
        });
      }
      try {
        return await handler(req, match.slice(1));
      } catch (error) {
        if (await isOutage(error)) return unavailable('the store cannot be reached');
        throw error; // a bug: the HTTP adapter logs it and answers 500 internal_error
      }
    }
    return errorReply('not_found', `no route /api${req.path}`);
  };
  return Object.assign(api, {
    routes: routes.map((r) => ({
      path: r.path,
      methods: Object.keys(r.methods) as ('GET' | 'POST')[],
    })),
  });
}
