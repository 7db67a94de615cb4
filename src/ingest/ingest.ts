// request → source → verify → identify → group commit → reply. No HTTP framework in here:
// adapters hand over headers and the raw body, and send back the Reply.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config, SourceConfig } from '../config.ts';
import { type ErrorCode, errorReply, jsonReply, type Reply } from '../errors.ts';
import { newId } from '../ids.ts';
import { valueAtPath } from '../json-path.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { NewEvent } from '../store/contract.ts';
import { EventRefusedError, type GroupCommit } from '../store/group-commit.ts';
import {
  endIngestSpan,
  recordIngestEvent,
  startIngestSpan,
  storedTraceContext,
  type Span,
} from '../tracing.ts';
import { createVerifier, type Verifier } from '../verify/index.ts';
import { type IngestRequest, identify, isSlackSslCheck, storable } from './identify.ts';
import { parsePayload } from './payload.ts';
import { ByteBudget, readWithin } from './budget.ts';
import { type HeaderLookup, readHeaders } from './headers.ts';
import { clip, LogLimiter, type RejectionLog, UNKNOWN_SOURCE } from './rejections.ts';

/** What an adapter hands over for one webhook request: the framework-free shape every
 * adapter (node:http, Express, Fastify, fetch) reduces a request to. */
export interface Exchange {
  method: string;
  /** The source's name, or the URL path segment that names it (`encoded`: still
   * percent-encoded, decoded here so that a malformed escape is a 404, never a crash). */
  source: string;
  encoded: boolean;
  /** Headers as received: a flat `[name, value, name, value, …]` list (node's rawHeaders). */
  rawHeaders: readonly string[];
  /** True where the runtime joined repeats of a header with ", " (fetch's `Headers`). */
  joinedHeaders?: boolean;
  remoteAddress: string | null;
  /** Feeds the body to `accept`, chunk by chunk, until the end or until `accept` says false
   * (then the adapter stops reading). 'aborted': the client went away. */
  readBody(accept: (chunk: Uint8Array) => boolean): Promise<'end' | 'stopped' | 'aborted'>;
}

/** The reply, and whether the connection must close (the body was not read to its end). */
export interface Outcome {
  reply: Reply;
  close: boolean;
}

export interface IngestContext {
  remoteAddress: string | null;
  /** Headers as received (original case, in order), stored with the event. */
  rawHeaders: [string, string][];
}

export interface Ingest {
  /** Every pre-check, the body read under the limits, then verify → store → reply.
   * Undefined when the client went away before its body arrived: nobody to answer. */
  receive(exchange: Exchange): Promise<Outcome | undefined>;
  /** Records a refusal made outside `receive` (a request timeout raised by the server). */
  refuse(
    source: string,
    code: ErrorCode,
    message: string,
    context: Partial<IngestContext> & { size?: number },
  ): Reply;
  /** Request bytes held now, across every request; shared with API bodies. */
  readonly budget: ByteBudget;
}

export interface IngestDeps {
  config: Config;
  commits: GroupCommit;
  rejections: RejectionLog;
  logger: Logger;
  lifecycle: Lifecycle;
  /** The destinations an event goes to (the router's answer; `payload` parses on demand). */
  route(event: { source: string; type: string | null; payload: () => unknown }): string[];
  /** Unix ms; tests pin it. */
  now?: () => number;
}

const RETRY_AFTER_S = '5';
/** A failing store is logged with its error at most this often; failures between are counted. */
const STORE_ERROR_LOG_EVERY_MS = 5000;

/**
 * An ordering key the store can index: a key with U+0000, a lone surrogate, or one longer than
 * 512 characters (PostgreSQL refuses an index row over a page) is replaced by its hash —
 * distinct keys stay distinct (JSON escapes what a text column cannot hold), equal ones equal.
 */
function storableKey(key: string): string {
  if (key.length <= 512 && storable(key)) return key;
  return `sha256:${createHash('sha256').update(JSON.stringify(key)).digest('hex')}`;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined; // a malformed escape names no source
  }
}

/** The declared body length: a number, null when none is declared, NaN when unreadable. */
function declaredLength(lookup: HeaderLookup): number | null {
  const value = lookup['content-length'];
  if (value === undefined) return null;
  return typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
}

