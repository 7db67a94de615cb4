// Operational notifications (`notify:` in hookyard.yaml): a dead delivery, a destination that
// starts failing and one that recovers, told to one endpoint — Standard Webhooks (signed) or
// Slack — without Prometheus.
//
// Each notification is an event stored like any other (source `hookyard.notify`) with one
// delivery to the internal destination `hookyard.notify`, through the same group commit: it
// is durable, retried with the destination's backoff, signed, sent through the SSRF guard,
// visible and replayable in the dashboard, and on PostgreSQL delivered by whichever process
// gets to it. A dead notification endpoint is one more destination with a backlog: nothing
// here waits for it. Attempts at that destination are never notified about (no loop).
//
// What makes a message, decided from the lifecycle events of this process:
// - destination.failing: `failing_after` attempts in a row to one destination failed (any
//   outcome but delivered). Once per episode: the next delivered attempt ends it, with one
//   destination.recovered. Failing and recovered of a destination share an ordering key, so
//   a recovered never overtakes its failing while that one is being retried.
// - delivery.dead: the first `burst` deaths of an interval are told one by one; the rest are
//   counted, and told in one summary (count per destination) when the interval ends. While
//   deaths go on, each following interval sends its summary only; an interval without deaths
//   resets it. So n intervals of an outage send at most `burst` + n messages, and the counts
//   add up to every death.
// Per process: processes sharing PostgreSQL each tell what they saw.
import type { Logger } from 'pino';
import { type Config, NOTIFY_DESTINATION, NOTIFY_SOURCE } from '../config/schema.ts';
import { newId } from '../ids.ts';
import type { Lifecycle, LifecycleEvents } from '../lifecycle.ts';
import type { NewEvent } from '../store/contract.ts';
import type { GroupCommit } from '../store/group-commit.ts';
import { messageBody, type NotifyMessage, shortError } from './messages.ts';

export type NotifyConfig = NonNullable<Config['notify']>;

export interface NotifierDeps {
  config: NotifyConfig;
  lifecycle: Lifecycle;
  commits: Pick<GroupCommit, 'submit'>;
  logger: Logger;
  /** Unix ms; tests pin it. */
  now?: () => number;
}

interface Streak {
  /** Failed attempts in a row. */
  failures: number;
  /** When the first of them started. */
  since: number;
  failing: boolean;
}

interface DeadWindow {
  /** Messages sent one by one in this interval. */
  sent: number;
  /** Deaths counted for the summary, by destination. */
  counted: Map<string, number>;
  total: number;
  first: number;
  last: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class Notifier {
  readonly #config: NotifyConfig;
  readonly #deps: NotifierDeps;
  readonly #now: () => number;
  readonly #wanted: Set<string>;
  readonly #streaks = new Map<string, Streak>();
  #window: DeadWindow | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #pending = new Set<Promise<void>>();
  #closed = false;
  readonly #listeners: {
    'delivery:attempt': (...a: LifecycleEvents['delivery:attempt']) => void;
    'delivery:dead': (...a: LifecycleEvents['delivery:dead']) => void;
  };

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    this.#now = deps.now ?? Date.now;
    this.#wanted = new Set(deps.config.events);
    // A listener runs inside the worker that emitted: whatever happens here must not throw.
    const safe =
      <A extends unknown[]>(f: (...a: A) => void) =>
      (...a: A) => {
        try {
          f(...a);
        } catch (error) {
          deps.logger.error({ err: error }, 'notify: could not make a notification');
        }
      };
    this.#listeners = {
      'delivery:attempt': safe((e) => this.#attempt(e)),
      'delivery:dead': safe((e) => this.#dead(e)),
    };
    deps.lifecycle.on('delivery:attempt', this.#listeners['delivery:attempt']);
    deps.lifecycle.on('delivery:dead', this.#listeners['delivery:dead']);
  }

  #attempt(e: LifecycleEvents['delivery:attempt'][0]): void {
    if (e.destination === NOTIFY_DESTINATION) return; // never about itself
    const streak = this.#streaks.get(e.destination);
    if (e.attempt.outcome === 'delivered') {
      if (!streak) return;
      this.#streaks.delete(e.destination);
      if (streak.failing) {
        this.#send(
          {
            type: 'destination.recovered',
            data: {
              destination: e.destination,
              failing_since: iso(streak.since),
              recovered_at: iso(e.attempt.startedAt + e.attempt.durationMs),
              failed_attempts: streak.failures,
            },
          },
          e.destination,
        );
      }
      return;
    }
    const s = streak ?? { failures: 0, since: e.attempt.startedAt, failing: false };
    if (!streak) this.#streaks.set(e.destination, s);
    s.failures++;
    if (s.failing || s.failures < this.#config.failingAfter) return;
    s.failing = true;
    this.#send(
      {
        type: 'destination.failing',
        data: {
          destination: e.destination,
          failing_since: iso(s.since),
          failed_attempts: s.failures,
          last_error: shortError(e.attempt.error ?? `HTTP ${e.attempt.statusCode}`),
        },
      },
      e.destination,
    );
  }

