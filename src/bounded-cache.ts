// A Map for memoizing by keys that come from senders (tags, peers, record keys): repeated keys
// are the common case, but a sender cycling through new ones must not grow it forever. Bounded
// both in entries and in the characters of its keys (one tag can be megabytes long); when
// either bound would be passed it starts over, which costs one recomputation per key.
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  private keyChars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxKeyChars: number = maxEntries * 256,
  ) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    if (key.length > this.maxKeyChars) return; // never cached: computed each time
    if (this.map.size >= this.maxEntries || this.keyChars + key.length > this.maxKeyChars) {
      this.map.clear();
      this.keyChars = 0;
    }
    this.map.set(key, value);
    this.keyChars += key.length;
  }

  /** Entries held now. */
  get size(): number {
    return this.map.size;
  }

  /** Characters of the keys held now. */
  get heldKeyChars(): number {
    return this.keyChars;
  }
}
