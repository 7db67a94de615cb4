// Wake-ups across gateway processes that share one database (Store.watch): a process that
// stores due deliveries NOTIFYs their destinations on one channel, and every other process
// LISTENing there wakes its idle workers for them. A hint only: a missed one costs latency, not
// a delivery (workers also look on their own), https://www.postgresql.org/docs/current/sql-notify.html.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** The channel; payload `<instance>:<destination>,<destination>…`. */
const CHANNEL = 'hookyard_due';

export type Watcher = (destinations: readonly string[] | null) => void;

/** How the LISTEN connection connects: as the store's pool does. */
export interface ListenOptions {
  connect_timeout: number;
  backoff: (attempt: number) => number;
}

export class DueNotices {
  readonly #url: string;
  readonly #sql: postgres.Sql;
  readonly #options: ListenOptions;
  /** Tells this process's own NOTIFYs apart: its workers were woken in-process already. */
  readonly #instance = randomBytes(6).toString('base64url');
  readonly #watchers = new Set<Watcher>();
  #listener: postgres.Sql | undefined;
  #relisten: NodeJS.Timeout | undefined;
  readonly #toAnnounce = new Set<string>();
  #announcing = false;
  #closed = false;

  /** `sql` is the store's pool, which sends the NOTIFYs. */
  constructor(url: string, sql: postgres.Sql, options: ListenOptions) {
    this.#url = url;
    this.#sql = sql;
    this.#options = options;
  }

  /** Calls `watcher` with the destinations another process announced, or with null once
   * listening (again): whatever was notified meanwhile is lost, so everyone looks. */
  watch(watcher: Watcher): () => void {
    this.#watchers.add(watcher);
    // LISTEN needs a connection of its own that stays open; `postgres`'s own listen() gives up
    // on a channel when re-listening after a reconnect fails, so this one re-listens until it
    // succeeds and then tells the watchers that they may have missed something.
    if (!this.#listener) {
      // `onnotify` is the client's pool-level hook (used by its own listen(); not in its types).
      const options = {
        ...this.#options,
        max: 1,
        idle_timeout: 0,
        max_lifetime: 0,
        onnotice: () => undefined,
        connection: { application_name: 'hookyard-listen' },
        onnotify: (_channel: string, payload: string) => this.#notified(payload),
        onclose: () => this.#scheduleListen(1000),
      };
      this.#listener = postgres(this.#url, options);
      this.#scheduleListen(0);
    }
    return () => {
      this.#watchers.delete(watcher);
    };
  }

  #notified(payload: string): void {
    const colon = payload.indexOf(':');
    if (payload.slice(0, colon) === this.#instance) return; // our own: woken in-process already
    const destinations = payload.slice(colon + 1).split(',');
    for (const w of this.#watchers) w(destinations);
  }

  #scheduleListen(ms: number): void {
    if (this.#closed || !this.#listener) return;
    clearTimeout(this.#relisten);
    this.#relisten = setTimeout(() => {
      this.#listener?.unsafe(`LISTEN ${CHANNEL}`).then(
        () => {
          for (const w of this.#watchers) w(null);
        },
        () => this.#scheduleListen(1000),
      );
    }, ms);
    this.#relisten.unref();
  }

  /**
   * Tells other processes' idle workers that `destinations` have new due deliveries. The NOTIFY
   * is a statement of its own, sent after the data has committed, one at a time (those asked
   * for meanwhile go together in the next). Inside the inserting transaction it held
   * PostgreSQL's database-wide notify lock through that commit's WAL flush, so every commit
   * that notified waited for the one before (bench/store/retention-load.ts saw up to 7
   * waiting at 1,500 events/s). A NOTIFY that fails is only a missed hint: this process's own
   * workers are woken in-process, and other processes' idle workers look again within 30 s.
   */
  announce(destinations: Iterable<string>): void {
    for (const d of destinations) this.#toAnnounce.add(d);
    if (this.#announcing || this.#toAnnounce.size === 0 || this.#closed) return;
    this.#announcing = true;
    const payload = `${this.#instance}:${[...this.#toAnnounce].join(',')}`;
    this.#toAnnounce.clear();
    this.#sql`SELECT pg_notify(${CHANNEL}, ${payload})`.then(
      () => {
        this.#announcing = false;
        this.announce([]);
      },
      () => {
        this.#announcing = false;
      },
    );
  }

  /** Stops announcing and listening; the store's pool is the store's to end. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#relisten);
    await this.#listener?.end({ timeout: 1 });
  }
}
