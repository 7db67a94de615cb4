// What the benchmarks share: the signed GitHub-style request, wrk, and process plumbing.
import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SECRET = 'bench-github-secret';

/** A GitHub `issues` payload padded to 1.5 KB. */
function makeBody(): string {
  const base = {
    action: 'opened',
    issue: { id: 1, number: 1347, title: 'Found a bug', state: 'open', body: '' },
    repository: { id: 1296269, full_name: 'octocat/Hello-World', private: false },
    sender: { login: 'octocat', id: 1, type: 'User' },
  };
  base.issue.body = 'x'.repeat(1536 - JSON.stringify(base).length);
  return JSON.stringify(base);
}
export const BODY = makeBody();
export const SIGNATURE = `sha256=${createHmac('sha256', SECRET).update(BODY).digest('hex')}`;

export interface WrkResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  socketErrors: number;
}

function ms(value: string, unit: string): number {
  const v = Number(value);
  return unit === 'us' ? v / 1000 : unit === 's' ? v * 1000 : v;
}

/** wrk on core 1 with github.lua: signed bodies, a unique X-GitHub-Delivery per request.
 * Asynchronous, so a sink in this process keeps receiving while it runs. */
export async function wrk(url: string, seconds: number, connections: number): Promise<WrkResult> {
  const { stdout: out } = await promisify(execFile)(
    'taskset',
    [
      '-c',
      '1',
      'wrk',
      '-t1',
      `-c${connections}`,
      `-d${seconds}s`,
      '--latency',
      '-s',
      join(ROOT, 'bench/ingest/github.lua'),
      url,
    ],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        BENCH_BODY: BODY,
        BENCH_SIGNATURE: SIGNATURE,
        BENCH_PATH: new URL(url).pathname,
        BENCH_RUN: randomUUID(),
      },
    },
  );
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  const lat = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? ms(m[1] as string, m[2] as string) : Number.NaN;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50: lat('50'),
    p99: lat('99'),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
    socketErrors: errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

export function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = createConnection(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} never opened`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
};

export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};

export function ensureBuilt(): void {
  try {
    execFileSync(process.execPath, [join(ROOT, 'bin/hookyard.js'), '--version'], {
      stdio: 'ignore',
    });
  } catch {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
}

export interface OpenLoopResult {
  accepted: number;
  failed: number;
  /** How long it sent for. */
  seconds: number;
  /** ms from send to answer, of the accepted. */
  p50: number;
  p99: number;
  max: number;
}

/** bench/delivery/open-loop.ts, a process of its own on core 1: `rate`/s signed events to
 * `origin`'s /webhooks/gh for `seconds`, not waiting for answers to send the next. */
export async function openLoop(
  origin: string,
  rate: number,
  seconds: number,
): Promise<OpenLoopResult> {
  const { stdout } = await promisify(execFile)('taskset', [
    '-c',
    '1',
    process.execPath,
    join(ROOT, 'bench/delivery/open-loop.ts'),
    origin,
    String(rate),
    String(seconds),
  ]);
  return JSON.parse(stdout) as OpenLoopResult;
}

/** An admin connection to a PostgreSQL server, for databases made fresh per run. */
export function pgAdmin(adminUrl: string) {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  const drop = async (name: string) => {
    await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };
  return {
    drop,
    /** Drops and creates database `name`; resolves to its URL. */
    async fresh(name: string): Promise<string> {
      await drop(name);
      await sql.unsafe(`CREATE DATABASE ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.href;
    },
    end: () => sql.end(),
  };
}

/** The default PostgreSQL admin URL of the benchmarks (the one .ci/run sets up). */
export const PG_ADMIN_URL =
  process.env.HOOKYARD_TEST_POSTGRES ?? 'postgres://hookyard:hookyard@127.0.0.1:5432/postgres';

/**
 * The competitors' receiver on bare node:http: reads the body, checks GitHub's signature,
 * parses the JSON, then awaits `store` (if any) and answers 200 — or 503 if it failed.
 * Listens on $PORT.
 */
export function serveVerified(
  store?: (req: IncomingMessage, body: Buffer) => Promise<unknown>,
): void {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!githubSignatureValid(body, req.headers['x-hub-signature-256'])) {
        res.writeHead(401).end();
        return;
      }
      JSON.parse(body.toString());
      const ok = () =>
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"received"}');
      if (!store) ok();
      else store(req, body).then(ok, () => res.writeHead(503).end());
    });
  });
  server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
}

/** The competitors' signature check: GitHub's sha256 HMAC over the raw body, constant-time. */
export function githubSignatureValid(body: Buffer, header: unknown): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
  const given = Buffer.from(String(header ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** CPU time (user + system) a process has used, in seconds (Linux /proc, 100 ticks/s). A
 * receiver's CPU per request moves far less with the machine's other load than req/s does. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
