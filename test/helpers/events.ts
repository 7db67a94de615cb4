// A stored-event fixture for the store tests: unique ids, a two-byte JSON body, no routes.
import type { NewEvent } from '../../src/store/contract.ts';

let n = 0;

export function newEvent(eventId: string, extra: Partial<NewEvent> = {}): NewEvent {
  return {
    id: `hye_${eventId}_${n++}`,
    source: 'src',
    eventId,
    type: 't',
    receivedAt: Date.now(),
    headers: [['X-A', '1']],
    contentType: 'application/json',
    body: new Uint8Array([123, 125]),
    destinations: [],
    ...extra,
  };
}
