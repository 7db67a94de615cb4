// `hookyard listen --forward-to <local url>` (docs/spec.md §6): the gateway's stream of stored
// events, each POSTed to a local app with its original bytes and headers, so the app's own
// signature check (stripe.webhooks.constructEvent) passes. Durable: the gateway keeps, per
// listener name, the cursor of the last event the local app answered 2xx for (POST
// /api/listeners/:name/ack), and the stream resumes after it (GET /api/stream?listener=), so
// a listener that was away — laptop asleep, network gone, local app down, listen killed —
// catches up in order, then goes live. The tools people use for this lose events: the Stripe
// CLI stores nothing (stripe-cli #214), Hookdeck's asks for a manual retry (hookdeck-cli #14),
// smee numbers ids per connection and re-serialises the body (smee-client #325).
//
// One event at a time, in stream order: forward, and only after a 2xx acknowledge, and only
// after the acknowledgement is stored take the next. So a crash repeats at most the one event
// in flight, and nothing is skipped: a local app that fails is retried with backoff, the
// events behind it wait. Details of the next few events are fetched ahead meanwhile, which
// changes nothing of that order.
import { Agent as HttpAgent, type OutgoingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { hostname } from 'node:os';
import { type Client, client, GatewayError, sseMessages } from '../gateway-client.ts';
import { CommandError, defineCommand, gatewayArgs, type Io, UsageError } from '../io.ts';

/** What the stream's `event: event` messages carry (GET /api/stream). */
interface StreamedEvent {
  id: string;
  source: string;
  type: string | null;
  size: number;
}

/** GET /api/events/:id, the part forwarding needs. */
interface EventDetail {
  id: string;
  source: string;
  type: string | null;
  size: number;
  headers: [string, string][];
  body: string;
  body_encoding: 'utf8' | 'base64';
}

/** What is forwarded: the stored bytes and the headers as they arrived. */
interface Forwardable {
  headers: [string, string][];
  body: Buffer;
}

export interface ListenOptions {
  forwardTo: URL;
  name: string;
  source?: string | undefined;
  events?: string | undefined;
  /** First and longest wait between tries of the local app, ms. */
  retryMs?: [number, number];
  /** First and longest wait between connections to the gateway, ms. */
  reconnectMs?: [number, number];
  /** A stream silent this long is taken as dead (the gateway sends a comment every 15 s). */
  idleMs?: number;
  /** How long one POST to the local app may take, ms. */
  timeoutMs?: number;
  /** Events whose details are fetched ahead of the one being forwarded. */
  prefetch?: number;
}

/** Headers of one connection, not of the message (RFC 9110 §7.6.1), and those the request to
 * the local app has its own of: they are not forwarded. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'http2-settings',
]);

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
function clock(d = new Date()): string {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** The next wait of an exponential backoff, with ±20 % jitter so that many listeners that lost
 * the same gateway do not come back in step. */
function backoff(attempt: number, [first, most]: [number, number]): number {
  const base = Math.min(most, first * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** The default listener name: this machine's, so two laptops do not take over each other. */
export function defaultListenerName(): string {
  const name = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return name || 'listener';
}

class TakenOver extends Error {}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

type Outcome = { status: number; ms: number } | { error: string; ms: number };

/** POSTs the stored bytes to the local app with node:http: the headers go as they came (fetch
 * would refuse or rewrite some), keep-alive between events. */
function post(
  url: URL,
  event: Forwardable,
  agents: { http: HttpAgent; https: HttpsAgent },
  timeoutMs: number,
): Promise<Outcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of event.headers) {
    const key = name.toLowerCase();
    if (NOT_FORWARDED.has(key)) continue;
    const had = headers[key];
    // Repeated headers keep every value, in order.
    headers[key] = had === undefined ? value : [had, value].flat().map(String);
  }
  headers['content-length'] = String(event.body.length);
  return new Promise((resolve) => {
    const https = url.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)(url, {
      method: 'POST',
      headers,
      agent: https ? agents.https : agents.http,
      timeout: timeoutMs,
    });
    req.on('response', (res) => {
      res.resume(); // the answer's body is not needed; read it so the socket is reused
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: ms() }));
      res.on('error', (error) => resolve({ error: error.message, ms: ms() }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ error: error.code ?? error.message, ms: ms() }),
    );
    req.end(event.body);
  });
}

/** A POST of JSON to the gateway on a kept-alive node:http socket: the acknowledgement after
 * every event is half of listen's time per event, and fetch's own overhead was most of it
 * (bench/listen). Errors as the gateway client's (GatewayError with the status). */
function postJson<T>(
  url: URL,
  body: unknown,
  token: string | undefined,
  agents: { http: HttpAgent; https: HttpsAgent },
  timeoutMs: number,
): Promise<T> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const https = url.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': String(payload.length),
        ...(token !== undefined && { authorization: `Bearer ${token}` }),
      },
      agent: https ? agents.https : agents.http,
      timeout: timeoutMs,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          reject(new GatewayError(status, `the gateway answered ${status}: ${text.slice(0, 300)}`));
          return;
        }
        try {
          resolve(JSON.parse(text) as T);
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(`cannot reach the gateway at ${url.origin}: ${error.code ?? error.message}`),
      ),
    );
    req.end(payload);
  });
}

