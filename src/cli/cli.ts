// `hookyard` — a thin layer: argv → the same Config object the library uses (docs/style.md §14).
// The commands live in commands/, one file each; run.ts is the table and the dispatcher.
import { run } from './run.ts';

export { parseServeArgs, type ServeArgs } from './commands/serve.ts';
export { run } from './run.ts';
export type { Io } from './io.ts';

/** The process's `hookyard <argv>`: real streams and environment. */
export function main(argv: string[]): Promise<number> {
  return run(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    stdin: process.stdin,
  });
}
