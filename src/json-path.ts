// JSON paths, the one grammar every option that points into a payload uses (`type_path`,
// `ordering_key`, route filter keys): `$` then one or more `.key`; a key is any run of
// characters without a dot, and a key of digits also indexes an array (`$.commits.0.id`).
// A leaf module: config validates with it, ingest and delivery read with it.

export const JSON_PATH = /^\$(\.[^.]+)+$/;
export const JSON_PATH_EXPECTED = 'expected a path like $.data.object.id';

/** The value at `path` in a parsed payload, or undefined where the path leads nowhere. */
export function valueAtPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.').slice(1)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
