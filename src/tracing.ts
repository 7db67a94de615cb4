// OpenTelemetry tracing (docs/spec.md §9): a span per ingest request and one per delivery
// attempt, the attempt in the ingest's trace. Only `@opentelemetry/api` is used: until the
// application registers an SDK (a TracerProvider), every call here reaches the API's no-op
// tracer, and nothing is formatted, parsed or stored for a request that carries no
// `traceparent` (one that does has it checked and stored: a process that delivers with an SDK
// still joins the sender's trace).
//
// The trace context travels with the stored event (`events.trace_context`), in W3C Trace
// Context form (https://www.w3.org/TR/trace-context/): whichever process leases a delivery —
// another one sharing PostgreSQL, or this one after a restart — parents its attempt span on
// it. It is Hookyard's own data, so it is read and written here rather than by the globally
// registered propagator (which may be B3, or none at all).
import {
  type Context,
  context,
  createTraceState,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

export type { Span } from '@opentelemetry/api';

/** The tracer every Hookyard span comes from (instrumentation scope `hookyard`). */
const tracer = trace.getTracer('hookyard');

// Option objects made once: nothing is allocated for them per span.
const SERVER: SpanOptions = { kind: SpanKind.SERVER };
const INTERNAL: SpanOptions = { kind: SpanKind.INTERNAL };
const CLIENT: SpanOptions = { kind: SpanKind.CLIENT };
const CLIENT_ROOT: SpanOptions = { kind: SpanKind.CLIENT, root: true };

/** version-traceid-parentid-flags, lowercase hex; version ff is invalid (W3C §3.2.2). A later
 * version may append fields after another dash, which a version-00 reader ignores. Tested
 * without captures, then sliced: a header is read on every request that has one. */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-|$)/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/** W3C asks that at least 512 characters of tracestate be passed on; a longer one is dropped
 * rather than trimmed (what a sender can make us store stays bounded). */
const MAX_TRACESTATE = 512;

/**
 * A remote span context from a `traceparent` (and `tracestate`) value, or undefined when the
 * value is not a valid one: a malformed header is ignored, never an error.
 */
export function parseTraceparent(
  traceparent: string,
  tracestate?: string,
): SpanContext | undefined {
  if (traceparent.length < 55 || traceparent.length > 512 || !TRACEPARENT.test(traceparent))
    return undefined;
  const version = traceparent.slice(0, 2);
  if (version === 'ff' || (version === '00' && traceparent.length !== 55)) return undefined;
  const traceId = traceparent.slice(3, 35);
  const spanId = traceparent.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  const sc: SpanContext = {
    traceId,
    spanId,
    traceFlags: Number.parseInt(traceparent.slice(53, 55), 16) & 1,
    isRemote: true,
  };
  if (tracestate && tracestate.length <= MAX_TRACESTATE)
    sc.traceState = createTraceState(tracestate);
  return sc;
}

/** A span context as `traceparent`, and its `tracestate` when it has one. */
export function formatTraceparent(sc: SpanContext): { traceparent: string; tracestate?: string } {
  const traceparent = `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & 1).toString(16)}`;
  const state = sc.traceState?.serialize();
  return state ? { traceparent, tracestate: state } : { traceparent };
}

/** The stored form: `traceparent`, then a newline and `tracestate` when there is one (a
 * tracestate holds no newline). */
function carry(sc: SpanContext): string {
  const { traceparent, tracestate } = formatTraceparent(sc);
  return tracestate === undefined ? traceparent : `${traceparent}\n${tracestate}`;
}

function uncarry(stored: string): SpanContext | undefined {
  const nl = stored.indexOf('\n');
  return nl < 0
    ? parseTraceparent(stored)
    : parseTraceparent(stored.slice(0, nl), stored.slice(nl + 1));
}

/**
 * The span of one webhook request, started when its headers are read. Its parent is the span
 * active now (an HTTP server instrumentation's, which has read `traceparent` itself), else the
 * sender's `traceparent` header: the sender's trace continues through Hookyard.
 */
export function startIngestSpan(traceparent: unknown, tracestate: unknown): Span {
  const active = context.active();
  if (trace.getSpan(active)) return tracer.startSpan('POST /webhooks/:source', INTERNAL, active);
  let parent: Context = active;
  if (typeof traceparent === 'string') {
    const remote = parseTraceparent(traceparent, typeof tracestate === 'string' ? tracestate : '');
    if (remote) parent = trace.setSpanContext(active, remote);
  }
  return tracer.startSpan('POST /webhooks/:source', SERVER, parent);
}

