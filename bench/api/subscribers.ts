// N subscribers on /api/stream (for bench/api/run.ts): prints "ready" once every stream has its
// headers, counts the `event: event` messages each receives, and when the streams end (the
// gateway stopped) or on SIGTERM prints the counts as one JSON line and exits.
// Raw sockets and a byte search, not fetch and a text parser: the subscribers share wrk's core,
// and at 12,000 events/s a hundred streams are ~400 MB/s; a client that parses them in JS
// starves wrk and measures itself instead of the gateway.
import { connect } from 'node:net';

const origin = new URL(process.env.ORIGIN as string);
const n = Number(process.env.N);
const counts = new Array<number>(n).fill(0);
const MARK = Buffer.from('\nevent: event\n');
let done = false;
const finish = () => {
  if (done) return;
  done = true;
  console.log(JSON.stringify(counts));
  process.exit(0);
};
process.once('SIGTERM', finish);

function subscribe(i: number, ready: () => void): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(Number(origin.port), origin.hostname);
    socket.write(
      `GET /api/stream HTTP/1.1\r\nHost: ${origin.host}\r\nAuthorization: Bearer ${process.env.TOKEN}\r\nAccept: text/event-stream\r\n\r\n`,
    );
    let headers = true;
    let tail: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      // Messages are separated by a blank line, so each starts right after "\n": the mark
      // with its leading newline finds every one. The last bytes of a chunk are kept for a
      // mark split between two chunks.
      const data = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      if (headers) {
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) return void (tail = data);
        if (!data.subarray(0, 12).toString().includes(' 200')) throw new Error('stream refused');
        headers = false;
        ready();
      }
      let at = data.indexOf(MARK);
      let from = 0;
      while (at >= 0) {
        counts[i] = (counts[i] ?? 0) + 1;
        from = at + MARK.length;
        at = data.indexOf(MARK, from);
      }
      tail = data.subarray(Math.max(from, data.length - MARK.length + 1));
    });
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
}

let connected = 0;
await Promise.all(
  counts.map((_, i) =>
    subscribe(i, () => {
      if (++connected === n) console.log('ready');
    }),
  ),
);
finish();
