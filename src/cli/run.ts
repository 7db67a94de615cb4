// The command table and its dispatcher: argv → a command → an exit code. citty supplies the
// definitions, the parsing and the generated help; this adds what a CLI people script against
// needs and citty leaves out: unknown flags refused (citty ignores them), usage errors as exit
// 2 on stderr (citty's runMain exits 1 and prints usage to stdout), and no process.exit, so
// every command runs in-process in tests.
import { readFileSync } from 'node:fs';
import { type ArgsDef, parseArgs } from 'citty';
import { ConfigError } from '../config.ts';
import { StoreUnavailableError } from '../store/contract.ts';
import { eventsCommand } from './commands/events.ts';
import { listenCommand } from './commands/listen.ts';
import { migrateCommand } from './commands/migrate.ts';
import { replayCommand } from './commands/replay.ts';
import { sendCommand } from './commands/send.ts';
import { serveCommand } from './commands/serve.ts';
import { verifyCommand } from './commands/verify.ts';
import { type Command, CommandError, type Io, UsageError } from './io.ts';

export const COMMANDS: Record<string, Command<ArgsDef>> = {
  serve: serveCommand,
  migrate: migrateCommand,
  send: sendCommand,
  listen: listenCommand,
  verify: verifyCommand,
  events: eventsCommand,
  replay: replayCommand,
};

const ROOT: Command<ArgsDef> = {
  meta: { name: 'hookyard', description: 'a webhook gateway' },
  subCommands: COMMANDS,
  notes: `Environment: HOOKYARD_CONFIG (the config file), HOOKYARD_URL and HOOKYARD_API_TOKEN
(the gateway the send, listen, verify, events and replay commands talk to), and the HOOKYARD_*
overrides listed under \`hookyard serve --help\`.
`,
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

// Colour codes (citty colours some of its messages), built without a control character literal.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** One option's spelling in the help: `-c, --config <file>`. */
function spelling(name: string, def: ArgsDef[string]): string {
  const aliases = 'alias' in def && def.alias !== undefined ? [def.alias].flat() : [];
  const short = aliases.filter((a) => a.length === 1).map((a) => `-${a}, `);
  const hint =
    def.type === 'boolean'
      ? ''
      : def.type === 'enum' && 'options' in def && def.options
        ? ` <${def.options.join('|')}>`
        : ` <${def.valueHint ?? name}>`;
  return `${short.join('') || '    '}--${name}${hint}`;
}

/**
 * The help of a command, from the same definitions citty parses with (citty's own renderer
 * right-aligns and colours; this reads like the gateway's earlier help in a pipe or a terminal).
 */
export function helpText(command: Command<ArgsDef>, parent?: Command<ArgsDef>): string {
  const path = [
    'hookyard',
    ...(parent && parent !== ROOT ? [parent.meta.name] : []),
    command.meta.name,
  ]
    .filter((p, i) => i === 0 || p !== 'hookyard')
    .join(' ');
  const lines = [`${path} — ${command.meta.description}`, ''];
  const entries = Object.entries(command.args ?? {});
  if (command.subCommands) {
    lines.push(`Usage: ${path} <command> [options]`, '', 'Commands:');
    const subs = Object.entries(command.subCommands);
    const width = Math.max(...subs.map(([n]) => n.length));
    for (const [name, sub] of subs) lines.push(`  ${name.padEnd(width)}  ${sub.meta.description}`);
    lines.push('', `Run \`${path} <command> --help\` for its options.`);
  } else {
    const positionals = entries
      .filter(([, d]) => d.type === 'positional')
      .map(([n, d]) => (d.required === false ? `[${d.valueHint ?? n}]` : `<${d.valueHint ?? n}>`));
    const required = entries
      .filter(([, d]) => d.type !== 'positional' && d.required === true)
      .map(([n, d]) => spelling(n, d).trim());
    lines.push(`Usage: ${[path, ...positionals, ...required, '[options]'].join(' ')}`, '');
    const options = entries.filter(([, d]) => d.type !== 'positional');
    const rows = [
      ...options.map(([n, d]) => [
        spelling(n, d),
        `${d.description ?? ''}${d.required === true ? ' (required)' : ''}`,
      ]),
      ['-h, --help', 'this help'],
    ];
    const width = Math.min(34, Math.max(...rows.map(([a]) => (a as string).length)));
    lines.push('Options:');
    const indent = ' '.repeat(width + 4);
    for (const [a, b] of rows as [string, string][]) {
      const text = wrap(b, 96 - indent.length).join(`\n${indent}`);
      lines.push(a.length > width ? `  ${a}\n${indent}${text}` : `  ${a.padEnd(width)}  ${text}`);
    }
  }
  return `${lines.join('\n')}\n${command.notes ? `\n${command.notes}` : ''}`;
}

function flagName(arg: string): string {
  const eq = arg.indexOf('=');
  return (eq < 0 ? arg : arg.slice(0, eq)).replace(/^-{1,2}/, '');
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Refuses flags the command does not declare and string flags without a value. */
export function checkFlags(rawArgs: readonly string[], args: ArgsDef = {}): void {
  const known = new Map<string, ArgsDef[string]>();
  for (const [name, def] of Object.entries(args)) {
    if (def.type === 'positional') continue;
    known.set(name, def);
    known.set(kebab(name), def);
    const aliases = 'alias' in def && def.alias !== undefined ? [def.alias].flat() : [];
    for (const alias of aliases) known.set(alias, def);
  }
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i] as string;
    if (arg === '--') return;
    if (!arg.startsWith('-') || arg === '-') continue;
    let name = flagName(arg);
    let def = known.get(name);
    if (def === undefined && name.startsWith('no-')) {
      const positive = known.get(name.slice(3));
      if (positive?.type === 'boolean') {
        name = name.slice(3);
        def = positive;
      }
    }
    if (def === undefined) throw new UsageError(`unknown option ${arg.split('=')[0]}`);
    if ((def.type === 'string' || def.type === 'enum') && !arg.includes('=')) {
      const value = rawArgs[i + 1];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      i++;
    }
  }
}

