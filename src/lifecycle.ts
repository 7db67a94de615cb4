// Typed lifecycle events (docs/style.md §7): logs, metrics, the dispatcher and the dashboard subscribe
// to these instead of reaching into ingest or delivery code.
import { EventEmitter } from 'node:events';
import type { AttemptRecord } from './store/contract.ts';

export interface LifecycleEvents {
  /** A new event was durably stored (not sent for duplicates). */
  'event:received': [
    { id: string; source: string; type: string | null; destinations: readonly string[] },
  ];
  /** A stored event was acknowledged (200): new, or a duplicate of one stored before. `seconds`:
   * from the request's headers to the answer (body read, verify, commit and fsync). */
  'event:acked': [{ source: string; duplicate: boolean; seconds: number }];
  /** The group commit stored a batch of this many events in one transaction. */
  'commit:batch': [{ size: number }];
  /** A request was refused (any code); `source` is a configured name or `(unknown)`. */
  'request:refused': [{ source: string; code: string; status: number }];
  /** Deliveries were added outside ingest (replay). */
  'deliveries:created': [{ destinations: readonly string[] }];
  /** An attempt finished, whatever its outcome. */
  'delivery:attempt': [
    { deliveryId: string; eventId: string; destination: string; attempt: AttemptRecord },
  ];
  'delivery:succeeded': [
    { deliveryId: string; eventId: string; destination: string; attempts: number },
  ];
  'delivery:dead': [{ deliveryId: string; eventId: string; destination: string; reason: string }];
}

export class Lifecycle extends EventEmitter<LifecycleEvents> {}
