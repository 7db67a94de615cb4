import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseServeArgs } from '../src/cli/cli.ts';
import { ConfigError, expandEnv, loadConfig, parseConfigText } from '../src/config.ts';

const MIN = 'sources:\n  s: { provider: github, secret: abc }\n';

function error(yaml: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfigText(yaml, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('expected a ConfigError');
}

describe('config', () => {
  test('defaults are real units: 5 MiB, 10 s headers, 30 s request', () => {
    const c = parseConfigText(MIN, {});
    assert.deepEqual(c.server, {
      host: '127.0.0.1',
      port: 8787,
      bodyLimit: 5 * 1024 * 1024,
      headerTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      maxConnections: 1000,
      maxBytesInFlight: 64 * 1024 * 1024,
      refusalLogRate: 20,
    });
    assert.equal(c.storage, 'sqlite:./.hookyard/hookyard.db');
    assert.equal(c.logLevel, 'info');
    assert.deepEqual(c.api, {});
  });

  test('sizes and durations', () => {
    const c = parseConfigText(
      `server: { body_limit: 512kb, header_timeout: 1500ms, request_timeout: 2m }\nsources:\n  s: { provider: stripe, secret: whsec_x, tolerance: 10m }\n`,
      {},
    );
    assert.equal(c.server.bodyLimit, 512 * 1024);
    assert.equal(c.server.headerTimeoutMs, 1500);
    assert.equal(c.server.requestTimeoutMs, 120_000);
    assert.deepEqual(c.sources.get('s')?.verifier, {
      provider: 'stripe',
      secret: 'whsec_x',
      tolerance: 600,
    });
  });

  test('postgres options: defaults and durations', () => {
    assert.deepEqual(parseConfigText(MIN, {}).postgres, {
      pool: 10,
      connectTimeoutMs: 5000,
      batchLingerMs: 0,
    });
    const c = parseConfigText(
      `postgres: { pool: 4, connect_timeout: 1s, batch_linger: 2ms }\n${MIN}`,
      {},
    );
    assert.deepEqual(c.postgres, { pool: 4, connectTimeoutMs: 1000, batchLingerMs: 2 });
    assert.match(error(`postgres: { batch_linger: soon }\n${MIN}`), /postgres\.batch_linger/);
  });

  test('${VAR} and ${VAR:-default} expand; unset without default names the path', () => {
    const yaml =
      'api: { token: "${TOKEN}" }\nsources:\n  s: { provider: slack, secret: "${SLACK:-fallback}" }\n';
    const c = parseConfigText(yaml, { TOKEN: 't0k' });
    assert.equal(c.api.token, 't0k');
    assert.deepEqual(c.sources.get('s')?.verifier, { provider: 'slack', secret: 'fallback' });
    assert.match(error(yaml, {}), /api\.token: environment variable TOKEN is not set/);
    assert.deepEqual(expandEnv(['a${X}b', { k: '${Y:-d}' }], { X: '1' }), ['a1b', { k: 'd' }]);
  });

  test('a secret that expands to empty is an error, never an open door', () => {
    assert.match(
      error('sources:\n  s: { provider: stripe, secret: "${S:-}" }\n'),
      /sources\.s\.secret: must not be empty/,
    );
    assert.match(
      error('sources:\n  s: { provider: github, secrets: ["a", ""] }\n'),
      /sources\.s\.secrets\.1/,
    );
  });

  test('precise errors name the bad key', () => {
    assert.match(error('sources:\n  s: { provider: paypal, secret: x }\n'), /sources\.s\.provider/);
    assert.match(error('server: { port: "eighty" }\n'), /server\.port/);
    assert.match(error('server: { body_limit: lots }\n'), /server\.body_limit: expected a size/);
    assert.match(
      error('sources:\n  s: { provider: stripe, secret: x, tolerance: soon }\n'),
      /sources\.s\.tolerance: expected a duration/,
    );
    assert.match(
      error('sources:\n  s: { provider: stripe }\n'),
      /exactly one of secret or secrets/,
    );
    assert.match(
      error('sources:\n  s: { provider: stripe, secret: x, header: X }\n'),
      /sources\.s\.header: only the hmac provider/,
    );
    assert.match(
      error('sources:\n  s: { provider: hmac, secret: x }\n'),
      /sources\.s\.header: the hmac provider needs a header/,
    );
    assert.match(
      error('sources:\n  "a/b": { provider: stripe, secret: x }\n'),
      /URL path segments/,
    );
    assert.match(error('sourcez: {}\n'), /sourcez/);
    assert.match(
      error('sources:\n  p: { provider: standard-webhooks, secret: "whsec_!!" }\n'),
      /sources\.p: standard-webhooks/,
    );
    assert.match(error('a: [\n'), /not valid YAML/);
  });

  test('flags override the file', () => {
    const c = parseConfigText(
      'server: { port: 1, host: 0.0.0.0 }\n',
      {},
      { port: 9, storage: 'sqlite:/tmp/x.db', logLevel: 'warn' },
    );
    assert.equal(c.server.port, 9);
    assert.equal(c.server.host, '0.0.0.0');
    assert.equal(c.storage, 'sqlite:/tmp/x.db');
    assert.equal(c.logLevel, 'warn');
    const args = parseServeArgs(['--config', 'my.yaml', '--port', '8080', '--host', '::1']);
    assert.deepEqual(args, { configPath: 'my.yaml', overrides: { port: 8080, host: '::1' } });
    assert.throws(() => parseServeArgs(['--port', 'x']), ConfigError);
  });

  test('the example config loads with only its defaults', () => {
    const c = loadConfig('hookyard.example.yaml', {});
    assert.deepEqual(
      [...c.sources.keys()],
      ['stripe', 'github', 'slack', 'shop', 'partner', 'custom'],
    );
  });

  test('a missing file says so', () => {
    assert.throws(
      () => loadConfig('/nonexistent.yaml', {}),
      /cannot read \/nonexistent\.yaml: ENOENT/,
    );
  });
});
