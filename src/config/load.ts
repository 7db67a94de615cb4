// Loading: YAML text → `${VAR}` expansion → HOOKYARD_* and flag overrides → the schema →
// `Config`. Every failure is a ConfigError whose lines each start with the bad key's path.
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { environmentOverrides, expandEnv, type Overrides } from './env.ts';
import { type Config, configSchema } from './schema.ts';

/** The file read when no other is named. */
export const DEFAULT_CONFIG_FILE = 'hookyard.yaml';

/** Messages for the issues no option spells out for itself. */
const messages: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'unrecognized_keys') return 'unknown option';
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'required';
  return undefined;
};

function formatIssues(error: z.ZodError): string {
  return error.issues
    .flatMap((issue) => {
      const path = issue.path.map(String).join('.');
      // One line per unknown key, named by its own path.
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => `${path ? `${path}.` : ''}${key}: ${issue.message}`);
      }
      const message =
        issue.code === 'invalid_key'
          ? issue.issues.map((i) => i.message).join('; ')
          : issue.message;
      return [`${path || '(root)'}: ${message}`];
    })
    .join('\n');
}

/** Validates an already-parsed document (after env expansion) into a `Config`; `overrides`
 * replace what the document says. */
export function resolveConfig(document: unknown, overrides: Overrides = {}): Config {
  const doc = (document ?? {}) as Record<string, unknown>;
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError('(root): expected a mapping');
  const server = { ...((doc.server as object | undefined) ?? {}) } as Record<string, unknown>;
  if (overrides.host !== undefined) server.host = overrides.host;
  if (overrides.port !== undefined) server.port = overrides.port;
  const merged = {
    ...doc,
    server,
    ...(overrides.storage !== undefined && { storage: overrides.storage }),
    ...(overrides.logLevel !== undefined && { log_level: overrides.logLevel }),
  };
  const parsed = configSchema.safeParse(merged, { error: messages });
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error));
  return parsed.data;
}

export function parseConfigText(
  text: string,
  env: NodeJS.ProcessEnv = process.env,
  overrides: Overrides = {},
): Config {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`not valid YAML: ${(error as Error).message}`);
  }
  return resolveConfig(expandEnv(document, env), overrides);
}

export function loadConfig(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  overrides: Overrides = {},
): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    return parseConfigText(text, env, overrides);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${path}: ${error.message}`);
    throw error;
  }
}

/**
 * The file to read when none is named: `hookyard.yaml` when it exists; when it does not and
 * the storage is given outside a file (HOOKYARD_STORAGE or a flag), none — the defaults, the
 * environment and the flags are the whole configuration, without sources. Otherwise
 * `hookyard.yaml` still, so that its absence is the error.
 */
export function configFileFor(
  named: string | undefined,
  env: NodeJS.ProcessEnv,
  flags: Overrides,
): string | null {
  if (named !== undefined) return named;
  if (existsSync(DEFAULT_CONFIG_FILE)) return DEFAULT_CONFIG_FILE;
  const storage = flags.storage ?? environmentOverrides(env).storage;
  return storage === undefined ? DEFAULT_CONFIG_FILE : null;
}

/**
 * The layers, each over the one before: the schema's defaults < the file (`null`: none) <
 * HOOKYARD_* variables in `env` < `flags`. `${VAR}` in the file expands from `env` too.
 */
export function loadConfigLayers(options: {
  file: string | null;
  env?: NodeJS.ProcessEnv;
  flags?: Overrides;
}): Config {
  const env = options.env ?? process.env;
  const overrides = { ...environmentOverrides(env), ...options.flags };
  return options.file === null
    ? resolveConfig({}, overrides)
    : loadConfig(options.file, env, overrides);
}