/**
 * What is stored with the event for its deliveries' spans: the ingest span's context under an
 * SDK — also when it is not sampled, so that the attempts follow the same sampling decision —
 * or, with no SDK here, the sender's context passed through (a process that delivers with an
 * SDK then still joins the sender's trace). Undefined when there is none (no SDK, no header):
 * nothing is written.
 */
export function storedTraceContext(span: Span): string | undefined {
  const sc = span.spanContext();
  // The no-op's span context is the all-zero one (INVALID_SPAN_CONTEXT); an SDK's ids are
  // random, and a remote parent's were checked when it was read.
  return sc.traceId === ZERO_TRACE || sc.spanId === ZERO_SPAN ? undefined : carry(sc);
}

/** The stored (or duplicate) event an ingest request answered for, on its span. */
export function recordIngestEvent(
  span: Span,
  id: string,
  type: string | null,
  duplicate: boolean,
): void {
  if (!span.isRecording()) return;
  span.setAttribute('hookyard.event.id', id);
  if (type !== null) span.setAttribute('hookyard.event.type', type);
  span.setAttribute('hookyard.duplicate', duplicate);
}

/** The code of an error reply (`{"error":{"code":…}}`), or undefined. */
function errorCode(body: string | Uint8Array): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How an ingest request ended, on its span; then ends it. `source`: a configured name, or the
 * one name unknown sources share (a span attribute a sender cannot multiply). No reply: the
 * client went away before its body arrived.
 */
export function endIngestSpan(
  span: Span,
  source: string,
  reply: { status: number; body: string | Uint8Array } | undefined,
): void {
  if (span.isRecording()) {
    span.setAttribute('http.request.method', 'POST');
    span.setAttribute('http.route', '/webhooks/:source');
    span.setAttribute('hookyard.source', source);
    if (reply) {
      span.setAttribute('http.response.status_code', reply.status);
      const code = reply.status >= 400 ? errorCode(reply.body) : undefined;
      if (code !== undefined) span.setAttribute('error.type', code);
      // A server span is an error for 5xx only: a 4xx is the client's (OTel HTTP conventions).
      if (reply.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    } else span.setAttribute('error.type', 'aborted');
  }
  span.end();
}

/**
 * The span of one delivery attempt, a child of the stored context (`traceContext` from the
 * lease), else the root of a trace of its own. Never a child of whatever is active now: a
 * worker's async chain started inside some other request.
 */
export function startAttemptSpan(name: string, traceContext: string | undefined): Span {
  const remote = traceContext === undefined ? undefined : uncarry(traceContext);
  if (!remote) return tracer.startSpan(name, CLIENT_ROOT, ROOT_CONTEXT);
  return tracer.startSpan(name, CLIENT, trace.setSpanContext(ROOT_CONTEXT, remote));
}

/** Runs `work` with `span` active (a handler's or an HTTP client's own spans nest under it);
 * a span that does not record costs no context switch. */
export function withSpan<T>(span: Span, work: () => T): T {
  if (!span.isRecording()) return work();
  return context.with(trace.setSpan(ROOT_CONTEXT, span), work);
}

/** The `traceparent` (and `tracestate`) of the attempt span active now (withSpan), for the
 * request to the destination: the receiving app's spans join the trace. Undefined when no
 * span records (the request is then sent as before). */
export function activeTraceHeaders(): { traceparent: string; tracestate?: string } | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? formatTraceparent(span.spanContext()) : undefined;
}

/** How an attempt ended, on its span; then ends it. */
export function endAttemptSpan(
  span: Span,
  destination: string,
  lease: { id: string; event: { id: string } },
  attempt: { n: number; statusCode: number | null; outcome: string; error: string | null },
): void {
  if (span.isRecording()) {
    span.setAttribute('hookyard.destination', destination);
    span.setAttribute('hookyard.delivery.id', lease.id);
    span.setAttribute('hookyard.event.id', lease.event.id);
    span.setAttribute('hookyard.attempt', attempt.n);
    span.setAttribute('hookyard.outcome', attempt.outcome);
    if (attempt.statusCode !== null)
      span.setAttribute('http.response.status_code', attempt.statusCode);
    if (attempt.outcome !== 'delivered') {
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: attempt.error ?? `HTTP ${attempt.statusCode}`,
      });
    }
  }
  span.end();
}
