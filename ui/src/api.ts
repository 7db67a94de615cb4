// The dashboard's only way to the gateway: fetch() with the bearer token in the Authorization
// header (never in a URL). A 401 sends the operator back to the login screen; a 503 or an
// unreachable gateway is retried for reads, with a banner, until it answers again.
import { SseParser } from './sse.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly param: string | undefined;
  constructor(status: number, code: string, message: string, param?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

export type Outage = 'storage' | 'network' | null;

export interface ClientHooks {
  /** The token was refused: back to the login screen. */
  unauthorized(): void;
  /** The store (503) or the gateway (no answer) is down, or back (null). */
  outage(kind: Outage): void;
}

export type Query = Record<string, string | number | undefined>;

function url(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== '') params.set(k, String(v));
  const text = params.toString();
  return `/api${path}${text ? `?${text}` : ''}`;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText;
  let param: string | undefined;
  try {
    const body = (await res.json()) as {
      error?: { code?: string; message?: string; param?: string };
    };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
    param = body.error?.param;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message, param);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = window.setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        window.clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });

export const isAbort = (error: unknown) =>
  error instanceof DOMException && error.name === 'AbortError';

export class Client {
  private readonly token: string;
  private readonly hooks: ClientHooks;
  private down: Outage = null;

  constructor(token: string, hooks: ClientHooks) {
    this.token = token;
    this.hooks = hooks;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, ...extra };
  }

  private setOutage(kind: Outage): void {
    if (this.down === kind) return;
    this.down = kind;
    this.hooks.outage(kind);
  }

  /** One request; 401 calls the hook; the answer is returned whatever its status. */
  async raw(path: string, init: RequestInit & { query?: Query } = {}): Promise<Response> {
    const { query, ...rest } = init;
    const res = await fetch(url(path, query), {
      ...rest,
      headers: this.headers(rest.headers as Record<string, string> | undefined),
      cache: 'no-store',
      credentials: 'omit',
    });
    if (res.status === 401) {
      this.hooks.unauthorized();
      throw await errorOf(res);
    }
    return res;
  }

  /** A read, retried while the store or the gateway is down; other errors are thrown. */
  async get<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
    for (let wait = 500; ; wait = Math.min(wait * 2, 5000)) {
      let res: Response;
      try {
        res = await this.raw(path, { query, ...(signal && { signal }) });
      } catch (error) {
        if (error instanceof ApiError || isAbort(error)) throw error;
        this.setOutage('network');
        await sleep(wait, signal);
        continue;
      }
      if (res.status === 503) {
        this.setOutage('storage');
        await res.body?.cancel();
        await sleep(wait, signal);
        continue;
      }
      this.setOutage(null);
      if (!res.ok) throw await errorOf(res);
      return (await res.json()) as T;
    }
  }

  /** A write: sent once, never retried (a replay must not run twice). */
  async post<T>(path: string, body: unknown): Promise<T> {
    const res = await this.raw(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  }

  /** The stored bytes of an event, as a Blob to save (a link could not carry the token). */
  async body(id: string): Promise<Blob> {
    const res = await this.raw(`/events/${encodeURIComponent(id)}/body`);
    if (!res.ok) throw await errorOf(res);
    return res.blob();
  }

  /**
   * Follows GET /api/stream, reconnecting with Last-Event-ID after a drop so that nothing is
   * missed or repeated. Resolves when `signal` aborts, or with 'unavailable' when the gateway
   * has no stream (404): the caller polls instead.
   */
  async stream(
    onMessage: (event: string, data: string) => void,
    onState: (state: 'connecting' | 'live' | 'reconnecting') => void,
    signal: AbortSignal,
  ): Promise<'unavailable' | 'stopped'> {
    let lastEventId = '';
    let wait = 500;
    while (!signal.aborted) {
      onState(lastEventId ? 'reconnecting' : 'connecting');
      // A stream that went quiet for longer than three pings is dead, whatever TCP thinks.
      const attempt = new AbortController();
      const stop = () => attempt.abort();
      signal.addEventListener('abort', stop, { once: true });
      let watchdog = 0;
      const feed = () => {
        window.clearTimeout(watchdog);
        watchdog = window.setTimeout(stop, 45_000);
      };
      try {
        feed();
        const res = await this.raw('/stream', {
          headers: {
            accept: 'text/event-stream',
            ...(lastEventId && { 'last-event-id': lastEventId }),
          },
          signal: attempt.signal,
        });
        if (res.status === 404) return 'unavailable';
        if (res.ok && res.body) {
          this.setOutage(null);
          onState('live');
          wait = 500;
          const parser = new SseParser();
          parser.lastEventId = lastEventId;
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            feed();
            for (const m of parser.push(value)) {
              lastEventId = m.lastEventId;
              onMessage(m.event, m.data);
            }
            if (parser.retryMs !== undefined) wait = parser.retryMs;
          }
        } else {
          if (res.status === 503) this.setOutage('storage');
          await res.body?.cancel();
        }
      } catch (error) {
        if (error instanceof ApiError) return 'stopped'; // 401: the hook took over
        if (!signal.aborted && !attempt.signal.aborted) this.setOutage('network');
      } finally {
        window.clearTimeout(watchdog);
        signal.removeEventListener('abort', stop);
      }
      if (signal.aborted) break;
      onState('reconnecting');
      await sleep(wait, signal).catch(() => undefined);
      wait = Math.min(wait * 2, 10_000);
    }
    return 'stopped';
  }
}
