// The dashboard's Server-Sent Events parser (it reads /api/stream through fetch, since
// EventSource cannot send the token in a header), against the parsing rules of
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type SseMessage, SseParser } from '../../ui/src/sse.ts';

function parse(...chunks: string[]): SseMessage[] {
  const p = new SseParser();
  return chunks.flatMap((c) => p.push(c));
}

const STREAM =
  ': ping\n\n' +
  'event: event\nid: c1\ndata: {"id":"hye_1"}\n\n' +
  'event: delivery\r\ndata: {"event":"hye_1",\r\ndata:  "status":"delivered"}\r\n\r\n' +
  'id: c2\rdata\r\r' +
  'retry: 2500\nevent: event\nid: c\u00003\ndata: x\n\n' +
  'event: dropped\n\n' +
  'data: after\n\n';

const EXPECTED: SseMessage[] = [
  { event: 'event', data: '{"id":"hye_1"}', lastEventId: 'c1' },
  { event: 'delivery', data: '{"event":"hye_1",\n "status":"delivered"}', lastEventId: 'c1' },
  { event: 'message', data: '', lastEventId: 'c2' },
  { event: 'event', data: 'x', lastEventId: 'c2' },
  { event: 'message', data: 'after', lastEventId: 'c2' },
];

describe('SSE parser', () => {
  test('fields, comments, the three line ends, the persisting id, retry', () => {
    const p = new SseParser();
    assert.deepEqual(p.push(STREAM), EXPECTED);
    assert.equal(p.retryMs, 2500);
  });

  test('a message is complete only at its blank line', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('event: event\nid: 7\ndata: {"a":'), []);
    assert.deepEqual(p.push('1}\n'), []);
    assert.deepEqual(p.push('\n'), [{ event: 'event', data: '{"a":1}', lastEventId: '7' }]);
  });

  test('CRLF split across two chunks is one line end', () => {
    assert.deepEqual(parse('data: a\r', '\ndata: b\r\n\r', '\n'), [
      { event: 'message', data: 'a\nb', lastEventId: '' },
    ]);
  });

  test('any split of the stream gives the same messages', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(STREAM.length), { maxLength: 40 }), (cuts) => {
        const at = [0, ...cuts.sort((a, b) => a - b), STREAM.length];
        const chunks = at.slice(1).map((end, i) => STREAM.slice(at[i], end));
        assert.deepEqual(parse(...chunks), EXPECTED);
      }),
    );
  });
});
