// An open-loop load: signed events at a fixed rate for a duration, not waiting for replies to
// send the next. Its own process, so it never starves the sink in run.ts. Prints JSON: accepted,
// failed, the seconds it sent for, and p50/p99/max ms from send to answer of the accepted.
//   node bench/delivery/open-loop.ts <url> <rate> <seconds>
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { BODY, quantile, SIGNATURE } from '../lib.ts';

const [url, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
// undici's Pool.request: fetch cost too much CPU per request to hold 3,000/s on one core.
const pool = new Pool(url as string, { connections: 64 });
let accepted = 0;
let failed = 0;
const latencies: number[] = [];
const pending: Promise<void>[] = [];
const start = performance.now();
while (performance.now() - start < seconds * 1000) {
  const due = Math.floor(((performance.now() - start) / 1000) * rate);
  while (pending.length < due) {
    const sent = performance.now();
    pending.push(
      pool
        .request({
          path: '/webhooks/gh',
          method: 'POST',
          body: BODY,
          headers: {
            'content-type': 'application/json',
            'x-github-event': 'issues',
            'x-github-delivery': randomUUID(),
            'x-hub-signature-256': SIGNATURE,
          },
        })
        .then(
          async (res) => {
            await res.body.dump();
            if (res.statusCode === 200) {
              accepted++;
              latencies.push(performance.now() - sent);
            } else failed++;
          },
          () => {
            failed++;
          },
        ),
    );
  }
  await new Promise((r) => setTimeout(r, 5));
}
const sentFor = (performance.now() - start) / 1000;
await Promise.all(pending);
await pool.close();
const p50 = quantile(latencies, 0.5);
const p99 = quantile(latencies, 0.99);
const max = latencies.reduce((a, b) => Math.max(a, b), 0);
process.stdout.write(`${JSON.stringify({ accepted, failed, seconds: sentFor, p50, p99, max })}\n`);
