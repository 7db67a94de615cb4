// Hookyard ids: a prefix (`hye_` events, `hyd_` deliveries) + 26 Crockford base32 characters, the first 10 the receive time
// in ms (so ids sort by time, as ULIDs do) and 16 random (80 bits). Random bytes come from a
// pooled buffer: the `ulid` package asked the OS for each character, 6% of ingest CPU.
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const POOL = Buffer.allocUnsafe(4096);
let offset = POOL.length;

export function newId(prefix: 'hye' | 'hyd', ms: number): string {
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[ms % 32] + time;
    ms = Math.floor(ms / 32);
  }
  if (offset + 16 > POOL.length) {
    randomFillSync(POOL);
    offset = 0;
  }
  let random = '';
  // 16 bytes, 5 bits used from each: 80 random bits.
  for (let i = 0; i < 16; i++) random += ALPHABET[(POOL[offset + i] as number) & 31];
  offset += 16;
  return `${prefix}_${time}${random}`;
}