/** The stored bytes exactly: the detail's text when it is the whole body (its UTF-8 length is
 * the stored size), else GET /api/events/:id/body. */
async function fetchEvent(api: Client, id: string): Promise<Forwardable> {
  const path = `/api/events/${encodeURIComponent(id)}`;
  const detail = await api.get<EventDetail>(path);
  let body =
    detail.body_encoding === 'base64'
      ? Buffer.from(detail.body, 'base64')
      : Buffer.from(detail.body, 'utf8');
  if (body.length !== detail.size) {
    const res = await api.raw(`${path}/body`);
    if (!res.ok) throw new GatewayError(res.status, `the gateway answered ${res.status}`);
    body = Buffer.from(await res.arrayBuffer());
  }
  return { headers: detail.headers, body };
}

/**
 * The listen loop, until `signal` aborts (tests; Ctrl-C ends the process). Resolves 0 then;
 * rejects with a CommandError when the gateway refuses the token or the listener.
 */
export async function listen(
  options: ListenOptions,
  api: Client,
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  const retryMs = options.retryMs ?? [200, 10_000];
  const reconnectMs = options.reconnectMs ?? [250, 10_000];
  const idleMs = options.idleMs ?? 45_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const prefetch = options.prefetch ?? 16;
  const agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets: 1 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: 1 }),
  };
  const name = options.name;
  const query = new URLSearchParams({ listener: name });
  if (options.source) query.set('source', options.source);
  if (options.events) query.set('type', options.events);
  const log = (line: string) => io.stderr.write(`${line}\n`);
  let failures = 0;
  let warnedTakeover = false;

  /** Retries the local app until it answers 2xx (or listen stops): events behind it wait. */
  async function forward(e: StreamedEvent, body: Forwardable): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await post(options.forwardTo, body, agents, timeoutMs);
      const ok = 'status' in outcome && outcome.status >= 200 && outcome.status < 300;
      const status = 'status' in outcome ? String(outcome.status) : outcome.error;
      const wait = ok ? 0 : backoff(attempt, retryMs);
      const retry = ok ? '' : `  (retrying in ${(wait / 1000).toFixed(1)} s)`;
      io.stdout.write(
        `${clock()}  ${e.source}  ${e.type ?? '-'}  ${status}  ${outcome.ms} ms  ${e.id}${retry}\n`,
      );
      if (ok) return true;
      await sleep(wait, signal);
      if (signal.aborted) return false;
    }
  }

  const ackUrl = new URL(`/api/listeners/${encodeURIComponent(name)}/ack`, api.base);
  const gatewayAgents = {
    http: new HttpAgent({ keepAlive: true, maxSockets: 1 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: 1 }),
  };

  /** Stores the cursor; a gateway that cannot be reached is tried again until it can: the next
   * event goes only once this one can no longer be repeated. */
  async function ack(cursor: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const stored = await postJson<{ cursor: string }>(
          ackUrl,
          { cursor },
          api.token,
          gatewayAgents,
          timeoutMs,
        );
        if (stored.cursor !== cursor && !warnedTakeover) {
          warnedTakeover = true;
          log(`another listen of ${name} is ahead of this one: it has taken over`);
        }
        return;
      } catch (error) {
        if (error instanceof GatewayError && error.status >= 400 && error.status < 500) throw error;
        if (signal.aborted) return;
        const wait = backoff(attempt, reconnectMs);
        log(`acknowledging: ${(error as Error).message}; again in ${(wait / 1000).toFixed(1)} s`);
        await sleep(wait, signal);
        if (signal.aborted) return;
      }
    }
  }

  /** One connection: the stream from the stored cursor, each event forwarded then
   * acknowledged. Returns when the stream ends; throws when it breaks. */
  async function session(): Promise<void> {
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal.addEventListener('abort', stop, { once: true });
    try {
      const res = await api.raw(`/api/stream?${query}`, {
        headers: { accept: 'text/event-stream' },
        signal: controller.signal,
      });
      if (!res.ok) {
        const text = await res.text().catch(() => '');
        throw new GatewayError(
          res.status,
          `the stream answered ${res.status}: ${text.slice(0, 200)}`,
        );
      }
      // Opened: the listener is stored now (a new name at the head), so it can be read.
      const info = await api.get<{ cursor: string; backlog: number }>(
        `/api/listeners/${encodeURIComponent(name)}`,
      );
      const more = info.backlog >= 10_000 ? ' or more' : '';
      log(
        `${clock()}  connected to ${api.base.origin} as listener ${name}: ${info.backlog}${more} events to catch up; forwarding to ${options.forwardTo.href}`,
      );
      failures = 0;
      // Events read from the stream, each with its details fetched ahead once near the front.
      const queue: { e: StreamedEvent; cursor: string; body?: Promise<Forwardable> }[] = [];
      let wakeWorker: (() => void) | undefined;
      let wakeReader: (() => void) | undefined;
      let ended = false;
      let broken: unknown;
      let takenOver = false;
      const fetchAhead = () => {
        for (const item of queue.slice(0, prefetch)) {
          if (item.body) continue;
          item.body = fetchEvent(api, item.e.id);
          item.body.catch(() => undefined); // awaited in turn; an early failure is not unhandled
        }
      };
      const reading = (async () => {
        try {
          for await (const m of sseMessages(res, idleMs)) {
            if (m.event === 'takeover') {
              takenOver = true;
              break;
            }
            if (m.event !== 'event' || m.id === undefined) continue;
            queue.push({ e: JSON.parse(m.data) as StreamedEvent, cursor: m.id });
            fetchAhead();
            wakeWorker?.();
            // Far ahead of the local app: stop reading; the gateway holds the rest (and
            // drops a stream too far behind, which then resumes from the stored cursor).
            while (queue.length > 1000 && !controller.signal.aborted) {
              await new Promise<void>((r) => (wakeReader = r));
            }
          }
        } catch (error) {
          if (!controller.signal.aborted) broken = error;
        } finally {
          ended = true;
          wakeWorker?.();
        }
      })();
      try {
        for (;;) {
          if (signal.aborted) return;
          if (takenOver) {
            // The event in flight was finished; the rest is the newer listen's.
            throw new TakenOver(`another listen of ${name} has taken over; this one stops`);
          }
          const item = queue[0];
          if (!item) {
            if (ended) break;
            await new Promise<void>((r) => (wakeWorker = r));
            continue;
          }
          fetchAhead();
          let body: Forwardable | undefined;
          try {
            body = await item.body;
          } catch (error) {
            // Pruned (retention) between the stream and now: nothing left to forward.
            if (!(error instanceof GatewayError && error.status === 404)) throw error;
            log(`${clock()}  ${item.e.id} is no longer stored; skipped`);
          }
          if (body && !(await forward(item.e, body))) return;
          await ack(item.cursor);
          if (signal.aborted) return;
          queue.shift();
          wakeReader?.();
        }
        if (broken) throw broken;
      } finally {
        controller.abort();
        wakeReader?.();
        await reading;
      }
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  try {
    while (!signal.aborted) {
      let reason: string;
      try {
        await session();
        reason = 'the stream ended';
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof TakenOver) throw new CommandError(error.message);
        if (error instanceof GatewayError && [400, 401, 403, 404].includes(error.status)) {
          throw new CommandError(error.message);
        }
        reason = (error as Error).message;
      }
      if (signal.aborted) break;
      const wait = backoff(failures++, reconnectMs);
      log(`${clock()}  ${reason}; reconnecting in ${(wait / 1000).toFixed(1)} s`);
      await sleep(wait, signal);
    }
    return 0;
  } finally {
    for (const agent of [agents.http, agents.https, gatewayAgents.http, gatewayAgents.https]) {
      agent.destroy();
    }
  }
}

