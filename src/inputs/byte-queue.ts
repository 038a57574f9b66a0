// The bytes of a message that has not finished arriving, in one growable buffer. Appending a
// read costs the read's size (capacity doubles), where `Buffer.concat([pending, read])` would
// copy everything pending again on every read: a message of buffer_max_size sent in small
// segments would cost O(n²) copying, a CPU denial of service within the limit.

export class ByteQueue {
  private store = Buffer.alloc(0);
  private used = 0;

  get length(): number {
    return this.used;
  }

  /** Appends `data`; returns a view of every byte held (valid until the next call). */
  append(data: Buffer): Buffer {
    const needed = this.used + data.length;
    if (needed > this.store.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(needed, this.store.length * 2, 4096));
      this.store.copy(grown, 0, 0, this.used);
      this.store = grown;
    }
    data.copy(this.store, this.used);
    this.used = needed;
    return this.store.subarray(0, this.used);
  }

  /** `held` then `data` as one view: appended in place when `held` is the view last returned. */
  extend(held: Buffer, data: Buffer): Buffer {
    if (!this.holds(held)) {
      this.used = 0;
      this.append(held);
    }
    return this.append(data);
  }

  /** `view` is the whole of what append() last returned. */
  private holds(view: Buffer): boolean {
    return view.buffer === this.store.buffer && view.byteOffset === this.store.byteOffset && view.length === this.used;
  }

  /** Keeps bytes[from, end) of `bytes` (a view from append(), or a read) as all that is held. */
  keep(bytes: Buffer, from: number): void {
    const rest = bytes.length - from;
    if (rest <= 0) {
      this.clear();
      return;
    }
    if (this.holds(bytes)) {
      this.store.copyWithin(0, from, bytes.length);
      this.used = rest;
      // Give back a large store once what it held is mostly gone.
      if (this.store.length > 65_536 && rest * 4 < this.store.length) {
        const smaller = Buffer.allocUnsafeSlow(Math.max(rest, 4096));
        this.store.copy(smaller, 0, 0, rest);
        this.store = smaller;
      }
      return;
    }
    this.clear();
    this.append(bytes.subarray(from));
  }

  clear(): void {
    this.used = 0;
    if (this.store.length > 65_536) this.store = Buffer.alloc(0);
  }
}
