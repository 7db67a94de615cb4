// A raw HTTP/1.1 exchange on a socket: for what fetch will not do (send half a body, pause,
// repeat a header) and to see exactly what the server writes back.
import { connect } from 'node:net';

export interface RawExchange {
  /** Everything the server wrote until it closed or `waitMs` passed. */
  response: string;
  /** Milliseconds from the first byte sent to the first byte received. */
  firstByteMs: number;
  closedByServer: boolean;
}

export function rawExchange(
  url: string,
  writes: (string | Buffer | { pauseMs: number })[],
  waitMs = 5000,
): Promise<RawExchange> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let response = '';
    let firstByteMs = -1;
    let closedByServer = false;
    const start = Date.now();
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ response, firstByteMs, closedByServer });
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (chunk) => {
      if (firstByteMs < 0) firstByteMs = Date.now() - start;
      response += chunk.toString('latin1');
    });
    socket.on('end', () => {
      closedByServer = true;
      done();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after the server answered and closed is the expected end for refused bodies.
      if (response) done();
      else reject(error);
    });
    socket.on('connect', async () => {
      for (const w of writes) {
        if (socket.destroyed) return;
        if (typeof w === 'object' && 'pauseMs' in w)
          await new Promise((r) => setTimeout(r, w.pauseMs));
        else socket.write(w);
      }
    });
  });
}
