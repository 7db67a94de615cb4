// The dashboard's files (built by `npm run build:ui` into dist/ui/, shipped in the package):
// index.html at `/`, the rest under /ui/. Framework-free like the API: a path and a few request
// headers in, a Reply out, so that any adapter can serve it.
//
// Every answer carries a strict Content-Security-Policy: only this origin's own script, style,
// images and fetches; no inline script, no framing, no <base>, no form posts. Event bodies are
// rendered as text by the app; the policy is the second line should one ever slip through.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { errorReply, type Reply } from '../errors.ts';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // For browsers that predate frame-ancestors.
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

/** Under assets/ every name carries a hash of its content: a new build is a new URL. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const ASSETS = 'assets';

/**
 * Where the built files are: dist/ui/ beside dist/http/ in the package, or, when this file runs
 * from src/ (tests under type stripping), the repository's dist/ui/.
 */
export function locateDashboard(): string | undefined {
  for (const candidate of ['../ui/', '../../dist/ui/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(resolve(dir, 'index.html'))) return resolve(dir);
  }
  return undefined;
}

/** Whether a request path is the dashboard's: `/` and everything under `/ui/`. */
export function isDashboardPath(path: string): boolean {
  return path === '/' || path.startsWith('/ui/');
}

interface Cached {
  mtimeMs: number;
  size: number;
  body: Buffer;
  gzipped: Buffer | undefined;
}

export interface DashboardRequest {
  method: string;
  /** The URL path, still percent-encoded, without the query. */
  path: string;
  acceptEncoding?: string | undefined;
}

/** A server of one built dashboard folder; without `root`, the package's (`locateDashboard`),
 * looked for again while it is missing so that a build after the start is picked up. */
export function createDashboard(root?: string) {
  const cache = new Map<string, Cached>();
  let located = root;

  async function load(file: string): Promise<Cached | undefined> {
    let info;
    try {
      info = await stat(file);
    } catch {
      return undefined;
    }
    if (!info.isFile()) return undefined;
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === info.mtimeMs && hit.size === info.size) return hit;
    const body = await readFile(file);
    const compressed = COMPRESSIBLE.has(extname(file)) ? gzipSync(body) : undefined;
    const entry: Cached = {
      mtimeMs: info.mtimeMs,
      size: info.size,
      body,
      gzipped: compressed && compressed.length < body.length ? compressed : undefined,
    };
    cache.set(file, entry);
    return entry;
  }

  const refuse = (reply: Reply): Reply => ({
    ...reply,
    headers: { ...reply.headers, ...SECURITY_HEADERS },
  });

  return async function dashboardReply(req: DashboardRequest): Promise<Reply> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return refuse(
        errorReply('method_not_allowed', `${req.method} is not allowed on ${req.path}`, {
          allow: 'GET, HEAD',
        }),
      );
    }
    located ??= locateDashboard();
    const dir = located;
    if (!dir) {
      return refuse(errorReply('not_found', 'the dashboard is not built: run `npm run build:ui`'));
    }
    let relative: string;
    if (req.path === '/') relative = 'index.html';
    else if (req.path.startsWith('/ui/')) {
      try {
        relative = decodeURIComponent(req.path.slice('/ui/'.length));
      } catch {
        return refuse(errorReply('bad_request', 'malformed percent-encoding in the path'));
      }
    } else return refuse(errorReply('not_found', `no route ${req.path}`));
    // Resolved under the root and compared: `..`, encoded slashes and absolute paths all end
    // up outside it (or at a NUL, which no file name holds) and are not found.
    const file = resolve(dir, relative);
    if (relative.includes('\0') || !file.startsWith(dir + sep)) {
      return refuse(errorReply('not_found', `no file ${req.path}`));
    }
    const entry = await load(file);
    if (!entry) return refuse(errorReply('not_found', `no file ${req.path}`));

    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      // index.html (650 bytes) is fetched again on every load, so that a new build is picked
      // up at once; the hashed files it names never change.
      'cache-control': file.startsWith(resolve(dir, ASSETS) + sep) ? IMMUTABLE : 'no-cache',
      vary: 'accept-encoding',
    };
    if (entry.gzipped && /\bgzip\b/.test(req.acceptEncoding ?? '')) {
      headers['content-encoding'] = 'gzip';
      return { status: 200, headers, body: entry.gzipped };
    }
    return { status: 200, headers, body: entry.body };
  };
}

let shared: ReturnType<typeof createDashboard> | undefined;

/** The package's own dashboard, located on first use. */
export function dashboardReply(req: DashboardRequest): Promise<Reply> {
  shared ??= createDashboard();
  return shared(req);
}
