// What both dialects decide the same way about deliveries: what a finished attempt writes to
// its delivery, and whom a replay goes to. The SQL that writes it is the dialect's own.
import { newId } from '../ids.ts';
import type { AttemptRecord, Lease, Verdict } from './contract.ts';
import type { Row } from './rows.ts';

/** What finishAttempt queues for the next batched write (tick-batch.ts). */
export interface FinishedAttempt {
  lease: Lease;
  attempt: AttemptRecord;
  verdict: Verdict;
}

/** The last error a delivery shows after an attempt with this outcome. */
export function lastError(
  attempt: AttemptRecord,
  verdict: { status: string; reason?: string },
): string | null {
  if (verdict.status === 'dead') return verdict.reason ?? null;
  if (verdict.status === 'pending') return attempt.error ?? `HTTP ${attempt.statusCode}`;
  return null;
}

/** `next_at` after an attempt: the retry's time, or (delivered, dead) the attempt's. */
export function nextAtAfter(attempt: AttemptRecord, verdict: Verdict): number {
  return verdict.status === 'pending' ? verdict.nextAt : attempt.startedAt;
}

/** A delivery a replay creates; its id is null on a dry run, which creates nothing. */
export interface ReplayTarget {
  id: string | null;
  destination: string;
  orderingKey: string | null;
}

/**
 * Whom a replay of an event goes to: `destination`, or else every destination the event has
 * had a delivery to (`earlier`: sql.ts `destinationsOf` rows). A replay keeps the ordering key
 * the destination's earlier delivery had, so it waits its turn behind that key's backlog.
 */
export function replayTargets(
  earlier: readonly Row[],
  destination: string | undefined,
  now: number,
  dryRun: boolean,
): ReplayTarget[] {
  const keys = new Map(
    earlier.map((d) => [d.destination as string, (d.ordering_key as string | null) ?? null]),
  );
  const destinations = destination === undefined ? [...keys.keys()] : [destination];
  return destinations.map((d) => ({
    id: dryRun ? null : newId('hyd', now),
    destination: d,
    orderingKey: keys.get(d) ?? null,
  }));
}

/** What replayEvent answers: the targets without their ordering keys. */
export function replayed(
  targets: readonly ReplayTarget[],
): { id: string | null; destination: string }[] {
  return targets.map(({ id, destination }) => ({ id, destination }));
}
