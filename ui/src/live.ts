// Live updates for every view of one tab: GET /api/stream when the gateway has it, else a poll
// of the newest events. Views subscribe to what they show; one connection serves them all.
import { type Client, isAbort } from './api.ts';
import type { Summary } from './route.ts';

export interface Delivery {
  id: string;
  destination: string;
  status: string;
  next_attempt_at: string | null;
  last_error: string | null;
  attempts: {
    n: number;
    at: string | null;
    duration_ms: number | null;
    status_code: number | null;
    outcome: string;
    response: string | null;
    error: string | null;
  }[];
}

export interface Detail extends Summary {
  content_type: string | null;
  headers: [string, string][];
  body: string;
  body_encoding: 'utf8' | 'base64';
  deliveries: Delivery[];
}

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'polling';

export interface LiveListener {
  /** A newly stored event. */
  event?(e: Summary): void;
  /** An event whose deliveries changed: its summary again, and its detail when it was read. */
  changed?(e: Summary, detail: Detail | undefined): void;
  /** Whether this listener shows the event: only those are read again when they change. */
  watches?(id: string): boolean;
}

const POLL_MS = 2000;
const POLL_PAGE = 50;
/** Event reads in flight at once after delivery outcomes; the rest wait their turn. */
const MAX_READS = 4;

export class Live {
  private readonly client: Client;
  private readonly listeners = new Set<LiveListener>();
  private readonly stateListeners = new Set<(s: LiveState) => void>();
  private readonly abort = new AbortController();
  /** Events to read again: waiting, being read, or being read and changed again since. */
  private readonly refreshing = new Map<string, 'queued' | 'reading' | 'again'>();
  private reads = 0;
  state: LiveState = 'connecting';

  constructor(client: Client) {
    this.client = client;
  }

  start(): void {
    void this.client
      .stream(
        (event, data) => this.message(event, data),
        (s) => this.setState(s),
        this.abort.signal,
      )
      .then((end) => {
        if (end === 'unavailable') void this.poll();
      });
  }

  stop(): void {
    this.abort.abort();
    this.refreshing.clear();
  }

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onState(listener: (s: LiveState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(state: LiveState): void {
    this.state = state;
    for (const l of this.stateListeners) l(state);
  }

  private message(event: string, data: string): void {
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return;
    }
    if (event === 'event') {
      const e = value as Summary;
      for (const l of this.listeners) l.event?.(e);
    } else if (event === 'delivery') {
      // A delivery's outcome changes its event's status, which depends on all of the event's
      // deliveries: read the event again if a view shows it.
      const id = (value as { event: string }).event;
      if ([...this.listeners].some((l) => l.watches?.(id))) this.refresh(id);
    }
  }

  /** Reads an event again and tells every listener; calls for the same event while it waits
   * are one read. */
  refresh(id: string): void {
    if (this.abort.signal.aborted) return;
    const state = this.refreshing.get(id);
    if (state === 'reading') this.refreshing.set(id, 'again');
    if (state !== undefined) return;
    this.refreshing.set(id, 'queued');
    this.next();
  }

  private next(): void {
    for (const [id, state] of this.refreshing) {
      if (this.reads >= MAX_READS) return;
      if (state !== 'queued') continue;
      this.refreshing.set(id, 'reading');
      this.reads++;
      this.client
        .get<Detail>(`/events/${encodeURIComponent(id)}`, {}, this.abort.signal)
        .then(
          (detail) => {
            for (const l of this.listeners) l.changed?.(detail, detail);
          },
          (error: unknown) => {
            if (!isAbort(error)) console.warn('hookyard: reading an event again failed', error);
          },
        )
        .finally(() => {
          this.reads--;
          const again = this.refreshing.get(id) === 'again';
          this.refreshing.delete(id);
          if (again) this.refresh(id);
          this.next();
        });
    }
  }

  /** Without a stream: the newest page every POLL_MS, announcing what is new or changed. */
  private async poll(): Promise<void> {
    this.setState('polling');
    const seen = new Map<string, string>();
    let first = true;
    while (!this.abort.signal.aborted) {
      try {
        const page = await this.client.get<{ data: Summary[] }>(
          '/events',
          { limit: POLL_PAGE },
          this.abort.signal,
        );
        for (const e of [...page.data].reverse()) {
          const before = seen.get(e.id);
          seen.set(e.id, e.status);
          if (first) continue;
          if (before === undefined) for (const l of this.listeners) l.event?.(e);
          else if (before !== e.status) for (const l of this.listeners) l.changed?.(e, undefined);
        }
        // Keep the memory bounded: only the ids the next page can hold matter.
        if (seen.size > POLL_PAGE * 4) {
          const keep = new Set(page.data.map((e) => e.id));
          for (const id of seen.keys()) if (!keep.has(id)) seen.delete(id);
        }
        first = false;
      } catch (error) {
        if (isAbort(error)) return;
      }
      await new Promise((r) => window.setTimeout(r, POLL_MS));
    }
  }
}
