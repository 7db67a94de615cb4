// What a command may touch besides its arguments: the streams and the environment are passed
// in, so every command runs in-process in tests (`run(argv, io)`) exactly as from the shell.
import type { ArgsDef, CommandDef, ParsedArgs } from 'citty';

export interface Io {
  stdout: { write(chunk: string): unknown; isTTY?: boolean };
  stderr: { write(chunk: string): unknown };
  env: NodeJS.ProcessEnv;
  /** For `--data -`; the process's stdin from the bin. */
  stdin?: AsyncIterable<Uint8Array | string>;
  /** The working directory relative paths resolve against (default: the process's). */
  cwd?: string;
}

/** A usage error: a bad flag, a missing argument, a bad value. Exit 2, message on stderr. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the user should read without a stack (the gateway refused, a file is missing…). */
export class CommandError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CommandError';
    this.exitCode = exitCode;
  }
}

export interface Context<T extends ArgsDef> {
  args: ParsedArgs<T>;
  rawArgs: string[];
  io: Io;
}

/**
 * A command of the table: citty's definition (meta, args: the help and the parsing) plus
 * `notes` printed under the generated help, and a run that returns the exit code (-1: keeps
 * running, as `serve` does).
 */
export interface Command<T extends ArgsDef = ArgsDef> {
  meta: { name: string; description: string };
  args?: T;
  /** Text after the generated usage: environment, examples. */
  notes?: string;
  subCommands?: Record<string, Command<ArgsDef>>;
  run?: (context: Context<T>) => Promise<number>;
}

/** Typed against its own args inside, erased for the table. */
export function defineCommand<const T extends ArgsDef>(command: Command<T>): Command<ArgsDef> {
  return command as unknown as Command<ArgsDef>;
}

/** citty's view of one of our commands, for its parser and its usage renderer. */
export function cittyDef(command: Command<ArgsDef>): CommandDef<ArgsDef> {
  return {
    meta: command.meta,
    ...(command.args && { args: command.args }),
    ...(command.subCommands && {
      subCommands: Object.fromEntries(
        Object.entries(command.subCommands).map(([name, sub]) => [name, cittyDef(sub)]),
      ),
    }),
  };
}

/** Options shared by the commands that talk to a gateway (SPEC §6). */
export const gatewayArgs = {
  url: {
    type: 'string',
    description: 'the gateway (env HOOKYARD_URL; default http://127.0.0.1:8787)',
    valueHint: 'url',
  },
  token: {
    type: 'string',
    description: 'the API token (env HOOKYARD_API_TOKEN)',
    valueHint: 'token',
  },
} as const;

export const jsonArg = {
  json: { type: 'boolean', description: 'print JSON instead of text' },
} as const;

export const DEFAULT_URL = 'http://127.0.0.1:8787';

export function gatewayUrl(flag: string | undefined, env: NodeJS.ProcessEnv): URL {
  const text = flag ?? (env.HOOKYARD_URL || DEFAULT_URL);
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    return url;
  } catch {
    throw new UsageError(`--url: expected an http:// or https:// URL, got ${JSON.stringify(text)}`);
  }
}

/** A positive integer flag, or a usage error naming it. */
export function positiveInteger(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) {
    throw new UsageError(
      `${flag}: expected a whole number of 1 or more, got ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

/** Repeated string flags (`--header a --header b`): citty keeps the last, so read argv. */
export function repeated(rawArgs: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i] as string;
    if (arg === '--') break;
    if (arg === `--${name}`) {
      const value = rawArgs[i + 1];
      if (value !== undefined) out.push(value);
      i++;
    } else if (arg.startsWith(`--${name}=`)) {
      out.push(arg.slice(name.length + 3));
    }
  }
  return out;
}
