// The README's error table is ERROR_CODES: every code with its status and when it is used,
// no more and no less (docs/style.md §8: a docs table lists every code). On drift, the message
// holds the rows to paste.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES, HookyardError } from '../src/errors.ts';
import { ROOT } from './helpers/process.ts';

function readmeRows(): { code: string; status: string; when: string }[] {
  const readme = readFileSync(`${ROOT}/README.md`, 'utf8');
  const section = readme.split('### Error codes')[1]?.split('\n#')[0] ?? '';
  return section
    .split('\n')
    .filter((line) => /^\|\s*`/.test(line))
    .map((line) => {
      const [code = '', status = '', when = ''] = line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      return { code: code.replace(/`/g, ''), status, when };
    });
}

test("the README's error table equals ERROR_CODES", () => {
  const expected = Object.entries(ERROR_CODES).map(([code, { status, when }]) => ({
    code,
    status: String(status),
    when,
  }));
  const table = expected.map((r) => `| \`${r.code}\` | ${r.status} | ${r.when} |`).join('\n');
  assert.deepEqual(readmeRows(), expected, `README.md "### Error codes" should list:\n${table}`);
});

test('a HookyardError carries its code, the status of that code and its cause', () => {
  const cause = new Error('disk full');
  const error = new HookyardError('storage_unavailable', 'x', { cause });
  assert.equal(error.code, 'storage_unavailable');
  assert.equal(error.status, 503);
  assert.equal(error.cause, cause);
  assert.equal(error.name, 'HookyardError');
});
