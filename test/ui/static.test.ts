// The dashboard's files over real HTTP: the security headers on every answer, caching, HEAD,
// gzip, and no way out of dist/ui whatever the path says.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { CONTENT_SECURITY_POLICY, createDashboard } from '../../src/http/dashboard.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ensureBuilt } from './support.ts';

let gw: TestGateway;
before(async () => {
  ensureBuilt();
  gw = await startTestGateway();
});
after(() => gw.close());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** node:http sends the path exactly as written (fetch would normalize `..` away). */
function raw(path: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  const { port } = new URL(gw.url);
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function assertSecurityHeaders(a: Answer, what: string) {
  assert.equal(a.headers['content-security-policy'], CONTENT_SECURITY_POLICY, what);
  assert.equal(a.headers['x-content-type-options'], 'nosniff', what);
  assert.equal(a.headers['referrer-policy'], 'no-referrer', what);
}

const code = (a: Answer) =>
  (JSON.parse(a.body.toString()) as { error: { code: string } }).error.code;

describe('dashboard files', () => {
  test('the page at / under a strict CSP, with no inline script or style', async () => {
    const page = await raw('/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['cache-control'], 'no-cache');
    assertSecurityHeaders(page, '/');
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ]) {
      assert.ok(CONTENT_SECURITY_POLICY.split('; ').includes(directive), directive);
    }
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-|\*/);
    const html = page.body.toString();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length > 0);
    for (const [, attrs, inline] of scripts) {
      assert.match(attrs ?? '', /\bsrc="\/ui\/assets\/[^"]+\.js"/);
      assert.equal(inline?.trim(), '');
    }
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=|https?:\/\//i);
  });

  test('hashed assets are cached for good and carry the same headers', async () => {
    const html = (await raw('/')).body.toString();
    const assets = [...html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')));
    for (const path of assets) {
      const a = await raw(path);
      assert.equal(a.status, 200, path);
      assert.equal(a.headers['cache-control'], 'public, max-age=31536000, immutable', path);
      assertSecurityHeaders(a, path);
      const type = String(a.headers['content-type']);
      if (path.endsWith('.js')) assert.equal(type, 'text/javascript; charset=utf-8');
      if (path.endsWith('.css')) assert.equal(type, 'text/css; charset=utf-8');
    }
  });

  test('HEAD answers the headers of GET without a body; gzip when asked', async () => {
    const get = await raw('/');
    const head = await raw('/', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-length'], String(get.body.length));
    assertSecurityHeaders(head, 'HEAD /');

    const js = (await raw('/')).body.toString().match(/src="(\/ui\/assets\/[^"]+\.js)"/)?.[1];
    assert.ok(js);
    const plain = await raw(js);
    const zipped = await raw(js, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers.vary, 'accept-encoding');
    assert.ok(zipped.body.length < plain.body.length);
    assert.deepEqual(gunzipSync(zipped.body), plain.body);
  });

  test('no path leaves dist/ui', async () => {
    const outside = [
      '/ui/../../package.json',
      '/ui/%2e%2e/%2e%2e/package.json',
      '/ui/..%2f..%2fpackage.json',
      '/ui/assets/..%2F..%2F..%2Fpackage.json',
      '/ui/%2e%2e%2f%2e%2e%2fsrc%2fhttp%2fdashboard.ts',
      '/ui//etc/passwd',
      '/ui/%2fetc%2fpasswd',
      '/ui/index.html%00.js',
      '/ui/',
      '/ui/assets',
    ];
    for (const path of outside) {
      const a = await raw(path);
      assert.equal(a.status, 404, path);
      assert.equal(code(a), 'not_found', path);
      assert.doesNotMatch(a.body.toString(), /"name": *"hookyard"|root:/, path);
      assertSecurityHeaders(a, path);
    }
    const malformed = await raw('/ui/%E0%A4%A');
    assert.equal(malformed.status, 400);
    assert.equal(code(malformed), 'bad_request');
  });

  test('only GET and HEAD', async () => {
    const a = await raw('/', { method: 'POST' });
    assert.equal(a.status, 405);
    assert.equal(code(a), 'method_not_allowed');
    assert.equal(a.headers.allow, 'GET, HEAD');
  });

  test('a folder without a build is a 404 that says so', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'hookyard-ui-'));
    try {
      const reply = await createDashboard(empty)({ method: 'GET', path: '/' });
      assert.equal(reply.status, 404);
      assert.equal(reply.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
