// Writes what is generated from the config schema (src/config/schema.ts):
//   hookyard.schema.json                     the JSON Schema editors read
//   README.md, between the options markers   the table of every option
// `node scripts/config-schema.ts` writes them (npm run build does, first);
// `--check` only says whether they are up to date and exits 1 when not (npm test does).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { ENVIRONMENT } from '../src/config/env.ts';
import { configJsonSchema } from '../src/config/json-schema.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SCHEMA_FILE = `${ROOT}hookyard.schema.json`;
export const README_FILE = `${ROOT}README.md`;
export const BEGIN =
  '<!-- options: generated from src/config/schema.ts by `npm run config:schema` -->';
export const END = '<!-- /options -->';

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

async function format(text: string, filepath: string): Promise<string> {
  const options = await prettier.resolveConfig(filepath);
  return prettier.format(text, { ...options, filepath });
}

/** The properties of an object schema, those of its `oneOf` branches included (the first
 * branch that has a key describes it). */
function propertiesOf(node: Node): [string, Node, boolean][] {
  const found = new Map<string, [string, Node, boolean]>();
  for (const branch of [node, ...(Array.isArray(node.oneOf) ? node.oneOf : [])]) {
    if (!isNode(branch) || !isNode(branch.properties)) continue;
    const required = Array.isArray(branch.required) ? branch.required : [];
    for (const [key, value] of Object.entries(branch.properties)) {
      if (!found.has(key) && isNode(value)) found.set(key, [key, value, required.includes(key)]);
    }
  }
  return [...found.values()];
}

/** An object schema, or a `oneOf` of object schemas (not a value that may be an object). */
const isObjectSchema = (node: unknown): node is Node =>
  isNode(node) &&
  (node.type === 'object' ||
    (Array.isArray(node.oneOf) && node.oneOf.every((b) => isNode(b) && b.type === 'object')));

/** The options inside a record's values (`.<name>`) or an array's items (`[]`). */
function childrenOf(node: Node): { suffix: string; node: Node } | undefined {
  if (isObjectSchema(node.additionalProperties))
    return { suffix: '.<name>', node: node.additionalProperties };
  if (isObjectSchema(node.items)) return { suffix: '[]', node: node.items };
  return undefined;
}

export interface Option {
  path: string;
  required: boolean;
  default?: unknown;
  description: string;
}

/** Every option of the JSON Schema, depth first, in declaration order. */
export function optionsOf(schema: Node, prefix = ''): Option[] {
  return propertiesOf(schema).flatMap(([key, node, required]) => {
    const path = `${prefix}${key}`;
    const option: Option = {
      path,
      description: typeof node.description === 'string' ? node.description : '',
      required,
      ...(node.default !== undefined && { default: node.default }),
    };
    const children = childrenOf(node);
    return [
      option,
      ...optionsOf(node, `${path}.`),
      ...(children ? optionsOf(children.node, `${path}${children.suffix}.`) : []),
    ];
  });
}

const byOption = new Map<string, string>(
  Object.entries(ENVIRONMENT).map(([variable, option]) => [option, variable]),
);

function row(option: Option): string {
  const fallback = option.required
    ? 'required'
    : option.default === undefined || isNode(option.default) || Array.isArray(option.default)
      ? ''
      : `\`${String(option.default)}\``;
  const variable = byOption.get(option.path);
  const text = variable ? `${option.description} Also \`${variable}\`.` : option.description;
  return `| \`${option.path}\` | ${fallback} | ${text.replaceAll('|', '\\|')} |`;
}

export async function renderSchema(): Promise<string> {
  return format(JSON.stringify(configJsonSchema()), SCHEMA_FILE);
}

/** The README's options table, markers included. */
export async function renderTable(): Promise<string> {
  const rows = optionsOf(configJsonSchema()).map(row);
  const table = ['| Option | Default | Description |', '| --- | --- | --- |', ...rows].join('\n');
  return `${BEGIN}\n\n${(await format(table, README_FILE)).trim()}\n\n${END}`;
}

/** `readme` with its options table replaced by `table`. */
export function spliceReadme(readme: string, table: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md: no ${BEGIN} … ${END} block`);
  return readme.slice(0, begin) + table + readme.slice(end + END.length);
}

/** Each generated file and what it should hold. */
export async function generated(): Promise<{ file: string; text: string }[]> {
  return [
    { file: SCHEMA_FILE, text: await renderSchema() },
    {
      file: README_FILE,
      text: spliceReadme(readFileSync(README_FILE, 'utf8'), await renderTable()),
    },
  ];
}

async function main(check: boolean): Promise<number> {
  let stale = 0;
  for (const { file, text } of await generated()) {
    let current: string | undefined;
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) continue;
    stale++;
    if (check) process.stderr.write(`${file} is out of date: run npm run config:schema\n`);
    else writeFileSync(file, text);
  }
  return check && stale > 0 ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.includes('--check'));
}
