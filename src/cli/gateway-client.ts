// The REST API of a (remote) gateway, for the commands that read or replay events.
import { CommandError, gatewayUrl, type Io } from './io.ts';

export interface Client {
  base: URL;
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
      throw new CommandError(`the gateway answered ${res.status}: ${message}${hint}`);
    }
    return JSON.parse(text) as T;
  };
  return {
    base,
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
