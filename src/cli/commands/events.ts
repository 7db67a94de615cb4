// `hookyard events list | show | tail`: the API's list, detail and live stream in a terminal.
import { type Client, client, sseMessages } from '../gateway-client.ts';
import { CommandError, defineCommand, gatewayArgs, type Io, jsonArg } from '../io.ts';
import { table } from '../table.ts';

interface EventSummary {
  id: string;
  source: string;
  event_id: string;
  type: string | null;
  status: string;
  received_at: string;
  size: number;
}

interface EventDetail extends EventSummary {
  content_type: string | null;
  headers: [string, string][];
  body: string;
  body_encoding: 'utf8' | 'base64';
  deliveries: {
    id: string;
    destination: string;
    status: string;
    next_attempt_at: string | null;
    last_error: string | null;
    attempts: {
      n: number;
      at?: string;
      status_code?: number | null;
      duration_ms?: number;
      error?: string | null;
    }[];
  }[];
}

export const filterArgs = {
  source: { type: 'string', valueHint: 'name', description: 'only this source' },
  type: { type: 'string', valueHint: 'type', description: 'only this event type (a * glob)' },
  status: {
    type: 'string',
    valueHint: 'status',
    description: 'only events with this status (e.g. dead)',
  },
  since: {
    type: 'string',
    valueHint: 'time',
    description: 'received since (2h, 30m, an ISO time)',
  },
  until: { type: 'string', valueHint: 'time', description: 'received until' },
  q: { type: 'string', valueHint: 'text', description: 'full-text search in bodies and ids' },
} as const;

export function filterQuery(
  args: Record<string, unknown>,
  keys: readonly string[],
): URLSearchParams {
  const query = new URLSearchParams();
  for (const key of keys) {
    const value = args[key];
    if (typeof value === 'string') query.set(key, value);
  }
  return query;
}

const FILTERS = Object.keys(filterArgs);

function summaryRow(e: EventSummary): string[] {
  return [e.received_at, e.id, e.source, e.type ?? '-', e.status, String(e.size)];
}
const SUMMARY_HEADER = ['RECEIVED', 'ID', 'SOURCE', 'TYPE', 'STATUS', 'BYTES'];

const list = defineCommand({
  meta: { name: 'list', description: 'stored events, newest first' },
  args: {
    ...filterArgs,
    limit: { type: 'string', valueHint: 'n', description: 'how many (default 50)' },
    cursor: {
      type: 'string',
      valueHint: 'cursor',
      description: 'the next page, from a previous list',
    },
    ...gatewayArgs,
    ...jsonArg,
  },
  async run({ args, io }) {
    const query = filterQuery(args, [...FILTERS, 'limit', 'cursor']);
    const page = await client(args, io).get<{ data: EventSummary[]; next_cursor: string | null }>(
      `/api/events?${query}`,
    );
    if (args.json) {
      io.stdout.write(`${JSON.stringify(page)}\n`);
      return 0;
    }
    if (page.data.length === 0) io.stdout.write('no events\n');
    else io.stdout.write(table(SUMMARY_HEADER, page.data.map(summaryRow)));
    if (page.next_cursor) io.stdout.write(`more: --cursor ${page.next_cursor}\n`);
    return 0;
  },
});

const show = defineCommand({
  meta: { name: 'show', description: 'one event: headers, body, deliveries and attempts' },
  args: {
    id: { type: 'positional', required: true, valueHint: 'id', description: 'the event (hye_…)' },
    ...gatewayArgs,
    ...jsonArg,
  },
  async run({ args, io }) {
    const e = await client(args, io).get<EventDetail>(`/api/events/${encodeURIComponent(args.id)}`);
    if (args.json) {
      io.stdout.write(`${JSON.stringify(e)}\n`);
      return 0;
    }
    const out: string[] = [
      `${e.id}  ${e.source}  ${e.type ?? '-'}  ${e.status}`,
      `received ${e.received_at}, ${e.size} bytes, event id ${e.event_id}`,
      '',
      'Headers:',
      ...e.headers.map(([k, v]) => `  ${k}: ${v}`),
      '',
      `Body (${e.content_type ?? 'no content type'}${e.body_encoding === 'base64' ? ', base64' : ''}):`,
      prettyBody(e),
      '',
      'Deliveries:',
    ];
    if (e.deliveries.length === 0) out.push('  none');
    for (const d of e.deliveries) {
      out.push(
        `  ${d.destination}  ${d.status}${d.last_error ? `  last error: ${d.last_error}` : ''}`,
      );
      for (const a of d.attempts) {
        out.push(
          `    #${a.n} ${a.at ?? ''} ${a.status_code ?? a.error ?? ''} ${a.duration_ms ?? ''} ms`.trimEnd(),
        );
      }
    }
    io.stdout.write(`${out.join('\n')}\n`);
    return 0;
  },
});

function prettyBody(e: EventDetail): string {
  if (e.body_encoding === 'base64') return e.body;
  try {
    return JSON.stringify(JSON.parse(e.body), null, 2);
  } catch {
    return e.body;
  }
}

/** Reads `event: event` messages from /api/stream until the signal aborts. */
async function* stream(
  api: Client,
  query: URLSearchParams,
  signal: AbortSignal,
  onOpen: () => void,
) {
  const res = await api.raw(`/api/stream?${query}`, {
    headers: { accept: 'text/event-stream' },
    signal,
  });
  if (!res.ok || !res.body) throw new CommandError(`the stream answered ${res.status}`);
  onOpen();
  try {
    // The stream's keepalive comes every 15 s: silence for 45 s is a dead connection.
    for await (const m of sseMessages(res, 45_000)) yield { event: m.event, data: m.data };
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

const tail = defineCommand({
  meta: { name: 'tail', description: 'events as they arrive (Ctrl-C to stop)' },
  args: {
    source: filterArgs.source,
    type: filterArgs.type,
    ...gatewayArgs,
    ...jsonArg,
  },
  async run({ args, io }) {
    return tailEvents(args, io, new AbortController().signal);
  },
});

/** The tail loop; `signal` ends it (tests), as Ctrl-C ends the process. */
export async function tailEvents(
  args: {
    source?: string | undefined;
    type?: string | undefined;
    url?: string | undefined;
    token?: string | undefined;
    json?: boolean | undefined;
  },
  io: Io,
  signal: AbortSignal,
): Promise<number> {
  const api = client(args, io);
  const query = filterQuery(args, ['source', 'type']);
  // Said once the stream is open: events sent after this line are shown.
  const opened = () => {
    if (!args.json) io.stderr.write(`tailing ${api.base.origin}/api/stream (Ctrl-C to stop)\n`);
  };
  for await (const message of stream(api, query, signal, opened)) {
    if (message.event !== 'event') continue;
    if (args.json) {
      io.stdout.write(`${message.data}\n`);
      continue;
    }
    const e = JSON.parse(message.data) as EventSummary;
    io.stdout.write(`${summaryRow(e).join('  ')}\n`);
  }
  return 0;
}

export const eventsCommand = defineCommand({
  meta: { name: 'events', description: 'list, show and tail stored events' },
  subCommands: { list, show, tail },
});
