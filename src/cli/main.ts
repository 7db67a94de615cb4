// The `hookyard` executable's entry; everything it does lives in cli.ts.
import '../runtime.ts';
import { main } from './cli.ts';

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