export function createIngest(deps: IngestDeps): Ingest {
  const now = deps.now ?? Date.now;
  const { bodyLimit, maxBytesInFlight, refusalLogRate } = deps.config.server;
  const budget = new ByteBudget(maxBytesInFlight);
  const logLimiter = new LogLimiter(refusalLogRate);
  let storeErrorLoggedAt = Number.NEGATIVE_INFINITY;
  let storeErrorsSince = 0;
  const sources = new Map<
    string,
    { config: SourceConfig; verifier: Verifier; singleHeaders: string[] }
  >();
  for (const [name, config] of deps.config.sources) {
    const v = config.verifier;
    const singleHeaders =
      v.provider === 'hmac'
        ? [v.header, v.timestampHeader, config.idHeader]
            .filter((h): h is string => typeof h === 'string')
            .map((h) => h.toLowerCase())
        : [];
    sources.set(name, { config, verifier: createVerifier(v), singleHeaders });
  }

  /** `name` as a refusal key: itself when configured, else UNKNOWN_SOURCE (bounded keys). */
  function refuse(
    name: string,
    code: ErrorCode,
    message: string,
    context: Partial<IngestContext> & { size?: number },
    headers: Record<string, string> = {},
  ): Reply {
    const reply = errorReply(code, message, headers);
    const known = sources.has(name);
    const source = known ? name : UNKNOWN_SOURCE;
    const at = now();
    deps.rejections.add({
      at,
      source,
      ...(!known && { name }),
      code,
      status: reply.status,
      message,
      remoteAddress: context.remoteAddress ?? null,
      size: context.size ?? null,
    });
    deps.lifecycle.emit('request:refused', { source, code, status: reply.status });
    const leftOut = logLimiter.take(at);
    if (leftOut !== undefined) {
      deps.logger.info(
        {
          source,
          ...(!known && { name: clip(name) }),
          code,
          remoteAddress: context.remoteAddress,
          ...(leftOut > 0 && { refusalsNotLogged: leftOut }),
        },
        `refused: ${message}`,
      );
    }
    return reply;
  }

  async function receive(x: Exchange): Promise<Outcome | undefined> {
    const started = performance.now(); // for event:acked (the ingest duration metric)
    const name = x.encoded ? decodeSegment(x.source) : x.source;
    const source = name === undefined ? undefined : sources.get(name);
    const headers = readHeaders(x.rawHeaders, x.joinedHeaders, source?.singleHeaders);
    // The request's span (tracing.ts): a no-op that records nothing unless an SDK is set up.
    const span = startIngestSpan(headers.lookup.traceparent, headers.lookup.tracestate);
    let outcome: Outcome | undefined;
    try {
      outcome = await respond(x, name, source, headers, started, span);
      return outcome;
    } finally {
      endIngestSpan(span, source ? (name as string) : UNKNOWN_SOURCE, outcome?.reply);
    }
  }

  async function respond(
    x: Exchange,
    name: string | undefined,
    source: { config: SourceConfig; verifier: Verifier } | undefined,
    { pairs, lookup }: ReturnType<typeof readHeaders>,
    started: number,
    span: Span,
  ): Promise<Outcome | undefined> {
    const shown = clip(name ?? x.source);
    const remoteAddress = x.remoteAddress;
    const declared = declaredLength(lookup);
    const hasBody = declared === null ? lookup['transfer-encoding'] !== undefined : declared !== 0;
    // Refusing a body we have not read: close, so the client cannot keep sending it to us.
    const early = (code: ErrorCode, message: string, headers: Record<string, string> = {}) => ({
      reply: refuse(name ?? x.source, code, message, { remoteAddress }, headers),
      close: hasBody,
    });
    if (x.method !== 'POST')
      return early('method_not_allowed', 'webhooks are POSTed', { allow: 'POST' });
    if (!source || name === undefined) return early('source_not_found', `no source named ${shown}`);
    const tooLarge = `body is over the ${bodyLimit}-byte limit`;
    const busy = 'too many request bytes in flight; retry later';
    const retry = { 'retry-after': RETRY_AFTER_S };
    if (Number.isNaN(declared)) return early('bad_request', 'content-length is not a number');
    if (declared !== null && declared > bodyLimit) return early('body_too_large', tooLarge);
    const { read, release } = await readWithin(x.readBody, bodyLimit, budget, declared);
    try {
      if (read.kind === 'busy' && read.size === 0) return early('server_busy', busy, retry);
      if (read.kind !== 'body') {
        if (read.kind === 'aborted') return undefined;
        const context = { remoteAddress, size: read.size };
        const reply =
          read.kind === 'too_large'
            ? refuse(name, 'body_too_large', tooLarge, context)
            : refuse(name, 'server_busy', busy, context, retry);
        return { reply, close: true };
      }
      const contentType = lookup['content-type'];
      const reply = await handle(
        name,
        source,
        {
          headers: lookup,
          body: read.body,
          contentType: typeof contentType === 'string' ? contentType : null,
        },
        { remoteAddress, rawHeaders: pairs },
        started,
        span,
      );
      return { reply, close: false };
    } finally {
      release();
    }
  }

  async function handle(
    name: string,
    source: { config: SourceConfig; verifier: Verifier },
    req: IngestRequest,
    context: IngestContext,
    started: number,
    span: Span,
  ): Promise<Reply> {
    const size = req.body.length;
    if (isSlackSslCheck(source.config, req)) return { status: 200, headers: {}, body: '' };

    const receivedAt = now();
    const verified = source.verifier.verify({
      body: req.body,
      headers: req.headers,
      now: receivedAt,
    });
    if (!verified.ok) {
      return refuse(name, verified.error.code, verified.error.message, { ...context, size });
    }

    const found = identify(source.config, req);
    if (found.kind === 'invalid')
      return refuse(name, 'payload_invalid', found.message, { ...context, size });
    if (found.kind === 'handshake') {
      return {
        status: found.status,
        headers: { 'content-type': found.contentType },
        body: found.body,
      };
    }

    // Parsed at most once, and only if a route filter or an ordering key needs it.
    let payload: { value: unknown } | undefined;
    const getPayload = () => {
      if (!payload) {
        const parsed = parsePayload(req.body, req.contentType);
        payload = { value: parsed.ok ? parsed.value : undefined };
      }
      return payload.value;
    };
    const destinations = deps
      .route({ source: name, type: found.type, payload: getPayload })
      .map((d) => {
        const keyPath = deps.config.destinations.get(d)?.orderingKey;
        const key = keyPath === undefined ? undefined : valueAtPath(getPayload(), keyPath);
        const orderingKey =
          typeof key === 'string' || typeof key === 'number' ? storableKey(String(key)) : null;
        return { destination: d, orderingKey };
      });
    const event: NewEvent = {
      id: newId('hye', receivedAt),
      source: name,
      eventId: found.eventId,
      type: found.type,
      receivedAt,
      headers: context.rawHeaders,
      contentType: req.contentType,
      body: req.body,
      destinations,
    };
    const traceContext = storedTraceContext(span);
    if (traceContext !== undefined) event.traceContext = traceContext;
    try {
      const outcome = await deps.commits.submit(event);
      recordIngestEvent(span, outcome.id, found.type, outcome.duplicate);
      const status = outcome.duplicate ? 'duplicate' : 'received';
      if (!outcome.duplicate) {
        deps.lifecycle.emit('event:received', {
          id: outcome.id,
          source: name,
          type: found.type,
          destinations: destinations.map((d) => d.destination),
        });
      }
      deps.lifecycle.emit('event:acked', {
        source: name,
        duplicate: outcome.duplicate,
        seconds: (performance.now() - started) / 1000,
      });
      deps.logger.debug({ source: name, id: outcome.id, eventId: found.eventId, status }, 'event');
      return jsonReply(200, { id: outcome.id, status });
    } catch (error) {
      // The store refused this event alone for its data; its batch-mates are stored.
      if (error instanceof EventRefusedError) {
        return refuse(name, 'payload_invalid', 'the event cannot be stored as sent', {
          ...context,
          size,
        });
      }
      // During an outage every request fails alike: one line with the error, then one every
      // 5 s that counts the failures in between (each is still a refusal, logged and kept).
      const at = now();
      if (at - storeErrorLoggedAt >= STORE_ERROR_LOG_EVERY_MS) {
        deps.logger.error(
          { err: error, source: name, failedSinceLastLine: storeErrorsSince },
          'store failed; answering 503',
        );
        storeErrorLoggedAt = at;
        storeErrorsSince = 0;
      } else storeErrorsSince++;
      return refuse(
        name,
        'storage_unavailable',
        'the event could not be stored; retry later',
        { ...context, size },
        { 'retry-after': RETRY_AFTER_S },
      );
    }
  }

  return {
    receive,
    refuse: (source, code, message, context) => refuse(source, code, message, context),
    budget,
  };
}