export const listenCommand = defineCommand({
  meta: {
    name: 'listen',
    description: 'forward the gateway’s events to a local app, durably, byte for byte',
  },
  args: {
    'forward-to': {
      type: 'string',
      description: 'the local URL each event is POSTed to (required)',
      valueHint: 'url',
    },
    name: {
      type: 'string',
      description: 'the listener name whose place the gateway keeps (default: this host’s name)',
      valueHint: 'listener',
    },
    source: { type: 'string', description: 'only events of this source', valueHint: 'source' },
    events: {
      type: 'string',
      description: 'only event types matching this glob (payment_intent.*)',
      valueHint: 'glob',
    },
    ...gatewayArgs,
  },
  notes: `The gateway stores, per listener name, the last event the local app answered 2xx for:
a listen that was away (laptop asleep, network gone, app down, listen killed) catches up in
order from there, then goes live. A local app that does not answer 2xx is retried with backoff;
the events behind it wait. At most the one event in flight when listen is killed is forwarded
twice. A second listen of the same name takes over from the stored place; the first
finishes the event in flight and stops.

Example:
  hookyard listen --url https://hooks.example.com --token … --name laptop \\
    --forward-to http://localhost:3000/webhooks/stripe
`,
  async run({ args, io }) {
    const target = args['forward-to'];
    if (target === undefined) throw new UsageError('--forward-to: a local URL is required');
    let forwardTo: URL;
    try {
      forwardTo = new URL(target);
      if (forwardTo.protocol !== 'http:' && forwardTo.protocol !== 'https:') throw new Error();
    } catch {
      throw new UsageError(
        `--forward-to: expected an http:// or https:// URL, got ${JSON.stringify(target)}`,
      );
    }
    const name = args.name ?? defaultListenerName();
    if (!NAME.test(name)) {
      throw new UsageError(
        `--name: letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit; got ${JSON.stringify(name)}`,
      );
    }
    const api = client(args, io);
    return listen(
      { forwardTo, name, source: args.source, events: args.events },
      api,
      io,
      new AbortController().signal,
    );
  },
});
