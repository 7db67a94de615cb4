// POST /api/events/:id/replay and POST /api/replay: new deliveries for stored events. Bodies
// arrive here already validated (schemas.ts), so a bulk run happens only when asked for in
// exactly the words the route takes.
import type { z } from 'zod';
import type { Config } from '../config.ts';
import { errorReply, jsonReply, type Reply } from '../errors.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { Store } from '../store/contract.ts';
import {
  eventFilter,
  type replayBulkBody,
  type replayBulkJson,
  type replayOneBody,
  type replayOneJson,
} from './schemas.ts';

/** Bulk replay stops after this many events; the reply says it was cut short. */
export const MAX_REPLAY_EVENTS = 100_000;
/** Events read per page while replaying in bulk. */
const PAGE = 500;

export interface ReplayDeps {
  config: Config;
  store: Store;
  lifecycle: Lifecycle;
  /** Called when the store fails part-way through a bulk replay, with what was done. */
  partial(error: unknown, done: { events: number; deliveries: number }): Promise<Reply>;
}

function unknownDestination(config: Config, destination: string | undefined): Reply | undefined {
  if (destination === undefined || config.destinations.has(destination)) return undefined;
  return errorReply('destination_not_found', `no destination named ${destination}`);
}

export async function replayOne(
  deps: ReplayDeps,
  id: string,
  body: z.output<typeof replayOneBody>,
): Promise<Reply> {
  const refused = unknownDestination(deps.config, body.destination);
  if (refused) return refused;
  const created = await deps.store.replayEvent(id, body.destination, Date.now(), false);
  if (!created) return errorReply('not_found', `no event ${id}`);
  deps.lifecycle.emit('deliveries:created', { destinations: created.map((c) => c.destination) });
  return jsonReply(202, { deliveries: created } satisfies z.output<typeof replayOneJson>);
}

/** The same filters as GET /api/events, newest first, page by page. */
export async function replayBulk(
  deps: ReplayDeps,
  body: z.output<typeof replayBulkBody>,
): Promise<Reply> {
  const refused = unknownDestination(deps.config, body.destination);
  if (refused) return refused;
  const dryRun = body.dry_run === true;
  const filter = eventFilter(body, PAGE);
  let events = 0;
  let deliveries = 0;
  let truncated = false;
  try {
    for (;;) {
      const page = await deps.store.listEvents(filter);
      const touched = new Set<string>();
      for (const e of page.data) {
        if (events >= MAX_REPLAY_EVENTS) {
          truncated = true;
          break;
        }
        const made =
          (await deps.store.replayEvent(e.id, body.destination, Date.now(), dryRun)) ?? [];
        events++;
        deliveries += made.length;
        for (const m of made) touched.add(m.destination);
      }
      // Wake the workers page by page, so a long replay starts delivering at once.
      if (!dryRun && touched.size > 0) {
        deps.lifecycle.emit('deliveries:created', { destinations: [...touched] });
      }
      if (truncated || !page.nextCursor) break;
      filter.cursor = page.nextCursor;
      // Let ingest and deliveries run between pages: a large replay must not stall them.
      await new Promise((r) => setImmediate(r));
    }
  } catch (error) {
    return deps.partial(error, { events, deliveries: dryRun ? 0 : deliveries });
  }
  return jsonReply(dryRun ? 200 : 202, {
    dry_run: dryRun,
    events,
    deliveries,
    truncated,
  } satisfies z.output<typeof replayBulkJson>);
}
