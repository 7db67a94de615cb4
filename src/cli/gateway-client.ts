// The REST API of a (remote) gateway, for the commands that read or replay events.
import { CommandError, gatewayUrl, type Io } from './io.ts';

/** The gateway answered, with a status other than 2xx. */
export class GatewayError extends CommandError {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface Client {
  base: URL;
  /** The API token, when one is set. */
  token: string | undefined;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  /** For the stream: the raw response. */
  raw(path: string, init?: RequestInit): Promise<Response>;
}

export function client(
  flags: { url?: string | undefined; token?: string | undefined },
  io: Io,
): Client {
  const base = gatewayUrl(flags.url, io.env);
  const token = flags.token ?? (io.env.HOOKYARD_API_TOKEN || undefined);
  const raw = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
    try {
      return await fetch(new URL(path, base), { ...init, headers });
    } catch (error) {
      const reason = (error as { cause?: { code?: string; message?: string } }).cause;
      const cause = reason?.code ?? reason?.message ?? String(error);
      throw new CommandError(`cannot reach the gateway at ${base.origin}: ${cause}`);
    }
  };
  const call = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await raw(path, init);
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 300);
      try {
        const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
        if (parsed.error) message = `${parsed.error.code}: ${parsed.error.message}`;
      } catch {
        // not JSON: the excerpt
      }
      const hint = res.status === 401 ? ' (set --token or HOOKYARD_API_TOKEN)' : '';
      throw new GatewayError(res.status, `the gateway answered ${res.status}: ${message}${hint}`);
    }
    return JSON.parse(text) as T;
  };
  return {
    base,
    token,
    get: (path) => call(path),
    post: (path, body) =>
      call(path, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      }),
    raw,
  };
}

/** One message of a Server-Sent Events stream (the fields /api/stream sends). */
export interface SseMessage {
  event: string;
  /** The `id:` field, when the message has one (an event's stream cursor). */
  id: string | undefined;
  data: string;
}

/**
 * The messages of an SSE response body, in order (the WHATWG event stream format, as far as
 * /api/stream uses it: comments skipped, `data` lines joined). Throws when the connection
 * breaks, or when nothing (not even the stream's 15 s keepalive comment) came for `idleMs`:
 * a connection a sleeping laptop or a vanished network left half-open never ends by itself.
 */
export async function* sseMessages(
  res: Response,
  idleMs: number,
): AsyncGenerator<SseMessage, void, undefined> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the stream was silent for ${idleMs / 1000} s`)),
          idleMs,
        );
      });
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await Promise.race([reader.read(), idle]);
      } finally {
        clearTimeout(timer);
      }
      if (read.done) return;
      buffer += decoder.decode(read.value, { stream: true });
      for (;;) {
        const separator = /\r?\n\r?\n/.exec(buffer);
        if (separator === null) break;
        const block = buffer.slice(0, separator.index);
        buffer = buffer.slice(separator.index + separator[0].length);
        let event = 'message';
        let id: string | undefined;
        const data: string[] = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = value;
          else if (field === 'id') id = value;
          else if (field === 'data') data.push(value);
        }
        if (data.length > 0) yield { event, id, data: data.join('\n') };
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