function helpAsked(rawArgs: readonly string[]): boolean {
  for (const arg of rawArgs) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/** Runs `hookyard <argv>`; resolves to the exit code (-1: the command keeps running). */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '-v' || first === '--version') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  if (first === undefined || first === '-h' || first === '--help') {
    io.stdout.write(helpText(ROOT));
    return first === undefined ? 1 : 0;
  }
  // Resolve `events list` and the like: a command with sub-commands takes the next word.
  let command = COMMANDS[first];
  let parent = ROOT;
  let args = rest;
  if (command === undefined) {
    io.stderr.write(`hookyard: unknown command ${first}\n\n${helpText(ROOT)}`);
    return 2;
  }
  while (command.subCommands) {
    const [name, ...tail] = args;
    if (name === undefined || name === '-h' || name === '--help') {
      io.stdout.write(helpText(command, parent));
      return name === undefined ? 2 : 0;
    }
    const sub: Command<ArgsDef> | undefined = command.subCommands[name];
    if (sub === undefined) {
      io.stderr.write(
        `hookyard: unknown command ${command.meta.name} ${name}\n\n${helpText(command, parent)}`,
      );
      return 2;
    }
    parent = command;
    command = sub;
    args = tail;
  }
  if (helpAsked(args)) {
    io.stdout.write(helpText(command, parent));
    return 0;
  }
  const label = parent === ROOT ? command.meta.name : `${parent.meta.name} ${command.meta.name}`;
  try {
    checkFlags(args, command.args);
    const parsed = parseArgs(args, command.args ?? {});
    if (!command.run) throw new UsageError('nothing to run');
    return await command.run({ args: parsed, rawArgs: [...args], io });
  } catch (error) {
    const e = error as Error & { code?: string; exitCode?: number };
    if (error instanceof ConfigError) {
      // The config's own message names the bad key (or flag) already.
      io.stderr.write(`hookyard: ${e.message}\n`);
      return 2;
    }
    const usage =
      error instanceof UsageError ||
      e.code?.startsWith('ERR_PARSE_ARGS') ||
      (e.name === 'CLIError' && e.code === 'EARG');
    if (usage) {
      const message = e.message.replace(ANSI, '');
      io.stderr.write(`hookyard ${label}: ${message}\n(see hookyard ${label} --help)\n`);
      return 2;
    }
    if (error instanceof CommandError) {
      io.stderr.write(`hookyard ${label}: ${e.message}\n`);
      return error.exitCode;
    }
    if (error instanceof StoreUnavailableError) {
      io.stderr.write(`hookyard: cannot use the storage: ${e.message}\n`);
      return 1;
    }
    if (e.code === 'EADDRINUSE') {
      io.stderr.write(`hookyard: the address is already in use (${e.message})\n`);
      return 1;
    }
    throw error;
  }
}
