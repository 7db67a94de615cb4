// A real Prometheus (Debian's `prometheus` package) scrapes a real gateway every second, with
// the bearer token, while signed events, duplicates and refusals arrive; its HTTP API must then
// count exactly what was sent. It also loads the shipped alert rules (each must evaluate
// without error, and the dead-delivery alert must fire) and evaluates every PromQL expression
// of the shipped Grafana dashboard.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { API_TOKEN, SECRETS, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { standardWebhooksHeaders } from '../helpers/sign.ts';
import { type Sink, startSink } from '../helpers/sink.ts';
import { sendStripe, until } from './helpers.ts';

const PROMETHEUS = '/usr/bin/prometheus';
const ALERTS = fileURLToPath(new URL('../../deploy/prometheus/alerts.yml', import.meta.url));
const DASHBOARD = fileURLToPath(new URL('../../deploy/grafana/hookyard.json', import.meta.url));
/** Without Prometheus these tests are skipped on a developer's machine; CI installs it
 * (Debian's `prometheus` package), so there a missing binary fails instead. */
const missing = !existsSync(PROMETHEUS) && !process.env.CI;
if (missing) console.log(`# skipped: no Prometheus at ${PROMETHEUS} (apt-get install prometheus)`);

const STRIPE = 60;
const PARTNER = 25;
const DUPLICATES = 15;
const BAD_SIGNATURES = 9;
const UNKNOWN = 12;
const WRONG_METHOD = 4;
const TOO_LARGE = 3;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Runs `work` over `items`, `width` at a time. */
async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

