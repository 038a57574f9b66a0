// What the byte-level encoders share (json-direct for the JSON outputs, msgpack-direct for
// msgpack): walking a chunk's segments, validating every JSON line on its bytes (json-scan),
// counting what is malformed per source, and sending rare segments (raw lines of Format none,
// msgpack entries from forward, a separator other than \n) the slow way, decoded to objects
// and written by the format's object writer. The subclass writes lines and records; nothing
// per record is allocated on the fast path.
import { SegmentKind, type ChunkSource } from '../chunk/layout.js';
import { decodeSegment, MalformedCounts, SegmentCursor, type MalformedReport, type RecordVisitor } from '../chunk/segments.js';
import { ScanVerdict, scanJsonObject, type ScanResult } from '../chunk/json-scan.js';
import type { EventTime, TimedRecord } from './types.js';

export interface DirectEncoding {
  /**
   * null when the chunk held no valid record. A view into a pooled buffer with FRAME_HEADROOM
   * free bytes before it (room for a WebSocket frame header, so the frame can be written
   * without copying the message); it stays valid, and may be modified, until release().
   */
  readonly message: Buffer | null;
  readonly records: number;
  readonly malformed: MalformedReport[];
  /** Gives the message's buffer back for reuse; call once the socket is done with it. */
  release(): void;
}

/** Bytes kept free before every message: a masked client frame's largest header (2+8+4). */
export const FRAME_HEADROOM = 14;

/** Work buffers beyond this many free ones are left to the garbage collector. */
const POOL_KEEP = 8;

const NEWLINE = 0x0a;
const CR = 0x0d;

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
   * ~100 bytes: copied four bytes at a time through the views it costs ~23 ns and allocates
   * nothing, where subarray + set costs ~90 ns and leaves a Buffer view per record for the
   * worker's young generation (one scavenge per chunk).
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

export abstract class DirectEncoder {
  /** The buffer of the chunk being encoded; taken from `free` for each chunk. */
  protected out: Output = new Output(0);
  // A message lives until its frame has been written, and a worker encodes the next chunk while
  // earlier messages wait for their connection: one work buffer per message in flight, reused,
  // so encoding allocates nothing in the steady state (no garbage for a worker's GC to find).
  private readonly free: Output[] = [];
  /** Records written so far in the chunk being encoded. */
  protected records = 0;
  /** A DataView of the chunk being encoded (for Output.copy). */
  protected sourceView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private readonly scan: ScanResult = { verdict: ScanVerdict.Invalid, hasKey: false };

  /** @param scanKey a top-level key json-scan should report (the date key; json-direct also looks for it in forward entries). */
  protected constructor(protected readonly scanKey: Uint8Array | null) {}

  /** Before the first record of a chunk. */
  protected begin(): void {}
  /** After the last record of a chunk that had at least one. */
  protected end(): void {}
  /** Before the lines of a JSON-lines segment, all arrived at `time`. */
  protected abstract beginSegment(time: EventTime): void;
  /** One valid JSON object line; `scan` says whether it is canonical and has the scan key. */
  protected abstract writeLine(bytes: Buffer, start: number, end: number, scan: ScanResult, time: EventTime): void;
  /** One record decoded the slow way. */
  protected abstract writeRecord(record: TimedRecord): void;

  /**
   * The msgpack [time, record] entries in bytes[start, end), written without decoding them, in
   * order, for as long as the format can; returns where it stopped (the rest is decoded).
   */
  protected writeEntries(_bytes: Buffer, start: number, _end: number): number {
    return start;
  }

  /**
   * Encodes a chunk into a fresh message. The work buffer is reused, the message never is: a
   * message may wait for its connection to open while the next chunk is being encoded.
   */
  encode(arena: ArrayBufferLike, byteLength: number, sources: ReadonlyArray<ChunkSource>): DirectEncoding {
    const bytes = Buffer.from(arena, 0, byteLength); // Buffer.indexOf is memchr
    this.sourceView = new DataView(arena, 0, byteLength);
    const out = this.free.pop() ?? new Output(Math.max(64 << 10, byteLength * 2));
    this.out = out;
    out.length = FRAME_HEADROOM;
    this.records = 0;
    this.begin();
    const malformed = new MalformedCounts();
    const writeDecoded: RecordVisitor = (time, body, raw) => {
      this.writeRecord(raw === undefined ? { time, body } : { time, body, raw });
      this.records++;
    };

    const segment = new SegmentCursor(arena, byteLength);
    while (segment.next()) {
      const { start, end, kind } = segment;
      const sourceIndex = segment.source;
      if (kind === SegmentKind.MsgpackEntries) {
        // Forward entries: written from their bytes as far as the format can; the rest decoded.
        const stop = this.writeEntries(bytes, start, end);
        if (stop < end) decodeSegment(bytes, segment, stop, sources, malformed, writeDecoded);
        continue;
      }
      if (kind !== SegmentKind.JsonLines || (sources[sourceIndex]?.separator ?? '\n') !== '\n') {
        // Rare segments (raw lines, another separator): decoded, written the slow way.
        decodeSegment(bytes, segment, start, sources, malformed, writeDecoded);
        continue;
      }
      const time = segment.time;
      this.beginSegment(time);
      let lineStart = start;
      while (lineStart < end) {
        let lineEnd = bytes.indexOf(NEWLINE, lineStart);
        if (lineEnd < 0 || lineEnd > end) lineEnd = end;
        const next = lineEnd + 1;
        if (lineEnd > lineStart && bytes[lineEnd - 1] === CR) lineEnd--;
        if (lineEnd > lineStart) {
          const scan = scanJsonObject(bytes, lineStart, lineEnd, this.scanKey, this.scan);
          if (scan.verdict === ScanVerdict.Invalid) {
            const from = lineStart;
            const to = Math.min(lineEnd, lineStart + 80);
            malformed.note(sourceIndex, 1, () => `not a valid JSON object: ${JSON.stringify(bytes.toString('utf8', from, to))}`);
          } else {
            this.writeLine(bytes, lineStart, lineEnd, scan, time);
            this.records++;
          }
        }
        lineStart = next;
      }
    }
    if (this.records > 0) this.end();
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      if (this.free.length < POOL_KEEP) this.free.push(out);
    };
    if (this.records === 0) release();
    const message = this.records === 0 ? null : out.buffer.subarray(FRAME_HEADROOM, out.length);
    return { message, records: this.records, malformed: malformed.reports(), release };
  }

  /** Lets go of the work buffers kept for reuse (a quiet worker); the next chunk allocates one. */
  dropFreeBuffers(): void {
    this.free.length = 0;
  }
}
