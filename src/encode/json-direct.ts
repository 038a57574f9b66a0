// The fast path of the JSON outputs (json_lines, json_stream, json) for chunks of JSON lines:
// every line is validated on its bytes (json-scan) and, when it is already canonical JSON,
// copied into the message with the date key spliced in after its `{`. No string, no object
// per record. Lines that are valid but not canonical (whitespace, 1.0, escapes...) go the slow
// way, JSON.parse + the same writer the object encoders use, so the output is identical either
// way. Raw-line (Format none) and msgpack segments go the slow way too.
import { decodeChunk, type MalformedReport } from '../chunk/chunk-reader.js';
import { SEGMENT_HEADER_BYTES, SegmentKind, type ChunkSource } from '../chunk/layout.js';
import { ScanVerdict, scanJsonObject, type ScanResult } from '../chunk/json-scan.js';
import { formatDate } from './date.js';
import { recordJsonWriter, type RecordToJson } from './json.js';
import type { EncoderOptions, RecordBody } from './types.js';

export interface DirectEncoding {
  /** null when the chunk held no valid record. */
  readonly message: Buffer | null;
  readonly records: number;
  readonly malformed: MalformedReport[];
}

const COMMA = 0x2c;
const NEWLINE = 0x0a;
const CR = 0x0d;

/** A growing output buffer, reused from chunk to chunk. */
class Output {
  buffer = Buffer.allocUnsafeSlow(4 << 20);
  length = 0;

  reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
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

  text(value: string): void {
    this.reserve(value.length * 3);
    this.length += this.buffer.write(value, this.length, 'utf8');
  }
}

export class DirectJsonEncoder {
  private readonly out = new Output();
  private readonly scan: ScanResult = { verdict: ScanVerdict.Invalid, hasKey: false };
  private readonly key: Uint8Array | null;
  private readonly slowWriter: RecordToJson;
  private readonly array: boolean;

  constructor(private readonly options: EncoderOptions) {
    this.key = options.dateKey === null ? null : Buffer.from(options.dateKey, 'utf8');
    this.slowWriter = recordJsonWriter(options.dateKey, options.dateFormat);
    this.array = options.format === 'json';
  }

  /** True when this encoder handles the output format. */
  static handles(options: EncoderOptions): boolean {
    return options.format === 'json_lines' || options.format === 'json_stream' || options.format === 'json';
  }

  /**
   * Encodes a chunk into a fresh message. The work buffer is reused, the message never is: a
   * message may wait for its connection to open while the next chunk is being encoded.
   */
  encode(arena: ArrayBuffer, byteLength: number, sources: ReadonlyArray<ChunkSource>): DirectEncoding {
    const bytes = Buffer.from(arena, 0, byteLength); // Buffer.indexOf is memchr
    const view = new DataView(arena, 0, byteLength);
    const out = this.out;
    out.length = 0;
    if (this.array) out.byte(0x5b);
    let records = 0;
    const malformed = new Map<number, MalformedReport>();
    const note = (source: number, start: number, end: number, reason: string): void => {
      const report = malformed.get(source);
      if (report) report.count++;
      else {
        const excerpt = Buffer.from(bytes.subarray(start, Math.min(end, start + 80))).toString('utf8');
        malformed.set(source, { source, count: 1, sample: `${reason}: ${JSON.stringify(excerpt)}` });
      }
    };
    const separate = (): void => {
      if (this.array && records > 0) out.byte(COMMA);
    };
    const finish = (): void => {
      if (!this.array) out.byte(NEWLINE);
      records++;
    };

    let at = 0;
    while (at + SEGMENT_HEADER_BYTES <= byteLength) {
      const length = view.getUint32(at, true);
      const sourceIndex = view.getUint16(at + 4, true);
      const kind = view.getUint8(at + 6) as SegmentKind;
      const segmentStart = at;
      const start = at + SEGMENT_HEADER_BYTES;
      const end = start + length;
      at = end;
      const separator = sources[sourceIndex]?.separator ?? '\n';
      if (kind !== SegmentKind.JsonLines || separator !== '\n') {
        // Rare segments: decode them as a one-segment chunk and write them the slow way.
        const single = decodeChunk(arena.slice(segmentStart, end), end - segmentStart, sources);
        for (const record of single.records) {
          separate();
          out.text(this.slowWriter(record));
          finish();
        }
        for (const report of single.malformed) {
          const merged = malformed.get(sourceIndex);
          if (merged) merged.count += report.count;
          else malformed.set(sourceIndex, { ...report, source: sourceIndex });
        }
        continue;
      }
      const time = { sec: view.getUint32(segmentStart + 8, true), nsec: view.getUint32(segmentStart + 12, true) };
      const prefix = this.key === null ? null : `{${JSON.stringify(this.options.dateKey)}:${formatDate(time, this.options.dateFormat)}`;
      let lineStart = start;
      while (lineStart < end) {
        let lineEnd = bytes.indexOf(NEWLINE, lineStart);
        if (lineEnd < 0 || lineEnd > end) lineEnd = end;
        const next = lineEnd + 1;
        if (lineEnd > lineStart && bytes[lineEnd - 1] === CR) lineEnd--;
        if (lineEnd > lineStart) this.line(bytes, lineStart, lineEnd, prefix, time, sourceIndex, note, separate, finish);
        lineStart = next;
      }
    }
    if (this.array) out.byte(0x5d);
    const message = records === 0 ? null : Buffer.from(out.buffer.subarray(0, out.length));
    return { message, records, malformed: [...malformed.values()] };
  }

  private line(bytes: Buffer, start: number, end: number, prefix: string | null, time: { sec: number; nsec: number },
    source: number, note: (source: number, start: number, end: number, reason: string) => void,
    separate: () => void, finish: () => void): void {
    const scan = scanJsonObject(bytes, start, end, this.key, this.scan);
    if (scan.verdict === ScanVerdict.Invalid) {
      note(source, start, end, 'not a valid JSON object');
      return;
    }
    const out = this.out;
    separate();
    if (scan.verdict === ScanVerdict.Canonical) {
      if (prefix === null || scan.hasKey) {
        out.bytes(bytes, start, end);
      } else {
        // `{"date":X,` + the record after its `{`; a canonical `{}` becomes `{"date":X}`.
        out.text(prefix);
        if (end - start > 2) out.byte(COMMA);
        out.bytes(bytes, start + 1, end);
      }
    } else {
      const body = JSON.parse(bytes.toString('utf8', start, end)) as RecordBody;
      out.text(this.slowWriter({ time, body }));
    }
    finish();
  }
}
