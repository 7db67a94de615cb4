// A Server-Sent Events reader for tests, as a dashboard or `hookyard listen` reads the stream:
// fetch with the token in a header (never EventSource, never the token in a URL), resuming
// with Last-Event-ID.

export interface SseMessage {
  event: string;
  id?: string;
  data: string;
}

export interface SseConnection {
  status: number;
  /** The next message (comments skipped); undefined once the stream has ended. */
  next(timeoutMs?: number): Promise<SseMessage | undefined>;
  close(): void;
}

export async function openStream(
  url: string,
  token: string,
  lastEventId?: string,
): Promise<SseConnection> {
  const controller = new AbortController();
  const res = await fetch(url, {
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'text/event-stream',
      ...(lastEventId !== undefined && { 'last-event-id': lastEventId }),
    },
    signal: controller.signal,
  });
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const ready: SseMessage[] = [];
  let ended = false;

  const parse = () => {
    for (;;) {
      const end = buffer.search(/\r?\n\r?\n/);
      if (end < 0) return;
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      const m: SseMessage = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') m.event = value;
        else if (field === 'id') m.id = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length === 0 && m.id === undefined) continue; // a comment block
      m.data = data.join('\n');
      ready.push(m);
    }
  };

  return {
    status: res.status,
    async next(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (ready.length === 0) {
        if (ended || !reader) return undefined;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no SSE message in time');
        let timer: NodeJS.Timeout | undefined;
        const chunk = await Promise.race([
          reader.read(),
          new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), left))),
        ]).catch(() => ({ done: true, value: undefined }) as const);
        clearTimeout(timer);
        if (chunk === 'timeout') continue;
        if (chunk.done) ended = true;
        else buffer += decoder.decode(chunk.value, { stream: true });
        parse();
      }
      return ready.shift();
    },
    close() {
      controller.abort();
    },
  };
}
