// The fast path of the JSON outputs (json_lines, json_stream, json) for chunks of JSON lines:
// every line is validated on its bytes (json-scan) and, when it is already canonical JSON,
// copied into the message with the date key spliced in after its `{`. No string, no object
// per record. Lines that are valid but not canonical (whitespace, 1.0, escapes...) go the slow
// way, JSON.parse + the same writer the object encoders use, so the output is identical either
// way. Raw-line (Format none) and msgpack segments go the slow way too (see direct.ts).
import { ScanVerdict, type ScanResult } from '../chunk/json-scan.js';
import { formatDate } from './date.js';
import { DirectEncoder } from './direct.js';
import { recordJsonWriter, type RecordToJson } from './json.js';
import type { EncoderOptions, EventTime, RecordBody, TimedRecord } from './types.js';

export type { DirectEncoding } from './direct.js';

const COMMA = 0x2c;
const NEWLINE = 0x0a;

export class DirectJsonEncoder extends DirectEncoder {
  private readonly slowWriter: RecordToJson;
  private readonly array: boolean;
  /** `{"date":X` for the segment being written, as UTF-8; null without a date key. */
  private prefix: Buffer | null = null;
  private prefixView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
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
    this.prefix = Buffer.from(`{${JSON.stringify(this.options.dateKey)}:${formatDate(time, this.options.dateFormat)}`, 'utf8');
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

  protected writeRecord(record: TimedRecord): void {
    if (this.array && this.records > 0) this.out.byte(COMMA);
    this.out.text(this.slowWriter(record));
    if (!this.array) this.out.byte(NEWLINE);
  }
}
