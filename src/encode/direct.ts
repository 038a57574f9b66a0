// What the byte-level encoders share (json-direct for the JSON outputs, msgpack-direct for
// msgpack): walking a chunk's segments, validating every JSON line on its bytes (json-scan),
// counting what is malformed per source, and sending rare segments (raw lines of Format none,
// msgpack entries from forward, a separator other than \n) the slow way, decoded to objects
// and written by the format's object writer. The subclass writes lines and records; nothing
// per record is allocated on the fast path.
import { SegmentKind, type ChunkSource } from '../chunk/layout.js';
import {
  decodeSegment,
  MalformedCounts,
  SegmentCursor,
  type MalformedReport,
  type RecordVisitor,
} from '../chunk/segments.js';
import { ScanVerdict, scanJsonObject, type ScanResult } from '../codec/json-scan.js';
import { Output } from '../codec/output.js';
import type { EventTime } from './types.js';
import type { TimedRecord } from '../chunk/record.js';

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
            malformed.note(
              sourceIndex,
              1,
              () => `not a valid JSON object: ${JSON.stringify(bytes.toString('utf8', from, to))}`,
            );
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
