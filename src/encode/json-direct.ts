// The fast path of the JSON outputs (json_lines, json_stream, json) for chunks of JSON lines:
// every line is validated on its bytes (json-scan) and, when it is already canonical JSON,
// copied into the message with the date key spliced in after its `{`. No string, no object
// per record. Lines that are valid but not canonical (whitespace, 1.0, escapes...) go the slow
// way, JSON.parse + the same writer the object encoders use, so the output is identical either
// way. Forward entries ([time, map] in msgpack) are written as JSON from their bytes too
// (msgpack-json.ts); raw-line (Format none) segments go the slow way (see direct.ts).
import { ScanVerdict, type ScanResult } from '../codec/json-scan.js';
import { formatDate } from './date.js';
import { readEventTime } from '../codec/event-time.js';
import { DirectEncoder } from './direct.js';
import { recordJsonWriter, type RecordToJson } from './json.js';
import { writeMapEntries } from './msgpack-json.js';
import { MsgpackReader } from '../codec/msgpack-reader.js';
import type { EncoderOptions, EventTime } from './types.js';
import type { RecordBody, TimedRecord } from '../chunk/record.js';

export type { DirectEncoding } from './direct.js';

const COMMA = 0x2c;
const NEWLINE = 0x0a;

export class DirectJsonEncoder extends DirectEncoder {
  private readonly slowWriter: RecordToJson;
  private readonly array: boolean;
  /** `{"date":X` for the segment (or forward entry) being written, as UTF-8; null without a date key. */
  private prefix: Buffer | null = null;
  private prefixView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** The time of the forward entry being written (reused: no object per entry). */
  private readonly entryTime = { sec: 0, nsec: 0 };
  /** Reads the forward entries of every chunk (reused: no object per segment). */
  private readonly reader = new MsgpackReader();
  /** The time the prefix was made for: segments of one burst often share it. */
  private prefixSec = -1;
  private prefixNsec = -1;

  constructor(private readonly options: EncoderOptions) {
    super(options.dateKey === null ? null : Buffer.from(options.dateKey, 'utf8'));
    this.slowWriter = recordJsonWriter(options.dateKey, options.dateFormat);
    this.array = options.format === 'json';
  }

  /** True when this encoder handles the output format. */
  static handles(options: EncoderOptions): boolean {
    return options.format === 'json_lines' || options.format === 'json_stream' || options.format === 'json';
  }

  protected override begin(): void {
    if (this.array) this.out.byte(0x5b);
  }

  protected override end(): void {
    if (this.array) this.out.byte(0x5d);
  }

  protected beginSegment(time: EventTime): void {
    if (this.options.dateKey === null) return;
    if (this.prefix !== null && time.sec === this.prefixSec && time.nsec === this.prefixNsec) return;
    // Bytes, copied into each record: writing the same string per record costs a UTF-8 encode each.
    this.prefix = Buffer.from(
      `{${JSON.stringify(this.options.dateKey)}:${formatDate(time, this.options.dateFormat)}`,
      'utf8',
    );
    this.prefixView = new DataView(this.prefix.buffer, this.prefix.byteOffset, this.prefix.length);
    this.prefixSec = time.sec;
    this.prefixNsec = time.nsec;
  }

  protected writeLine(bytes: Buffer, start: number, end: number, scan: ScanResult, time: EventTime): void {
    const out = this.out;
    if (this.array && this.records > 0) out.byte(COMMA);
    if (scan.verdict === ScanVerdict.Canonical) {
      if (this.prefix === null || scan.hasKey) {
        out.copy(bytes, this.sourceView, start, end);
      } else {
        // `{"date":X,` + the record after its `{`; a canonical `{}` becomes `{"date":X}`.
        out.copy(this.prefix, this.prefixView, 0, this.prefix.length);
        if (end - start > 2) out.byte(COMMA);
        out.copy(bytes, this.sourceView, start + 1, end);
      }
    } else {
      const body = JSON.parse(bytes.toString('utf8', start, end)) as RecordBody;
      out.text(this.slowWriter({ time, body }));
    }
    if (!this.array) out.byte(NEWLINE);
  }

  /** Forward entries [time, map], transcoded from msgpack (msgpack-json.ts). */
  protected override writeEntries(bytes: Buffer, start: number, end: number): number {
    const r = this.reader;
    r.reset(bytes, start, end);
    while (r.pos < end) {
      const mark = this.out.length;
      const entry = r.pos;
      if (!this.writeEntry(r)) {
        this.out.length = mark; // written in part: the entry goes the slow way
        return entry;
      }
      this.records++;
    }
    return r.pos;
  }

  /** The entry at the reader's position, and moves past it; false when it must be decoded instead. */
  private writeEntry(r: MsgpackReader): boolean {
    if (r.buf[r.pos] !== 0x92) return false;
    r.pos++;
    if (!readEventTime(r, this.entryTime) || !r.mapHeader()) return false;
    const count = r.count;
    const first = r.pos;
    const out = this.out;
    if (this.array && this.records > 0) out.byte(COMMA);
    let withDate = false;
    if (this.scanKey !== null) {
      // The record's own date key wins, as on the object path: look for it first.
      let hasKey = false;
      for (let i = 0; i < count; i++) {
        if (r.strEquals(this.scanKey)) hasKey = true;
        if (!r.skip() || !r.skip()) return false;
      }
      r.pos = first;
      withDate = !hasKey;
    }
    if (withDate) {
      this.beginSegment(this.entryTime);
      out.copy(this.prefix!, this.prefixView, 0, this.prefix!.length);
    } else {
      out.byte(0x7b);
    }
    if (!writeMapEntries(out, r, count, !withDate)) return false;
    out.byte(0x7d);
    if (!this.array) out.byte(NEWLINE);
    return true;
  }

  protected writeRecord(record: TimedRecord): void {
    if (this.array && this.records > 0) this.out.byte(COMMA);
    this.out.text(this.slowWriter(record));
    if (!this.array) this.out.byte(NEWLINE);
  }
}
