// Checkpoints off the event loop. SQLite's automatic checkpoint runs inside the COMMIT that
// crosses 1,000 WAL pages: it copies them into the database file and fsyncs both files on the
// thread that serves HTTP. Under ingest load that was ~40% of the commits' time (about 250
// stalls of 1–26 ms in a 10 s run, bench/README.md). Here a worker thread with a connection of
// its own copies the WAL in PASSIVE passes while commits go on. The WAL only starts over from
// its beginning when a write finds every frame already copied, which a checkpoint racing a
// steady stream of commits almost never sees (measured: 442 MB of WAL in 10 s); so once the
// WAL is past `resetFrames`, commits of events wait (the event loop does not) for one short
// pass that copies the last frames, and the next commit restarts the WAL. If the worker cannot
// run, SQLite's own checkpoint is put back.
import { Worker } from 'node:worker_threads';
import type { PassResult } from './checkpoint-worker.ts';

export interface CheckpointerOptions {
  /** A pass at most this often while there are writes to copy. Default 50 ms. */
  passEveryMs?: number;
  /** WAL frames past which the log is restarted. Default 4,096 (8 MiB with 2 KiB pages). */
  resetFrames?: number;
  /** Longest that event commits wait for the restarting pass. Default 250 ms. */
  holdMaxMs?: number;
}

export interface CheckpointerStats {
  passes: number;
  /** Passes during which event commits were held so that the WAL could restart. */
  holds: number;
}

const WORKER = new URL(
  import.meta.url.endsWith('.ts') ? './checkpoint-worker.ts' : './checkpoint-worker.js',
  import.meta.url,
);

export class Checkpointer {
  readonly #worker: Worker;
  readonly #passEveryMs: number;
  readonly #resetFrames: number;
  readonly #holdMaxMs: number;
  readonly #fallBack: () => void;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #dirty = false;
  #closed = false;
  #hold: { done: Promise<void>; release(): void; timeout: NodeJS.Timeout } | undefined;
  /** WAL frames at which commits are next held: `resetFrames`, or more after a hold that could
   * not copy every frame (another process reading an old snapshot pins them). */
  #holdAt: number;
  readonly stats: CheckpointerStats = { passes: 0, holds: 0 };

  /** `fallBack` turns SQLite's own checkpoint back on, should this thread fail. */
  constructor(databasePath: string, fallBack: () => void, options: CheckpointerOptions = {}) {
    this.#passEveryMs = options.passEveryMs ?? 50;
    this.#resetFrames = options.resetFrames ?? 4096;
    this.#holdMaxMs = options.holdMaxMs ?? 250;
    this.#holdAt = this.#resetFrames;
    this.#fallBack = fallBack;
    this.#worker = new Worker(WORKER, { workerData: { path: databasePath } });
    this.#worker.unref();
    this.#worker.on('message', (result: PassResult) => this.#passed(result));
    this.#worker.on('error', () => this.#fail());
    this.#worker.on('exit', () => this.#fail());
  }

  /** While the WAL is being brought to its restart, a promise to await before a commit. */
  get held(): Promise<void> | undefined {
    return this.#hold?.done;
  }

  /** Something was committed: a pass will copy it. */
  wrote(): void {
    this.#dirty = true;
    if (this.#running || this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => this.#pass(), this.#passEveryMs);
    this.#timer.unref();
  }

  #pass(): void {
    this.#timer = undefined;
    this.#dirty = false;
    this.#running = true;
    this.#worker.postMessage('pass');
  }

  #passed(result: PassResult): void {
    this.#running = false;
    this.stats.passes++;
    if (this.#closed) return; // the answer to a pass that was running when close() came
    if (result.log < this.#resetFrames) this.#holdAt = this.#resetFrames; // it started over
    if (this.#hold) {
      // The restarting pass is done: whether or not it copied every frame, commits go on (a
      // write that slipped in between keeps the WAL from restarting, and the next pass tries
      // again). Frames it could not copy are pinned by a reader: holding commits again
      // before the WAL has grown as much again would cost throughput and restart nothing.
      this.#release();
      if (result.checkpointed < result.log) this.#holdAt = result.log + this.#resetFrames;
    } else if (
      result.log >= this.#holdAt &&
      // Copied up to date with nothing written since: the next write restarts the WAL anyway.
      (result.checkpointed < result.log || this.#dirty)
    ) {
      this.#holdCommits();
      this.#pass();
      return;
    }
    if (this.#dirty) this.wrote();
  }

  #holdCommits(): void {
    let release = () => {};
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const timeout = setTimeout(() => this.#release(), this.#holdMaxMs);
    timeout.unref();
    this.#hold = { done, release, timeout };
    this.stats.holds++;
  }

  #release(): void {
    const hold = this.#hold;
    if (!hold) return;
    this.#hold = undefined;
    clearTimeout(hold.timeout);
    hold.release();
  }

  #fail(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#release();
    this.#fallBack();
  }

  /** Closes the worker's connection first, so that the store's own close is the last one
   * (SQLite checkpoints and removes the WAL then). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#release();
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.ref(); // unreferenced, it would let the process end before its close is done
    this.#worker.postMessage('close');
    await exited;
  }
}
