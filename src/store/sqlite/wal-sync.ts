// Durability without blocking the event loop. With synchronous=FULL SQLite fsyncs the WAL
// inside COMMIT, on the one thread that also serves HTTP: measured here, that wait was a third
// of ingest time. Instead the store commits with synchronous=NORMAL (SQLite still syncs the
// WAL before each checkpoint and the database after it, so checkpoints stay safe) and then
// fdatasyncs the WAL itself on libuv's thread pool, answering only once that returns. The
// guarantee per acknowledged event is FULL's: its commit record is on disk. Syncs coalesce:
// commits made while one sync runs share the next. (PostgreSQL's WAL flush works the same way.)
import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';

export class WalSync {
  readonly #path: string;
  #fd: number | undefined;
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(databasePath: string) {
    this.#path = `${databasePath}-wal`;
  }

  /** Resolves once everything written to the WAL before this call is on disk. */
  sync(): Promise<void> {
    if (!this.#running) {
      this.#running = this.#syncOnce().finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    // A sync is running, but it may have started before our commit was written: wait for the
    // next one, which every commit made meanwhile shares.
    this.#next ??= this.#running
      .catch(() => undefined) // a failed sync fails its own waiters; ours gets a fresh try
      .then(() => {
        this.#next = undefined;
        return this.sync();
      });
    return this.#next;
  }

  #syncOnce(): Promise<void> {
    return new Promise((resolve, reject) => {
      let fd: number;
      try {
        fd = this.#descriptor();
      } catch (error) {
        reject(error);
        return;
      }
      fdatasync(fd, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** An fd on the WAL, reopened if SQLite ever replaced the file (fsync acts on an inode). */
  #descriptor(): number {
    if (this.#fd !== undefined) {
      if (fstatSync(this.#fd).ino === statSync(this.#path).ino) return this.#fd;
      closeSync(this.#fd);
    }
    this.#fd = openSync(this.#path, 'r');
    return this.#fd;
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
