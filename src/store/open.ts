import { ConfigError } from '../config.ts';
import type { Store } from './contract.ts';
import { SqliteStore } from './sqlite/store.ts';

/** Opens the store a `storage` URL names: `sqlite:<path>` (or a bare path). */
export function openStore(url: string): Store {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    throw new ConfigError(
      'storage: PostgreSQL is not available in this version yet; use sqlite:<path>',
    );
  }
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (!path) throw new ConfigError('storage: sqlite: needs a file path');
  return new SqliteStore(path);
}
