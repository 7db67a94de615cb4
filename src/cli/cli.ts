// `hookyard` — a thin layer: argv → the same Config object the library uses (docs/style.md §14).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  configFileFor,
  DEFAULT_CONFIG_FILE,
  environmentOverrides,
  loadConfigLayers,
  type Overrides,
  parsePort,
  withEnvFile,
} from '../config.ts';
import { startGateway } from '../gateway.ts';
import { StoreUnavailableError } from '../store/contract.ts';
import { openStore } from '../store/open.ts';

const HELP = `hookyard — a webhook gateway

Usage:
  hookyard serve [options]     receive, verify and store webhooks
  hookyard migrate [options]   bring the storage's schema up to date, then exit

Options for serve:
  -c, --config <file>    config file (default: hookyard.yaml; optional with a storage
                         given by --storage or HOOKYARD_STORAGE)
  -p, --port <n>         listen on this port (overrides server.port)
      --host <addr>      listen on this address (overrides server.host)
      --storage <url>    sqlite:<path> or postgres://… (overrides storage)
      --log-level <lvl>  fatal|error|warn|info|debug|trace|silent
      --env-file <file>  KEY=value lines for \${VAR} and HOOKYARD_*; variables already set
                         in the environment keep their value
  -h, --help             this help
  -v, --version          the version

Options for migrate:
  -c, --config <file>    config file (default: hookyard.yaml; optional with --storage or
                         HOOKYARD_STORAGE)
      --storage <url>    sqlite:<path> or postgres://… (overrides storage)
      --env-file <file>  as for serve
      --json             print the result as JSON

Environment (over the file, under the flags):
  HOOKYARD_STORAGE, HOOKYARD_HOST, HOOKYARD_PORT, HOOKYARD_LOG_LEVEL

serve migrates too; run migrate on its own to upgrade a shared database before rolling out
new gateway processes. Several processes migrating at once apply each migration once.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

export interface ServeArgs {
  /** Absent: hookyard.yaml, or no file at all (see configFileFor). */
  configPath?: string;
  envFile?: string;
  overrides: Overrides;
}

/** Parses `serve` flags; throws ConfigError with the flag's name on a bad value. */
export function parseServeArgs(argv: string[]): ServeArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      storage: { type: 'string' },
      'log-level': { type: 'string' },
      'env-file': { type: 'string' },
    },
    strict: true,
  });
  const overrides: Overrides = {};
  if (values.port !== undefined) overrides.port = parsePort(values.port, '--port');
  if (values.host !== undefined) overrides.host = values.host;
  if (values.storage !== undefined) overrides.storage = values.storage;
  if (values['log-level'] !== undefined) overrides.logLevel = values['log-level'];
  return {
    ...(values.config !== undefined && { configPath: values.config }),
    ...(values['env-file'] !== undefined && { envFile: values['env-file'] }),
    overrides,
  };
}

/** The process's environment, with an --env-file's variables under it. (Node itself also
 * notices `--env-file` after the script name: it does not load the file, but exits 9 when it
 * is missing, before this runs — https://github.com/nodejs/node/issues/54232.) */
function environment(envFile: string | undefined): NodeJS.ProcessEnv {
  return envFile === undefined ? process.env : withEnvFile(process.env, envFile);
}

async function serve(argv: string[]): Promise<void> {
  const args = parseServeArgs(argv);
  const env = environment(args.envFile);
  const file = configFileFor(args.configPath, env, args.overrides);
  if (file === null) {
    process.stderr.write(`hookyard: no ${DEFAULT_CONFIG_FILE}: serving without sources\n`);
  }
  const config = loadConfigLayers({ file, env, flags: args.overrides });
  const gateway = await startGateway(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`hookyard: ${signal}, finishing in-flight requests\n`);
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`hookyard: error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function migrate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      storage: { type: 'string' },
      'env-file': { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const env = environment(values['env-file']);
  const flags: Overrides = values.storage === undefined ? {} : { storage: values.storage };
  // With a storage given and no config file named, nothing else of the config matters here:
  // hookyard.yaml is not read (its ${VAR}s need not be set where migrations run).
  const storage = flags.storage ?? environmentOverrides(env).storage;
  const file = values.config ?? (storage === undefined ? DEFAULT_CONFIG_FILE : null);
  const config = loadConfigLayers({ file, env, flags });
  const store = openStore(config.storage, {
    pool: 1,
    connectTimeoutMs: config.postgres.connectTimeoutMs,
  });
  try {
    const report = await store.migrate();
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      for (const m of report.applied) process.stdout.write(`applied ${m.version} ${m.name}\n`);
      process.stdout.write(
        report.applied.length
          ? `schema at version ${report.version}\n`
          : `schema up to date at version ${report.version}\n`,
      );
    }
    return 0;
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    process.stderr.write(`hookyard: ${error.message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (
    command === undefined ||
    command === '-h' ||
    command === '--help' ||
    rest.includes('--help') ||
    rest.includes('-h')
  ) {
    process.stdout.write(HELP);
    return command === undefined ? 1 : 0;
  }
  try {
    if (command === 'serve') {
      await serve(rest);
      return -1; // keeps running
    }
    if (command === 'migrate') return await migrate(rest);
    process.stderr.write(`hookyard: unknown command ${command}\n\n${HELP}`);
    return 1;
  } catch (error) {
    const e = error as Error & { code?: string };
    if (error instanceof ConfigError || e.code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`hookyard: ${e.message}\n`);
      return 2;
    }
    if (error instanceof StoreUnavailableError) {
      process.stderr.write(`hookyard: cannot use the storage: ${e.message}\n`);
      return 1;
    }
    if (e.code === 'EADDRINUSE') {
      process.stderr.write(`hookyard: the address is already in use (${e.message})\n`);
      return 1;
    }
    throw error;
  }
}
