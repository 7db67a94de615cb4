// SQLite's write transactions, in one place. IMMEDIATE takes the write lock at BEGIN: a busy
// database fails there (after busy_timeout), before anything was done, and a transaction never
// has to be abandoned midway because another connection wrote first
// (https://www.sqlite.org/lang_transaction.html).
import type { DatabaseSync } from 'node:sqlite';

/** Runs `work` in one write transaction: committed if it returns, rolled back if it throws. */
export function transaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    // Some errors roll the transaction back by themselves ("Response To Errors Within A
    // Transaction" on the page above); a second ROLLBACK would fail and hide the first error.
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

/** Takes the write lock and lets it go: proof that a commit could succeed now. Nothing is
 * written, so nothing is synced. */
export function tryWriteLock(db: DatabaseSync): void {
  db.exec('BEGIN IMMEDIATE');
  db.exec('ROLLBACK');
}
