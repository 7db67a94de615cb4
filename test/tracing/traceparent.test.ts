// W3C Trace Context as Hookyard reads it from a sender (and stores it with the event): what is
// a parent, and what is ignored. https://www.w3.org/TR/trace-context/#traceparent-header
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTraceparent, parseTraceparent } from '../../src/tracing.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${SPAN}-01`;

test('a valid traceparent is a remote, sampled or not, parent; tracestate rides along', () => {
  const sc = parseTraceparent(VALID, 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
  assert.equal(sc?.traceId, TRACE);
  assert.equal(sc?.spanId, SPAN);
  assert.equal(sc?.traceFlags, 1);
  assert.equal(sc?.isRemote, true);
  assert.equal(sc?.traceState?.get('congo'), 't61rcWkgMzE');
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.traceFlags, 0);
  // Flags other than sampled are not passed on (they are not defined for version 00).
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-ff`)?.traceFlags, 1);
  // A later version may add fields: a version-00 reader takes the first four.
  assert.equal(parseTraceparent(`01-${TRACE}-${SPAN}-01-what-comes-next`)?.traceId, TRACE);
  // Written back the same way.
  assert.deepEqual(formatTraceparent(parseTraceparent(VALID, 'a=1') as never), {
    traceparent: VALID,
    tracestate: 'a=1',
  });
});

test('anything else is no parent, never an error', () => {
  const hostile = [
    '',
    'garbage',
    VALID.toUpperCase(),
    `ff-${TRACE}-${SPAN}-01`, // version ff is forbidden
    `00-${TRACE}-${SPAN}-01-extra`, // version 00 has exactly four fields
    `00-${'0'.repeat(32)}-${SPAN}-01`, // all-zero trace id
    `00-${TRACE}-${'0'.repeat(16)}-01`, // all-zero parent id
    `00-${TRACE.slice(1)}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-1`,
    `00-${TRACE}g-${SPAN}-01`,
    `00_${TRACE}_${SPAN}_01`,
    `01-${TRACE}-${SPAN}-01${'x'.repeat(600)}`, // longer than any header worth reading
    `\u0000${VALID}`,
  ];
  for (const value of hostile) assert.equal(parseTraceparent(value), undefined, value);
  // An oversized tracestate is dropped, the parent kept.
  const sc = parseTraceparent(VALID, `a=${'b'.repeat(600)}`);
  assert.equal(sc?.traceId, TRACE);
  assert.equal(sc?.traceState, undefined);
});
