// The one way both dialects report a failure of their driver or connection: every public Store
// method rejects with StoreUnavailableError, the driver's error as its `cause` (group-commit.ts
// reads the cause to tell a refused row from an unavailable store). A cursor the server did not
// give out is the caller's mistake, not the store's: it stays a RangeError, thrown before the
// driver is asked.
import { StoreUnavailableError } from './contract.ts';

export function unavailable(dialect: string, error: unknown): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  // A SQLSTATE or a socket error (57P01, ECONNREFUSED) says what happened; Node's own ERR_ codes
  // (ERR_SQLITE_ERROR) say nothing that the message does not.
  const prefix = typeof code === 'string' && !code.startsWith('ERR_') ? `${code}: ` : '';
  const text = typeof message === 'string' ? message : String(error);
  return new StoreUnavailableError(`${dialect}: ${prefix}${text}`, { cause: error });
}

/** Runs `work` (a dialect that answers at once), any failure being the store's. */
export function guard<T>(dialect: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw unavailable(dialect, error);
  }
}
