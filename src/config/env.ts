// The environment's part in the configuration: `${VAR}` expansion inside the file, the
// HOOKYARD_* variables that override a few options without a file, and `--env-file`.
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { ConfigError } from '../errors.ts';
import { LOG_LEVELS } from './schema.ts';

/** `${VAR}` or `${VAR:-default}`. */
export const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Expands `${VAR}` and `${VAR:-default}` in every string value, naming the path on failure.
 * A variable set to the empty string counts as unset (its default applies). */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${path || '(root)'}: environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnv(v, env, path ? `${path}.${k}` : k)]),
    );
  }
  return value;
}

/** Options given outside the file: by HOOKYARD_* variables or by flags. */
export interface Overrides {
  host?: string;
  port?: number;
  storage?: string;
  logLevel?: string;
}

/** The variables that override the file (flags override them in turn), and their option. */
export const ENVIRONMENT = {
  HOOKYARD_STORAGE: 'storage',
  HOOKYARD_HOST: 'server.host',
  HOOKYARD_PORT: 'server.port',
  HOOKYARD_LOG_LEVEL: 'log_level',
} as const;

/** A port number from a flag or a variable; `label` names it in the error. */
export function parsePort(value: string, label: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new ConfigError(`${label}: expected a port number, got ${value}`);
  }
  return Number(value);
}

/** The HOOKYARD_* overrides set in `env`. Empty counts as unset, as in `${VAR}`. */
export function environmentOverrides(env: NodeJS.ProcessEnv): Overrides {
  const value = (name: keyof typeof ENVIRONMENT) => env[name] || undefined;
  const overrides: Overrides = {};
  const storage = value('HOOKYARD_STORAGE');
  const host = value('HOOKYARD_HOST');
  const port = value('HOOKYARD_PORT');
  const logLevel = value('HOOKYARD_LOG_LEVEL');
  if (storage !== undefined) overrides.storage = storage;
  if (host !== undefined) overrides.host = host;
  if (port !== undefined) overrides.port = parsePort(port, 'HOOKYARD_PORT');
  if (logLevel !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
      throw new ConfigError(
        `HOOKYARD_LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got ${logLevel}`,
      );
    }
    overrides.logLevel = logLevel;
  }
  return overrides;
}

/**
 * `env` with the variables of a dotenv file (`KEY=value` lines, Node's own parser) added
 * underneath: a variable already set in `env` keeps its value, as with `node --env-file`.
 * `env` itself is not changed.
 */
export function withEnvFile(env: NodeJS.ProcessEnv, path: string): NodeJS.ProcessEnv {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `--env-file: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  const merged: NodeJS.ProcessEnv = { ...env };
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (merged[name] === undefined) merged[name] = value;
  }
  return merged;
}
