// Refused requests, counted per (source, code) and the latest kept in a bounded ring for the
// dashboard. Kept in memory, apart from accepted events: a flood of forgeries must not turn
// into a flood of disk writes. Everything here is bounded whatever a sender puts in a URL:
// counts are keyed by configured source names (every other name shares UNKNOWN_SOURCE),
// names are cut to NAME_LIMIT characters, messages to MESSAGE_LIMIT.
import type { ErrorCode } from '../errors.ts';

/** The key every name that is not a configured source is counted under. Not a valid source
 * name (those are letters, digits, `_` and `-`), so it cannot collide with one. */
export const UNKNOWN_SOURCE = '(unknown)';
/** Longest source name kept in a record, message or log line. */
export const NAME_LIMIT = 64;
const MESSAGE_LIMIT = 256;

export interface Rejection {
  at: number;
  /** The configured source, or UNKNOWN_SOURCE. */
  source: string;
  /** For an unknown source: the name the URL gave, cut to NAME_LIMIT characters. */
  name?: string;
  code: ErrorCode;
  status: number;
  message: string;
  remoteAddress: string | null;
  size: number | null;
}

/** `name` cut to `limit` characters (an ellipsis marks the cut), for messages and logs. */
export function clip(name: string, limit = NAME_LIMIT): string {
  return name.length <= limit ? name : `${name.slice(0, limit - 1)}…`;
}

export class RejectionLog {
  readonly #capacity: number;
  readonly #ring: Rejection[] = [];
  #next = 0;
  /** (source, code) → count; at most (sources + 1) × codes keys. */
  readonly counts = new Map<string, number>();
  total = 0;

  constructor(capacity = 1000) {
    this.#capacity = capacity;
  }

  add(rejection: Rejection): void {
    this.total++;
    const key = `${rejection.source}\u0000${rejection.code}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const kept: Rejection = {
      ...rejection,
      message: clip(rejection.message, MESSAGE_LIMIT),
      ...(rejection.name !== undefined && { name: clip(rejection.name) }),
    };
    if (this.#ring.length < this.#capacity) this.#ring.push(kept);
    else this.#ring[this.#next] = kept;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** Newest first. */
  recent(limit = this.#capacity): Rejection[] {
    const ordered = [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
    return ordered.reverse().slice(0, limit);
  }

  countsBySource(): { source: string; code: string; count: number }[] {
    return [...this.counts].map(([key, count]) => {
      const [source = '', code = ''] = key.split('\u0000');
      return { source, code, count };
    });
  }
}

/**
 * At most `perSecond` lines a second; the rest are counted, and the next line that may be
 * written says how many were left out. A flood of forgeries costs a counter, not a disk.
 */
export class LogLimiter {
  readonly #perSecond: number;
  #windowStart = 0;
  #inWindow = 0;
  #suppressed = 0;

  constructor(perSecond: number) {
    this.#perSecond = perSecond;
  }

  /** Undefined: do not log. A number: log, and say that many lines were left out before. */
  take(now: number): number | undefined {
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    if (this.#inWindow >= this.#perSecond) {
      this.#suppressed++;
      return undefined;
    }
    this.#inWindow++;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    return suppressed;
  }
}
