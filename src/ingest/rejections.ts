// Refused requests, counted per (source, code) and the latest kept in a bounded ring for the
// dashboard. Kept in memory, apart from accepted events: a flood of forgeries must not turn
// into a flood of disk writes.
import type { ErrorCode } from '../errors.ts';

export interface Rejection {
  at: number;
  source: string;
  code: ErrorCode;
  status: number;
  message: string;
  remoteAddress: string | null;
  size: number | null;
}

export class RejectionLog {
  readonly #capacity: number;
  readonly #ring: Rejection[] = [];
  #next = 0;
  readonly counts = new Map<string, number>();
  total = 0;

  constructor(capacity = 1000) {
    this.#capacity = capacity;
  }

  add(rejection: Rejection): void {
    this.total++;
    const key = `${rejection.source}\u0000${rejection.code}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (this.#ring.length < this.#capacity) this.#ring.push(rejection);
    else this.#ring[this.#next] = rejection;
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
