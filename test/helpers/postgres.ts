// A real PostgreSQL for tests: a database per test file, created on the server that
// HOOKYARD_TEST_POSTGRES names (an admin URL; default the one .ci/run sets up). Set it to
// `off` to skip the PostgreSQL half of the suite, which the skipped tests then say.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';

const execFileAsync = promisify(execFile);

const setting = process.env.HOOKYARD_TEST_POSTGRES;
export const POSTGRES_ADMIN_URL =
  setting && setting !== 'off' ? setting : 'postgres://hookyard:hookyard@127.0.0.1:5432/postgres';

/** Port 1 on loopback: nothing listens there, so a connection is refused at once (a store
 * that is down). */
export const POSTGRES_UNREACHABLE_URL = 'postgres://hookyard:hookyard@127.0.0.1:1/none';

/** A reason to skip the PostgreSQL tests, or false to run them. */
export const POSTGRES_SKIP: string | false =
  setting === 'off' ? 'HOOKYARD_TEST_POSTGRES=off: PostgreSQL tests not run' : false;

export interface TestDatabase {
  /** The new database's URL. */
  url: string;
  /** The URL of a new empty schema in it (through search_path), for a test of its own. */
  schema(): Promise<string>;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'hookyard_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(POSTGRES_ADMIN_URL, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } catch (error) {
    await admin.end();
    throw new Error(
      `PostgreSQL is not usable at ${POSTGRES_ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} ` +
        `(${(error as Error).message}). Start it (.ci/run shows how) or point ` +
        'HOOKYARD_TEST_POSTGRES at one; HOOKYARD_TEST_POSTGRES=off skips these tests.',
      { cause: error },
    );
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  const db = postgres(url.href, { max: 1, onnotice: () => undefined });
  let schemas = 0;
  return {
    url: url.href,
    async schema() {
      const schema = `t${schemas++}`;
      await db.unsafe(`CREATE SCHEMA ${schema}`);
      const u = new URL(url.href);
      u.searchParams.set('search_path', schema);
      return u.href;
    },
    async drop() {
      await db.end();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export interface PrivatePostgres {
  /** An admin URL (database `postgres`). */
  url: string;
  /** A URL for another database on this server, created now. */
  database(name: string): Promise<string>;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

function postgresBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')))
    : [];
  const newest = versions.sort((a, b) => Number(a) - Number(b)).at(-1);
  if (!newest) throw new Error(`no PostgreSQL server under ${base} (.ci/run installs one)`);
  return join(base, newest, 'bin');
}

/**
 * A PostgreSQL server of the test's own, in a temporary directory on a free port, that the
 * test may stop and start (an outage) without touching other tests' server. As root it runs
 * as the `postgres` user, since PostgreSQL refuses to run as root.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'hookyard-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = async (cmd: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]]
      : [join(bin, cmd), args];
    await execFileAsync(file, argv, { cwd: dir });
  };
  if (asRoot) {
    const { uid, gid } = statSync('/var/lib/postgresql');
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  await run('initdb', ['-D', data, '-U', 'hookyard', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on`;
  const pgCtl = (...args: string[]) =>
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', ...args]);
  await pgCtl('-o', options, 'start');
  const url = `postgres://hookyard@127.0.0.1:${port}/postgres`;
  return {
    url,
    async database(name) {
      const admin = postgres(url, { max: 1, onnotice: () => undefined });
      await admin.unsafe(`CREATE DATABASE ${name}`);
      await admin.end();
      return url.replace(/\/postgres$/, `/${name}`);
    },
    stop: (mode = 'fast') => pgCtl('-m', mode, 'stop'),
    start: () => pgCtl('-o', options, 'start'),
    async destroy() {
      await pgCtl('-m', 'immediate', 'stop').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
