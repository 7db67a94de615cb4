// A child process for the checkpointer's crash test: group-commits events into a SQLite store
// whose checkpoint thread passes every millisecond and restarts the WAL every 64 frames, and
// prints each event id once its commit is acknowledged (durable), until it is killed.
import { GroupCommit } from '../../src/store/group-commit.ts';
import { SqliteStore } from '../../src/store/sqlite/store.ts';
import { newEvent } from './events.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: checkpoint-writer.ts <database path>');
const store = new SqliteStore(path, { checkpoint: { passEveryMs: 1, resetFrames: 64 } });
const commits = new GroupCommit(store);
const body = new Uint8Array(1500).fill(120);
let n = 0;
const sender = async () => {
  for (;;) {
    const id = `e${n++}`;
    await commits.submit(newEvent(id, { body }));
    process.stdout.write(`${id}\n`);
  }
};
for (let s = 0; s < 20; s++) void sender();
