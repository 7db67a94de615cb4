// Reading GET /metrics in tests: the Prometheus text format parsed into samples.
import { randomUUID } from 'node:crypto';
import { API_TOKEN, SECRETS, type TestGateway } from '../helpers/gateway.ts';
import { stripeHeaders } from '../helpers/sign.ts';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Samples of the text exposition format (comments skipped). Label values are unescaped. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined if none. */
export function valueOf(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${found.length} samples match ${name}`);
  return found[0]?.value;
}

export async function scrape(base: string, token: string | null = API_TOKEN): Promise<Sample[]> {
  const res = await fetch(`${base}/metrics`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${await res.text()}`);
  return parseMetrics(await res.text());
}

/** A Stripe event signed by the official `stripe` package; resolves to the reply's status. */
export async function sendStripe(
  gw: Pick<TestGateway, 'post'>,
  id = `evt_${randomUUID()}`,
  secret = SECRETS.stripe,
): Promise<number> {
  const body = JSON.stringify({ id, object: 'event', type: 'charge.refunded', data: {} });
  const res = await gw.post('stripe', body, stripeHeaders(body, secret));
  await res.arrayBuffer();
  return res.status;
}

/** Polls until `done`, or `ms` pass (the caller's asserts then say what is wrong). */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}
