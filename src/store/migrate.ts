// One migration runner for both dialects (graphile-worker's src/migrate.ts is the model). Inside
// one transaction that holds the dialect's migration lock it makes sure the bookkeeping table
// exists, reads which versions that table records, then applies the others in order and
// records each. Several processes starting at once serialise on the lock: the first applies,
// the others then find every migration recorded. A migration that fails rolls back the whole
// run, so a schema is never left half-applied.
//
// node:sqlite answers at once and the postgres client with promises, so the run is written once
// as a generator whose every `yield` is a statement for the dialect to run (answered with the
// rows it returned), and `runMigrations` / `runMigrationsAsync` drive it for each.
import type { Migration, MigrationReport } from './contract.ts';
import type { Row } from './rows.ts';
import type { Dialect } from './sql.ts';

/** What the runner asks the dialect to run: one of its numbered migrations (a script of
 * several statements, no parameters), or a statement with parameters. */
export type MigrationStep =
  { script: string } | { statement: string; params: readonly (string | number)[] };

export interface MigrationDialect extends Pick<Dialect, 'param'> {
  /** Takes the migration lock until the transaction ends; null where the statement that opened
   * the transaction took it (SQLite's `BEGIN IMMEDIATE`). */
  lock: string | null;
}

// The same declaration reads the same on both: SQLite's INTEGER PRIMARY KEY is any case.
const TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`;

function* run(
  migrations: readonly Migration[],
  dialect: MigrationDialect,
): Generator<MigrationStep, MigrationReport, readonly Row[]> {
  // The lock comes first: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against itself.
  if (dialect.lock) yield { statement: dialect.lock, params: [] };
  yield { script: TABLE };
  const recorded = yield { statement: 'SELECT version FROM schema_migrations', params: [] };
  const done = new Set(recorded.map((r) => Number(r.version)));
  const p = dialect.param;
  const record = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (${p(1)}, ${p(2)}, ${p(3)})`;
  const applied: MigrationReport['applied'] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    yield { script: m.sql };
    yield { statement: record, params: [m.version, m.name, Date.now()] };
    applied.push({ version: m.version, name: m.name });
  }
  return { applied, version: Math.max(0, ...done, ...applied.map((m) => m.version)) };
}

/** Runs `migrations` with a dialect that answers at once, inside the caller's locked
 * transaction. */
export function runMigrations(
  migrations: readonly Migration[],
  dialect: MigrationDialect,
  execute: (step: MigrationStep) => readonly Row[],
): MigrationReport {
  const steps = run(migrations, dialect);
  for (let step = steps.next(); ; step = steps.next(execute(step.value))) {
    if (step.done) return step.value;
  }
}

/** Runs `migrations` with a dialect that answers with promises, inside the caller's locked
 * transaction. */
export async function runMigrationsAsync(
  migrations: readonly Migration[],
  dialect: MigrationDialect,
  execute: (step: MigrationStep) => Promise<readonly Row[]>,
): Promise<MigrationReport> {
  const steps = run(migrations, dialect);
  for (let step = steps.next(); ; step = steps.next(await execute(step.value))) {
    if (step.done) return step.value;
  }
}
