/**
 * A table of in-flight things by numeric id, for long-lived tables whose entries come and go (the
 * attempts running now). Not a `Map`, on purpose: when V8 resizes a `Map`, the old backing table
 * keeps pointing at the new one and at every entry it held. Once an old table of a long-lived map
 * sits in the old generation, each young table and each entry it reaches survives the next
 * scavenge through it, so every entry that ever passed through the map (and all it references)
 * is promoted and waits for a full collection. Measured on Node 20 with 64 entries in flight and
 * 400,000 passing through: 140 MB promoted through a `Map` against 6 MB through this table. In the
 * engine it was most of a 10,000-task fan-out's promotions (see docs/benchmarks.md).
 * @module
 */
export class IdTable<T> {
  #entries: Record<number, T> = Object.create(null);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): T | undefined {
    return this.#entries[id];
  }

  has(id: number): boolean {
    return id in this.#entries;
  }

  set(id: number, value: T): this {
    if (!(id in this.#entries)) this.#size++;
    this.#entries[id] = value;
    return this;
  }

  delete(id: number): boolean {
    if (!(id in this.#entries)) return false;
    delete this.#entries[id];
    this.#size--;
    return true;
  }

  clear(): void {
    this.#entries = Object.create(null);
    this.#size = 0;
  }

  /** Ids in ascending order (for ids under 2^32, as JavaScript orders integer keys). */
  keys(): number[] {
    return Object.keys(this.#entries).map(Number);
  }

  values(): T[] {
    return Object.values(this.#entries);
  }

  entries(): Array<[number, T]> {
    return Object.entries(this.#entries).map(([id, value]) => [Number(id), value]);
  }
}
