// The checkpointer's thread (checkpointer.ts): a connection of its own that copies the WAL
// into the database file when asked, so that the copy and its two fsyncs never run on the
// thread that serves HTTP.
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

export interface PassResult {
  /** Frames in the WAL, and how many of them are now in the database file. */
  log: number;
  checkpointed: number;
}

const port = parentPort;
if (!port) throw new Error('checkpoint-worker.ts runs as a worker thread');

const db = new DatabaseSync((workerData as { path: string }).path);
// NORMAL: a checkpoint fsyncs the WAL before copying and the database file after, so a page is
// never copied out of a WAL that is not yet on disk. This connection never commits.
db.exec('PRAGMA synchronous = NORMAL');
db.exec('PRAGMA wal_autocheckpoint = 0');
// PASSIVE never waits for a lock: with the writer mid-commit it copies what it can.
const pass = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

port.on('message', (message: 'pass' | 'close') => {
  if (message === 'close') {
    db.close();
    port.close();
    return;
  }
  const row = pass.get();
  const result: PassResult = { log: Number(row?.log), checkpointed: Number(row?.checkpointed) };
  port.postMessage(result);
});
