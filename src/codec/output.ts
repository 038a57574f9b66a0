// A growing output buffer, reused from chunk to chunk: what the encoders write messages into
// (and the http input its JSON lines). Appends bytes, ASCII, UTF-8 text and integers without
// making strings or views per call.

/** Copies shorter than this go word by word through DataViews (see Output.copy). */
const SHORT_COPY = 512;

/** A growing output buffer, reused from chunk to chunk. */
export class Output {
  buffer: Buffer;
  /** A view of `buffer`, replaced with it. */
  private view: DataView<ArrayBufferLike>;
  length = 0;

  constructor(bytes = 4 << 20) {
    this.buffer = Buffer.allocUnsafeSlow(bytes);
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.length);
  }

  reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.length);
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  bytes(source: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.buffer.set(source.subarray(start, end), this.length);
    this.length += end - start;
  }

  /**
   * Appends source[start, end), `view` being a DataView of all of `source`. A record line is
   * short (~100 bytes): copied four bytes at a time through the views it allocates nothing and
   * costs a fraction of subarray + set, which leaves a Buffer view per record for the worker's
   * young generation to collect (docs/PERFORMANCE.md, "Figures behind the code").
   */
  copy(source: Uint8Array, view: DataView<ArrayBufferLike>, start: number, end: number): void {
    if (end - start >= SHORT_COPY) {
      this.bytes(source, start, end);
      return;
    }
    this.reserve(end - start);
    const target = this.view;
    let at = this.length;
    let i = start;
    for (; i + 4 <= end; i += 4, at += 4) target.setInt32(at, view.getInt32(i));
    const buffer = this.buffer;
    for (; i < end; i++) buffer[at++] = source[i]!;
    this.length = at;
  }

  /**
   * Appends a safe integer in decimal, as String() writes it, without making the string (a
   * forward entry's numbers cost a string each, garbage for the worker's GC to chase).
   */
  integer(value: number): void {
    this.reserve(17); // '-' and 16 digits: 2^53 has 16
    const buffer = this.buffer;
    let at = this.length;
    let n = value;
    if (n < 0) {
      buffer[at++] = 0x2d;
      n = -n;
    }
    let digits = 1;
    for (let power = 10; power <= n; power *= 10) digits++;
    const end = at + digits;
    // n / 10 is never far enough from its exact value to floor wrong below 2^53.
    for (let i = end - 1; i >= at; i--) {
      const quotient = Math.floor(n / 10);
      buffer[i] = 0x30 + (n - quotient * 10);
      n = quotient;
    }
    this.length = end;
  }

  /** Appends a string known to be ASCII (numbers, literals). */
  ascii(value: string): void {
    this.reserve(value.length);
    const buffer = this.buffer;
    let at = this.length;
    for (let i = 0; i < value.length; i++) buffer[at++] = value.charCodeAt(i);
    this.length = at;
  }

  text(value: string): void {
    this.reserve(value.length * 3);
    this.length += this.buffer.write(value, this.length, 'utf8');
  }
}
