import { ConfigError } from '../errors.ts';
import type { Store } from './contract.ts';
import { PostgresStore } from './postgres/store.ts';
import { SqliteStore } from './sqlite/store.ts';

export interface OpenOptions {
  /** PostgreSQL: connections in the pool and how long to wait for one. */
  pool?: number;
  connectTimeoutMs?: number;
  /** PostgreSQL: how long a lone event may wait to share a transaction. */
  batchLingerMs?: number;
}

/** Opens the store a `storage` URL names: `sqlite:<path>` (or a bare path) or
 * `postgres://user:pass@host:port/db` (`postgresql://` too). A PostgreSQL store connects and
 * migrates on first use: `store.migrate()` does it at once and reports failures. */
export function openStore(url: string, options: OpenOptions = {}): Store {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return new PostgresStore(url, {
      ...(options.pool !== undefined && { pool: options.pool }),
      ...(options.connectTimeoutMs !== undefined && {
        connectTimeoutSec: Math.max(1, Math.ceil(options.connectTimeoutMs / 1000)),
      }),
      ...(options.batchLingerMs !== undefined && { batchLinger: options.batchLingerMs }),
    });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new ConfigError(
      `storage: unsupported URL ${url.split('://')[0]}://; use sqlite:<path> or postgres://…`,
    );
  }
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (!path) throw new ConfigError('storage: sqlite: needs a file path');
  return new SqliteStore(path);
}