describe('a real Prometheus scrapes the gateway', { skip: missing && 'no Prometheus' }, () => {
  let gw: TestGateway;
  let taking: Sink;
  let refusing: Sink;
  let prometheus: ChildProcess;
  let promUrl: string;
  let dir: string;
  let log = '';

  async function query(expr: string): Promise<any> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as any;
    assert.equal(body.status, 'success', `${expr}: ${JSON.stringify(body)}`);
    return body.data;
  }
  /** The single value of an instant vector query (undefined when empty). */
  async function scalar(expr: string): Promise<number | undefined> {
    const data = await query(expr);
    assert.equal(data.resultType, 'vector', expr);
    assert.ok(data.result.length <= 1, `${expr}: ${JSON.stringify(data.result)}`);
    return data.result[0] ? Number(data.result[0].value[1]) : undefined;
  }

  before(async () => {
    taking = await startSink();
    refusing = await startSink();
    refusing.respond = () => ({ status: 503, body: 'down' });
    gw = await startTestGateway({
      server: 'body_limit: 16kb',
      extra: `
destinations:
  billing: { url: "http://127.0.0.1:${taking.port}/billing" }
  ledger: { url: "http://127.0.0.1:${refusing.port}/ledger", max_attempts: 2, backoff_base: 20ms, backoff_max: 40ms }
routes:
  - { source: stripe, to: [billing, ledger] }
  - { source: partner, to: billing }
`,
    });
    dir = mkdtempSync(join(tmpdir(), 'hookyard-prometheus-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const target = new URL(gw.url).host;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [${JSON.stringify(ALERTS)}]
scrape_configs:
  - job_name: hookyard
    scrape_interval: 1s
    scrape_timeout: 1s
    authorization: { type: Bearer, credentials: ${API_TOKEN} }
    static_configs: [{ targets: ["${target}"] }]
`,
    );
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let failed = false;
    prometheus.on('error', (error) => {
      failed = true;
      log += `${error}\n`;
    });
    prometheus.stdout?.on('data', (c) => (log += c));
    prometheus.stderr?.on('data', (c) => (log += c));
    const ready = await until(
      () =>
        fetch(`${promUrl}/-/ready`).then(
          (r) => r.status === 200,
          () => false,
        ),
      (ok) => ok || failed || prometheus.exitCode !== null,
      20_000,
    );
    assert.ok(ready, `Prometheus did not start:\n${log}`);
    // Scraped at least once before any traffic: the counters start at 0 in its eyes too.
    const up = await until(
      () => scalar('up{job="hookyard"}'),
      (v) => v === 1,
    );
    assert.equal(up, 1, `the gateway is not scraped:\n${log}`);

    // The traffic, while Prometheus scrapes every second: in parallel, in several bursts.
    const stripeIds = Array.from({ length: STRIPE }, () => `evt_${randomUUID()}`);
    const sends: (() => Promise<number>)[] = [
      ...stripeIds.map((id) => () => sendStripe(gw, id)),
      ...Array.from({ length: PARTNER }, () => async () => {
        const id = `msg_${randomUUID()}`;
        const body = JSON.stringify({ type: 'invoice.paid', data: { id } });
        const res = await gw.post(
          'partner',
          body,
          standardWebhooksHeaders(body, SECRETS.partner, id),
        );
        await res.arrayBuffer();
        return res.status;
      }),
    ];
    const statuses: number[] = [];
    await inParallel(sends, 10, async (send) => void statuses.push(await send()));
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );
    const refusals: (() => Promise<number>)[] = [
      ...stripeIds.slice(0, DUPLICATES).map((id) => () => sendStripe(gw, id)),
      ...Array.from({ length: BAD_SIGNATURES }, () => () => sendStripe(gw, undefined, 'whsec_x')),
      ...Array.from({ length: UNKNOWN }, (_, i) => async () => {
        const res = await gw.post(`nope-${i}-${randomUUID()}`, '{}', {});
        await res.arrayBuffer();
        return res.status;
      }),
      ...Array.from({ length: WRONG_METHOD }, () => async () => {
        const res = await fetch(`${gw.url}/webhooks/stripe`, { method: 'PUT', body: '{}' });
        await res.arrayBuffer();
        return res.status;
      }),
      ...Array.from({ length: TOO_LARGE }, () => async () => {
        const res = await gw.post('stripe', 'x'.repeat(32 * 1024), {}).catch(() => undefined);
        await res?.arrayBuffer().catch(() => undefined);
        return res?.status ?? 413;
      }),
    ];
    const refused: number[] = [];
    await inParallel(refusals, 8, async (send) => void refused.push(await send()));
    assert.equal(refused.filter((s) => s === 200).length, DUPLICATES, 'duplicates answer 200');
  });

  after(async () => {
    if (prometheus?.pid !== undefined && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await once(prometheus, 'exit');
    }
    await gw?.close();
    await taking?.close();
    await refusing?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('events counted equal events sent; duplicates too', async () => {
    const total = await until(
      () => scalar('sum(hookyard_events_received_total{job="hookyard"})'),
      (v) => v === STRIPE + PARTNER,
    );
    assert.equal(total, STRIPE + PARTNER);
    assert.equal(
      await scalar('hookyard_events_received_total{job="hookyard",source="stripe"}'),
      STRIPE,
    );
    assert.equal(
      await scalar('hookyard_events_received_total{job="hookyard",source="partner"}'),
      PARTNER,
    );
    assert.equal(await scalar('hookyard_events_received_total{job="hookyard",source="github"}'), 0);
    assert.equal(
      await until(
        () => scalar('hookyard_events_duplicate_total{job="hookyard",source="stripe"}'),
        (v) => v === DUPLICATES,
      ),
      DUPLICATES,
    );
    // Every 200 to a stored or duplicate event is one ingest duration.
    assert.equal(
      await scalar('sum(hookyard_ingest_duration_seconds_count{job="hookyard"})'),
      STRIPE + PARTNER + DUPLICATES,
    );
    assert.equal(
      await scalar('sum(hookyard_commit_batch_size_sum{job="hookyard"})'),
      STRIPE + PARTNER + DUPLICATES,
    );
  });

  test('refusals by code equal refusals sent', async () => {
    const expected: Record<string, Record<string, number>> = {
      signature_invalid: { stripe: BAD_SIGNATURES },
      source_not_found: { '(unknown)': UNKNOWN },
      method_not_allowed: { stripe: WRONG_METHOD },
      body_too_large: { stripe: TOO_LARGE },
    };
    const data = await until(
      () => query('hookyard_requests_rejected_total{job="hookyard"}'),
      (d) =>
        d.result.reduce((n: number, r: any) => n + Number(r.value[1]), 0) ===
        BAD_SIGNATURES + UNKNOWN + WRONG_METHOD + TOO_LARGE,
    );
    const got: Record<string, Record<string, number>> = {};
    for (const r of data.result) {
      (got[r.metric.code] ??= {})[r.metric.source] = Number(r.value[1]);
    }
    assert.deepEqual(got, expected);
  });

  test('attempts per destination and outcome; dead deliveries; the queue drained', async () => {
    const expr = 'sum by (destination, outcome) (hookyard_delivery_attempts_total{job="hookyard"})';
    const want = {
      'billing delivered': STRIPE + PARTNER,
      'billing retry': 0,
      'billing dead': 0,
      'ledger delivered': 0,
      'ledger retry': STRIPE,
      'ledger dead': STRIPE,
    };
    const read = async () => {
      const out: Record<string, number> = {};
      for (const r of (await query(expr)).result)
        out[`${r.metric.destination} ${r.metric.outcome}`] = Number(r.value[1]);
      return out;
    };
    assert.deepEqual(
      await until(read, (got) => JSON.stringify(got) === JSON.stringify({ ...got, ...want })),
      want,
    );
    assert.equal(await scalar('hookyard_deliveries_dead_total{destination="ledger"}'), STRIPE);
    assert.equal(await scalar('hookyard_deliveries_dead_total{destination="billing"}'), 0);
    assert.equal(
      await scalar('sum(hookyard_delivery_attempt_duration_seconds_count{destination="ledger"})'),
      2 * STRIPE,
    );
    const pending = await until(
      () => scalar('sum(hookyard_deliveries_pending{job="hookyard"})'),
      (v) => v === 0,
    );
    assert.equal(pending, 0);
    assert.equal(await scalar('hookyard_storage_up{job="hookyard"}'), 1);
    // A scrape stays quick: Prometheus's own measure of it.
    const duration = await scalar('scrape_duration_seconds{job="hookyard"}');
    assert.ok(duration !== undefined && duration < 0.5, `scrape took ${duration} s`);
  });

  test('the shipped alert rules evaluate without error; the dead-delivery alert fires', async () => {
    const rules = await until(
      async () => ((await (await fetch(`${promUrl}/api/v1/rules`)).json()) as any).data.groups,
      (groups: any[]) =>
        groups.length > 0 && groups[0].rules.every((r: any) => r.lastEvaluation > '2000'),
    );
    const all = rules.flatMap((g: any) => g.rules);
    assert.equal(all.length, 6);
    for (const r of all) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
    const alerts = await until(
      async () =>
        ((await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as any).data.alerts as any[],
      (list) => list.some((a) => a.labels.alertname === 'HookyardDeliveriesDead'),
    );
    const dead = alerts.filter((a) => a.labels.alertname === 'HookyardDeliveriesDead');
    assert.deepEqual(
      dead.map((a) => [a.labels.destination, a.state]),
      [['ledger', 'firing']],
    );
    // Nothing answered 503: that alert stays silent.
    assert.ok(!alerts.some((a) => a.labels.alertname === 'HookyardIngestUnavailable'));
  });

  test('every PromQL expression of the Grafana dashboard evaluates, with data', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: any) =>
      (p.targets ?? []).map((t: any) => t.expr as string),
    );
    assert.ok(exprs.length >= 15, `${exprs.length} expressions`);
    const variable = dashboard.templating.list.find((v: any) => v.name === 'instance');
    const instances = await query(
      variable.definition.replace(/^label_values\((.*), instance\)$/, '$1'),
    );
    assert.equal(instances.result.length, 1, 'the instance variable finds the gateway');
    for (const raw of exprs) {
      // What Grafana substitutes: "All" instances, and a rate interval of 4 scrapes at least.
      const expr = raw.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '30s');
      assert.doesNotMatch(expr, /\$/, `an unknown variable in ${raw}`);
      // A series that appeared a moment ago needs a second sample for rate().
      const data = await until(
        () => query(expr),
        (d) => d.result.length > 0,
      );
      assert.ok(data.result.length > 0, `no data for ${raw}`);
    }
  });
});
