// Request bytes held at once, across every request: a bound on what unauthenticated senders
// can make the process hold (200 slow 5 MB uploads were 1 GB of RSS before it).

export class ByteBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `n` bytes if they fit; false (and nothing taken) if they do not. */
  take(n: number): boolean {
    if (this.#used + n > this.limit) return false;
    this.#used += n;
    return true;
  }

  give(n: number): void {
    this.#used -= n;
  }
}

export function concatChunks(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

export type BodyRead =
  { kind: 'body'; body: Uint8Array } | { kind: 'too_large' | 'busy' | 'aborted'; size: number };

/**
 * Reads a body under a size limit and the shared budget. The declared length is taken before
 * a byte is read; a body of unknown length takes its bytes as they come. Whatever the
 * outcome, `release()` gives back what was taken, once the body is no longer held.
 */
export async function readWithin(
  readBody: (accept: (chunk: Uint8Array) => boolean) => Promise<'end' | 'stopped' | 'aborted'>,
  limit: number,
  budget: ByteBudget,
  declared: number | null,
): Promise<{ read: BodyRead; release(): void }> {
  let held = 0;
  const release = () => {
    budget.give(held);
    held = 0;
  };
  if (declared !== null) {
    if (declared > limit) return { read: { kind: 'too_large', size: declared }, release };
    if (!budget.take(declared)) return { read: { kind: 'busy', size: 0 }, release };
    held = declared;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  let over: 'too_large' | 'busy' | undefined;
  const end = await readBody((chunk) => {
    size += chunk.length;
    if (size > limit) over = 'too_large';
    else if (size > held && !budget.take(size - held)) over = 'busy';
    else {
      if (size > held) held = size;
      chunks.push(chunk);
      return true;
    }
    return false;
  });
  if (over) return { read: { kind: over, size }, release };
  if (end !== 'end') return { read: { kind: 'aborted', size }, release };
  const body = chunks.length === 1 ? (chunks[0] as Uint8Array) : concatChunks(chunks, size);
  return { read: { kind: 'body', body }, release };
}
