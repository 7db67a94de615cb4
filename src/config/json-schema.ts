// `hookyard.schema.json`: the config schema as JSON Schema (draft-07, what yaml-language-server
// and most editors read), for completion, hover docs and checks while `hookyard.yaml` is
// written. scripts/config-schema.ts writes it; a test keeps the committed file in step.
import { z } from 'zod';
import { ENV_REF } from './env.ts';
import { configSchema } from './schema.ts';

type Node = Record<string, unknown>;

/**
 * The editor sees the file before `${VAR}` expansion, and cannot know what a variable will
 * hold. So wherever a plain string would be refused — numbers, booleans, enums, durations,
 * sizes, URLs, patterns — a string holding a `${VAR}` reference is accepted too; Hookyard
 * checks the expanded value at start. The provider is the exception: it selects which
 * options a source takes, so it must be written out.
 */
const ENV_REFERENCE: Node = {
  type: 'string',
  pattern: ENV_REF.source,
  description: 'A ${VAR} or ${VAR:-default} reference, checked once the environment expands it.',
};
const REF = { $ref: '#/definitions/envReference' };
const LITERAL_KEYS = new Set(['provider']);

const isNode = (value: unknown): value is Node =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** True when a string holding `${VAR}` would fail this schema. */
function refusesReference(node: Node): boolean {
  if (Array.isArray(node.anyOf)) return node.anyOf.every((n) => isNode(n) && refusesReference(n));
  if ('enum' in node || 'const' in node) return true;
  if (['number', 'integer', 'boolean', 'null'].includes(node.type as string)) return true;
  return node.type === 'string' && ('pattern' in node || 'format' in node);
}

/** `node` with references allowed in it; `wrap`: in the node itself too (not for a union's
 * branches: the union as a whole takes the reference). */
function allowReferences(node: Node, wrap: boolean): Node {
  const out: Node = { ...node };
  if (isNode(node.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(node.properties).map(([k, v]) => [
        k,
        allowReferences(v as Node, !LITERAL_KEYS.has(k)),
      ]),
    );
  }
  if (isNode(node.additionalProperties)) {
    out.additionalProperties = allowReferences(node.additionalProperties, true);
  }
  if (isNode(node.items)) out.items = allowReferences(node.items, true);
  for (const union of ['anyOf', 'oneOf'] as const) {
    const branches = node[union];
    if (Array.isArray(branches)) out[union] = branches.map((b: Node) => allowReferences(b, false));
  }
  if (!wrap || !refusesReference(node)) return out;
  if (Array.isArray(out.anyOf)) return { ...out, anyOf: [...out.anyOf, REF] };
  const { description, default: fallback, ...rest } = out;
  return {
    ...(description !== undefined && { description }),
    ...(fallback !== undefined && { default: fallback }),
    anyOf: [rest, REF],
  };
}

/** The JSON Schema of `hookyard.yaml` as written (snake_case, before expansion). */
export function configJsonSchema(): Node {
  const generated = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-07' }) as Node;
  const { $schema, title, description, definitions, ...rest } = allowReferences(generated, false);
  return {
    $schema,
    title,
    description,
    ...rest,
    definitions: { ...(definitions as Node | undefined), envReference: ENV_REFERENCE },
  };
}
