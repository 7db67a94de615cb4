// The shipped alert rules (deploy/prometheus/): `promtool check rules` accepts them and
// `promtool test rules` runs their unit tests, in which every alert both fires and stays silent.
// The Grafana dashboard names only metrics Hookyard exports.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const PROMTOOL = '/usr/bin/promtool';
const DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));
const DASHBOARD = fileURLToPath(new URL('../../deploy/grafana/hookyard.json', import.meta.url));
const METRICS = fileURLToPath(new URL('../../src/metrics/metrics.ts', import.meta.url));
/** CI installs Prometheus (Debian's `prometheus` package, which has promtool); without it a
 * developer's machine skips these, and says so. */
const missing = !existsSync(PROMTOOL) && !process.env.CI;
if (missing) console.log(`# skipped: no promtool at ${PROMTOOL} (apt-get install prometheus)`);
const run = promisify(execFile);

describe('alert rules', { skip: missing && 'no promtool' }, () => {
  test('promtool check rules', async () => {
    const { stdout } = await run(PROMTOOL, ['check', 'rules', 'alerts.yml'], { cwd: DIR });
    assert.match(stdout, /SUCCESS: 6 rules found/);
  });

  test('promtool test rules: every alert fires when it should and stays silent when not', async () => {
    const { stdout } = await run(PROMTOOL, ['test', 'rules', 'alerts.test.yml'], { cwd: DIR });
    assert.match(stdout, /SUCCESS/);
  });

  test('each alert has a unit test that fires it and one that finds it silent', () => {
    const rules = parse(readFileSync(`${DIR}alerts.yml`, 'utf8'));
    const tests = parse(readFileSync(`${DIR}alerts.test.yml`, 'utf8'));
    const names: string[] = rules.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
    const cases = tests.tests.flatMap((t: any) => t.alert_rule_test);
    for (const name of names) {
      const mine = cases.filter((c: any) => c.alertname === name);
      assert.ok(
        mine.some((c: any) => c.exp_alerts.length > 0),
        `${name} never fires`,
      );
      assert.ok(
        mine.some((c: any) => c.exp_alerts.length === 0),
        `${name} never silent`,
      );
    }
    for (const r of rules.groups.flatMap((g: any) => g.rules)) {
      assert.match(r.labels.severity, /^(page|warning)$/, r.alert);
      assert.ok(r.annotations.summary && r.annotations.description, r.alert);
    }
  });
});

describe('Grafana dashboard', () => {
  test('valid JSON whose expressions name only exported metrics', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    assert.equal(dashboard.uid, 'hookyard');
    const ids = dashboard.panels.map((p: any) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    const source = readFileSync(METRICS, 'utf8');
    const exprs: string[] = dashboard.panels.flatMap((p: any) =>
      (p.targets ?? []).map((t: any) => t.expr),
    );
    for (const expr of exprs) {
      for (const [name] of expr.matchAll(/hookyard_[a-z_]+/g)) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        assert.ok(source.includes(`'${base}'`), `${name} in ${expr} is not exported`);
      }
    }
  });
});
