// A real PostgreSQL for tests: a database per test file, created on the server that
// HOOKYARD_TEST_POSTGRES names (an admin URL; default the one .ci/run sets up). Set it to
// `off` to skip the PostgreSQL half of the suite, which the skipped tests then say.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

const setting = process.env.HOOKYARD_TEST_POSTGRES;
export const POSTGRES_ADMIN_URL =
  setting && setting !== 'off' ? setting : 'postgres://hookyard:hookyard@127.0.0.1:5432/postgres';

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