  #dead(e: LifecycleEvents['delivery:dead'][0]): void {
    if (e.destination === NOTIFY_DESTINATION || !this.#wanted.has('delivery.dead')) return;
    const now = this.#now();
    let w = this.#window;
    if (!w) {
      w = this.#openWindow(0);
    }
    if (w.sent < this.#config.burst) {
      w.sent++;
      this.#send({
        type: 'delivery.dead',
        data: {
          destination: e.destination,
          delivery_id: e.deliveryId,
          event_id: e.eventId,
          reason: shortError(e.reason),
          count: 1,
        },
      });
      return;
    }
    if (w.total === 0) w.first = now;
    w.total++;
    w.last = now;
    w.counted.set(e.destination, (w.counted.get(e.destination) ?? 0) + 1);
  }

  /** A new interval; `sent`: messages it may no longer send one by one. */
  #openWindow(sent: number): DeadWindow {
    const w: DeadWindow = { sent, counted: new Map(), total: 0, first: 0, last: 0 };
    this.#window = w;
    this.#timer = setTimeout(() => this.#endWindow(), this.#config.intervalMs);
    this.#timer.unref();
    return w;
  }

  #endWindow(): void {
    const w = this.#window;
    this.#window = undefined;
    if (!w || w.total === 0) return; // a quiet end: the next death starts with a burst again
    this.#summarize(w);
    // Deaths go on: the next interval tells them in its summary only.
    if (!this.#closed) this.#openWindow(this.#config.burst);
  }

  #summarize(w: DeadWindow): void {
    this.#send({
      type: 'delivery.dead',
      data: {
        summary: true,
        count: w.total,
        destinations: Object.fromEntries(w.counted),
        since: iso(w.first),
        until: iso(w.last),
      },
    });
  }

  /** Stores the message with its delivery, and wakes the notify destination's worker. */
  #send(message: NotifyMessage, orderingKey?: string): void {
    if (this.#closed || !this.#wanted.has(message.type)) return;
    const now = this.#now();
    const id = newId('hye', now);
    const event: NewEvent = {
      id,
      source: NOTIFY_SOURCE,
      eventId: id,
      type: message.type,
      receivedAt: now,
      headers: [['content-type', 'application/json']],
      contentType: 'application/json',
      body: Buffer.from(messageBody(message, this.#config.format, now)),
      destinations: [
        {
          destination: NOTIFY_DESTINATION,
          orderingKey: orderingKey === undefined ? null : `destination:${orderingKey}`,
        },
      ],
    };
    const stored = this.#deps.commits.submit(event).then(
      () =>
        void this.#deps.lifecycle.emit('deliveries:created', {
          destinations: [NOTIFY_DESTINATION],
        }),
      (error: unknown) =>
        this.#deps.logger.warn(
          { err: error, type: message.type },
          'notify: the notification could not be stored',
        ),
    );
    this.#pending.add(stored);
    void stored.finally(() => this.#pending.delete(stored));
  }

  /** Stops listening; the deaths counted so far are told in a last summary; resolves once
   * every notification made is stored. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#deps.lifecycle.off('delivery:attempt', this.#listeners['delivery:attempt']);
      this.#deps.lifecycle.off('delivery:dead', this.#listeners['delivery:dead']);
      clearTimeout(this.#timer);
      const w = this.#window;
      this.#window = undefined;
      if (w && w.total > 0) this.#summarize(w);
      this.#closed = true;
    }
    await Promise.all([...this.#pending]);
  }
}
