// `hookyard replay <id…>` or `hookyard replay --status dead --since 2h`: new deliveries for
// stored events. A bulk run shows the count first (a dry run) and asks unless --yes.
import { createInterface } from 'node:readline/promises';
import { client } from '../gateway-client.ts';
import { CommandError, defineCommand, gatewayArgs, jsonArg, UsageError } from '../io.ts';
import { filterArgs } from './events.ts';

interface BulkResult {
  dry_run: boolean;
  events: number;
  deliveries: number;
  truncated: boolean;
}

export const replayCommand = defineCommand({
  meta: { name: 'replay', description: 'deliver stored events again' },
  args: {
    ids: {
      type: 'positional',
      required: false,
      valueHint: 'id…',
      description: 'events to replay (hye_…)',
    },
    ...filterArgs,
    destination: { type: 'string', valueHint: 'name', description: 'to this destination only' },
    'dry-run': { type: 'boolean', description: 'only count what would be replayed' },
    yes: { type: 'boolean', alias: 'y', description: 'do not ask before a bulk replay' },
    ...gatewayArgs,
    ...jsonArg,
  },
  notes: `Without ids, the filters choose the events (at least one filter is needed); the count
is shown first and the replay asked for, unless --yes.
`,
  async run({ args, io }) {
    const api = client(args, io);
    const ids = args._.filter((a) => a.length > 0);
    const destination = args.destination === undefined ? {} : { destination: args.destination };
    if (ids.length > 0) {
      const filters = Object.keys(filterArgs).filter(
        (k) => (args as Record<string, unknown>)[k] !== undefined,
      );
      if (filters.length > 0)
        throw new UsageError(`give event ids or filters, not both (--${filters[0]})`);
      const results = [];
      for (const id of ids) {
        if (args['dry-run']) {
          results.push({ id, dry_run: true });
          continue;
        }
        const r = await api.post<{ deliveries: { id: string | null; destination: string }[] }>(
          `/api/events/${encodeURIComponent(id)}/replay`,
          destination,
        );
        results.push({ id, ...r });
        if (!args.json)
          io.stdout.write(
            `${id}: ${r.deliveries.length} deliveries (${r.deliveries.map((d) => d.destination).join(', ') || 'none'})\n`,
          );
      }
      if (args.json) io.stdout.write(`${JSON.stringify(results)}\n`);
      return 0;
    }
    const filters: Record<string, string> = {};
    for (const key of Object.keys(filterArgs)) {
      const value = (args as Record<string, unknown>)[key];
      if (typeof value === 'string') filters[key] = value;
    }
    if (Object.keys(filters).length === 0) {
      throw new UsageError(
        'give event ids, or filters (--status, --source, --since …) for a bulk replay',
      );
    }
    const body = { ...filters, ...destination };
    const count = await api.post<BulkResult>('/api/replay', { ...body, dry_run: true });
    const what = `${count.events} events, ${count.deliveries} deliveries${count.truncated ? ' (capped)' : ''}`;
    if (args['dry-run']) {
      io.stdout.write(args.json ? `${JSON.stringify(count)}\n` : `would replay ${what}\n`);
      return 0;
    }
    if (count.events === 0) {
      io.stdout.write(args.json ? `${JSON.stringify(count)}\n` : 'nothing to replay\n');
      return 0;
    }
    if (!args.yes) {
      if (!io.stdin || !(io.stdin as { isTTY?: boolean }).isTTY) {
        throw new CommandError(`would replay ${what}: pass --yes to run without a terminal`, 2);
      }
      const rl = createInterface({
        input: io.stdin as NodeJS.ReadableStream,
        output: process.stderr,
      });
      const answer = await rl.question(`replay ${what}? [y/N] `);
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        io.stderr.write('not replayed\n');
        return 1;
      }
    }
    const done = await api.post<BulkResult>('/api/replay', { ...body, dry_run: false });
    io.stdout.write(
      args.json
        ? `${JSON.stringify(done)}\n`
        : `replayed ${done.events} events: ${done.deliveries} deliveries created${done.truncated ? ' (capped: run again for the rest)' : ''}\n`,
    );
    return 0;
  },
});
