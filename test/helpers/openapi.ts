// Every API answer a test sees, held against the OpenAPI document the gateway serves
// (src/api/openapi.ts): the path and method must be documented (or the answer must be the
// documented 404 / 405 / 401 error), the status must be one the operation lists, a required
// response header present, and a JSON body valid against the schema for that status — with
// ajv in the JSON Schema 2020-12 dialect OpenAPI 3.1 uses, in strict mode, so a schema the
// document gets wrong fails as loudly as a response. Tests route their /api calls through
// `apiFetch` / `api` (or `checkAnswer` for raw node:http calls).
import assert from 'node:assert/strict';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openApiDocument } from '../../src/api/openapi.ts';
import { API_TOKEN } from './gateway.ts';

type Json = Record<string, any>;

export const DOCUMENT = openApiDocument() as Json;
const DOC_ID = 'https://hookyard.invalid/openapi.json';

/** A strict 2020-12 validator that knows the document, so `#/components/...` refs resolve. */
export function documentAjv(doc: Json = DOCUMENT): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  // The document's own top-level fields are not JSON Schema keywords; declared as annotations
  // so that strict mode still refuses any unknown keyword inside a schema.
  ajv.addVocabulary(['openapi', 'info', 'security', 'paths', 'components']);
  ajv.addSchema({ ...doc, $id: DOC_ID });
  return ajv;
}

const ajv = documentAjv();
const compiled = new Map<string, ValidateFunction>();

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

function validator(ref: string): ValidateFunction {
  let v = compiled.get(ref);
  if (!v) {
    v = ajv.compile({ $ref: `${DOC_ID}#/${ref}` });
    compiled.set(ref, v);
  }
  return v;
}

/** The document's path template matching a request path (`/api/events/hye_1` →
 * `/api/events/{id}`), or undefined. Segments are matched raw, as the router sees them. */
export function templateOf(path: string, doc: Json = DOCUMENT): string | undefined {
  for (const template of Object.keys(doc.paths)) {
    const pattern = template
      .split(/\{[^}]+\}/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]+');
    if (new RegExp(`^${pattern}$`).test(path)) return template;
  }
  return undefined;
}

export interface Answer {
  method: string;
  /** The request URL, or its path with the query (`/api/events?limit=5`). */
  url: string;
  status: number;
  header(name: string): string | null | undefined;
  /** The body as text; undefined when it was not read (a stream). */
  body: string | undefined;
}

/** How many answers were checked, by `METHOD template status`: the coverage test prints it. */
export const CHECKED = new Map<string, number>();

/** Throws (an AssertionError naming the request) when the answer is not what the document
 * says that request can get. */
export function checkAnswer(answer: Answer): void {
  const path = new URL(answer.url, 'http://x').pathname;
  const what = `${answer.method} ${path} → ${answer.status}`;
  const method = answer.method === 'HEAD' ? 'get' : answer.method.toLowerCase();
  const template = templateOf(path);
  const operation: Json | undefined = template ? DOCUMENT.paths[template][method] : undefined;
  if (!operation || !template) {
    // Not a documented operation: only the documented generic errors may answer it.
    const expected = template ? [401, 405] : [401, 404];
    assert.ok(
      expected.includes(answer.status),
      `${what}: ${template ? 'an undocumented method' : 'an undocumented path'} must be answered ${expected.join(' or ')}`,
    );
    const code = { 401: 'unauthorized', 404: 'not_found', 405: 'method_not_allowed' }[
      answer.status
    ];
    checkJson(what, answer.method, answer.body, 'components/schemas/Error', (json) =>
      assert.equal(json?.error?.code, code, what),
    );
    count(`${answer.method} ${template ?? '(unknown path)'} ${answer.status}`);
    return;
  }
  const response: Json | undefined = operation.responses[String(answer.status)];
  assert.ok(
    response,
    `${what}: the document lists ${Object.keys(operation.responses).join(', ')} for ${method.toUpperCase()} ${template}`,
  );
  const at = ['paths', template, method, 'responses', String(answer.status)];
  for (const [name, header] of Object.entries<Json>(response.headers ?? {})) {
    const value = answer.header(name);
    if (header.required) assert.ok(value, `${what}: header ${name} is missing`);
    if (value) {
      const validate = validator(pointer(...at, 'headers', name, 'schema'));
      assert.ok(validate(value), `${what}: header ${name}: ${ajv.errorsText(validate.errors)}`);
    }
  }
  const types = Object.keys(response.content ?? {});
  const contentType = answer.header('content-type') ?? '';
  const type = types.find((t) => t === '*/*' || contentType.split(';')[0]?.trim() === t);
  if (types.length > 0) {
    assert.ok(type, `${what}: content-type "${contentType}", the document says ${types}`);
  }
  if (type === 'application/json' && answer.method !== 'HEAD') {
    checkJson(
      what,
      answer.method,
      answer.body,
      pointer(...at, 'content', 'application/json', 'schema'),
    );
  }
  count(`${answer.method} ${template} ${answer.status}`);
}

function checkJson(
  what: string,
  method: string,
  body: string | undefined,
  ref: string,
  more?: (json: any) => void,
): void {
  if (method === 'HEAD') return;
  assert.ok(body !== undefined, `${what}: no body was read`);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    assert.fail(`${what}: the body is not JSON: ${body.slice(0, 200)}`);
  }
  const validate = validator(ref);
  if (!validate(json)) {
    assert.fail(
      `${what}: the body does not match the document (${ref}):\n` +
        `${ajv.errorsText(validate.errors, { separator: '\n' })}\n${body.slice(0, 500)}`,
    );
  }
  more?.(json);
}

/** A message of GET /api/stream, against the schema the document names for its kind. */
export function checkStreamMessage(message: { event: string; id?: string; data: string }): void {
  const name = ({ event: 'Event', delivery: 'DeliveryOutcome' } as Record<string, string>)[
    message.event
  ];
  assert.ok(name, `a stream message of an undocumented kind: ${message.event}`);
  if (message.event === 'event') assert.ok(message.id, 'an event message carries its cursor');
  checkJson(`stream ${message.event}`, 'GET', message.data, `components/schemas/${name}`);
  count(`stream ${message.event}`);
}

function count(key: string) {
  CHECKED.set(key, (CHECKED.get(key) ?? 0) + 1);
}

/** A fetch Response checked against the document; the body stays readable (a clone is read).
 * A text/event-stream is checked by its status and headers only. */
export async function checkResponse(method: string, res: Response): Promise<Response> {
  const stream = res.headers.get('content-type')?.startsWith('text/event-stream');
  const body = stream ? undefined : await res.clone().text();
  checkAnswer({
    method,
    url: res.url,
    status: res.status,
    header: (name) => res.headers.get(name),
    body,
  });
  return res;
}

/** `fetch` to an /api URL, the answer checked against the document. */
export async function apiFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  return checkResponse(init.method ?? 'GET', await fetch(url, init));
}

/** What TestGateway.api does (a GET with the token), checked. */
export function api(gw: { url: string }, path: string, token = API_TOKEN): Promise<Response> {
  return apiFetch(`${gw.url}/api${path}`, { headers: { authorization: `Bearer ${token}` } });
}
