// `hookyard serve`: the gateway in the foreground until SIGTERM/SIGINT.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import pinoPretty from 'pino-pretty';
import {
  ConfigError,
  configFileFor,
  DEFAULT_CONFIG_FILE,
  loadConfigLayers,
  type Overrides,
  parsePort,
  withEnvFile,
} from '../../config.ts';
import { startGateway } from '../../gateway.ts';
import { defineCommand } from '../io.ts';

export interface ServeArgs {
  /** Absent: hookyard.yaml, or no file at all (see configFileFor). */
  configPath?: string;
  envFile?: string;
  overrides: Overrides;
  /** `--log-format`: readable lines or JSON lines; absent: readable on a terminal. */
  logFormat?: LogFormat;
}

export type LogFormat = 'pretty' | 'json';

function logFormat(value: string, where: string): LogFormat {
  if (value === 'pretty' || value === 'json') return value;
  throw new ConfigError(`${where}: ${JSON.stringify(value)} is not pretty or json`);
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
      'log-format': { type: 'string' },
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
    ...(values['log-format'] !== undefined && {
      logFormat: logFormat(values['log-format'], '--log-format'),
    }),
    overrides,
  };
}

/** The environment, with an --env-file's variables under it. (Node itself also notices
 * `--env-file` after the script name: it does not load the file, but exits 9 when it is
 * missing, before this runs — https://github.com/nodejs/node/issues/54232.) */
export function environment(
  env: NodeJS.ProcessEnv,
  envFile: string | undefined,
): NodeJS.ProcessEnv {
  return envFile === undefined ? env : withEnvFile(env, envFile);
}

export const CONFIG_ARG = {
  type: 'string',
  alias: 'c',
  valueHint: 'file',
  description:
    'config file (env HOOKYARD_CONFIG; default: hookyard.yaml; optional with a storage given by --storage or HOOKYARD_STORAGE)',
} as const;

export const ENV_FILE_ARG = {
  type: 'string',
  valueHint: 'file',
  description:
    'KEY=value lines for ${VAR} and HOOKYARD_*; variables already set in the environment keep their value',
} as const;

export const serveCommand = defineCommand({
  meta: { name: 'serve', description: 'receive, verify and store webhooks' },
  args: {
    config: CONFIG_ARG,
    port: {
      type: 'string',
      alias: 'p',
      valueHint: 'n',
      description: 'listen on this port (overrides server.port)',
    },
    host: {
      type: 'string',
      valueHint: 'addr',
      description: 'listen on this address (overrides server.host)',
    },
    storage: {
      type: 'string',
      valueHint: 'url',
      description: 'sqlite:<path> or postgres://… (overrides storage)',
    },
    'log-level': {
      type: 'string',
      valueHint: 'lvl',
      description: 'fatal|error|warn|info|debug|trace|silent',
    },
    'log-format': {
      type: 'string',
      valueHint: 'fmt',
      description: 'pretty|json (default: pretty on a terminal, JSON lines otherwise)',
    },
    'env-file': ENV_FILE_ARG,
  },
  notes: `Environment (over the file, under the flags):
  HOOKYARD_STORAGE, HOOKYARD_HOST, HOOKYARD_PORT, HOOKYARD_LOG_LEVEL, HOOKYARD_LOG_FORMAT,
  HOOKYARD_CONFIG

serve migrates too; run migrate on its own to upgrade a shared database before rolling out
new gateway processes. Several processes migrating at once apply each migration once.
`,
  async run({ rawArgs, io }) {
    const args = parseServeArgs(rawArgs);
    const env = environment(io.env, args.envFile);
    const named = args.configPath ?? (env.HOOKYARD_CONFIG || undefined);
    const file = configFileFor(named, env, args.overrides);
    if (file === null) {
      io.stderr.write(`hookyard: no ${DEFAULT_CONFIG_FILE}: serving without sources\n`);
    }
    const config = loadConfigLayers({ file, env, flags: args.overrides });
    const format =
      args.logFormat ??
      (env.HOOKYARD_LOG_FORMAT
        ? logFormat(env.HOOKYARD_LOG_FORMAT, 'HOOKYARD_LOG_FORMAT')
        : io.stdout.isTTY
          ? 'pretty'
          : 'json');
    // Readable lines for a person at a terminal (pino-pretty in this thread: a terminal's pace,
    // not ingest's); JSON lines, pino's own fast path, for everything else.
    const logger =
      format === 'pretty'
        ? pino(
            { level: config.logLevel },
            pinoPretty({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }),
          )
        : undefined;
    const gateway = await startGateway(config, logger ? { logger } : {});
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      io.stderr.write(`hookyard: ${signal}, finishing in-flight requests\n`);
      gateway.close().then(
        () => process.exit(0),
        (error: unknown) => {
          io.stderr.write(`hookyard: error while stopping: ${String(error)}\n`);
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    return -1; // keeps running
  },
});
