// Items added within one tick are written together: `write` gets them all once, on
// setImmediate, and every add() settles with that one write. A write transaction per item
// made the WAL (and its checkpoints) the delivery drain's main cost.
export class TickBatch<T> {
  readonly #write: (items: T[]) => void | Promise<void>;
  #items: T[] = [];
  #settlers: { resolve(): void; reject(error: unknown): void }[] = [];

  constructor(write: (items: T[]) => void | Promise<void>) {
    this.#write = write;
  }

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#items.push(item);
      this.#settlers.push({ resolve, reject });
      if (this.#items.length === 1) setImmediate(() => void this.#flush());
    });
  }

  async #flush(): Promise<void> {
    const items = this.#items;
    const settlers = this.#settlers;
    this.#items = [];
    this.#settlers = [];
    try {
      await this.#write(items);
    } catch (error) {
      for (const s of settlers) s.reject(error);
      return;
    }
    for (const s of settlers) s.resolve();
  }
}
