// `msgpack`: what Fluent Bit keeps in a chunk and sends as is — a stream of
// [EventTime, record] arrays. EventTime is the Fluentd extension type 0 as fixext8:
// d7 00 <uint32 BE seconds> <uint32 BE nanoseconds>.
import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import type { Encoder } from './types.js';
import type { RecordBody, TimedRecord } from '../chunk/record.js';

// 0x92 (fixarray of 2) + d7 00 + 4 + 4 bytes of time.
const HEADER_BYTES = 11;
const EMPTY = Buffer.alloc(0);

// Plain msgpack any decoder reads: no record structures (msgpackr's own extension), and
// undefined as nil because msgpackr's default for it is fixext1 of type 0 — the EventTime
// type. (addExtension cannot write type 0 either: msgpackr rejects 0 as "no type".)
// variableMapSize: the smallest map header, as msgpack-c (Fluent Bit) writes it, instead of
// map16 for every map: 2 bytes less per map, at some cost in speed (docs/PERFORMANCE.md,
// "Figures behind the code").
const packr = new Packr({ useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true });

// msgpackr writes integers beyond 32 bits as float64, so a record's `"ts":1795421327196`
// would reach the consumer as 1795421327196.0 where Fluent Bit sends an integer. As a
// BigInt it is written as int64. Records rarely hold such numbers, so copy only on need.
function isWideInteger(v: number): boolean {
  return v >>> 0 !== v && v >> 0 !== v && Number.isSafeInteger(v);
}

function widenValue(value: unknown): unknown {
  if (typeof value === 'number') return isWideInteger(value) ? BigInt(value) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const w = widenValue(v);
      if (w !== v) {
        copy ??= value.slice();
        copy[i] = w;
      }
    }
    return copy ?? value;
  }
  return widenRecord(value as RecordBody);
}

/** The record itself when nothing needs widening (the common case), else a widened copy. */
export function widenRecord(body: RecordBody): RecordBody {
  let copy: RecordBody | null = null;
  for (const key in body) {
    const v = body[key];
    // Only numbers and containers can change; strings (most values) skip the call.
    if (typeof v === 'string' || typeof v === 'boolean' || v === null) continue;
    const w = widenValue(v);
    if (w !== v) {
      copy ??= { ...body };
      copy[key] = w;
    }
  }
  return copy ?? body;
}

/** One `[EventTime, record]` entry, in a buffer of its own. */
export function packEntry({ time, body }: TimedRecord): Buffer {
  // msgpackr leaves the reserved bytes at the front of the buffer it returns, so the header
  // goes in place instead of into a separate buffer.
  const b = packr.pack(widenRecord(body), RESERVE_START_SPACE | HEADER_BYTES);
  writeEntryHeader(b, 0, time.sec, time.nsec);
  return b;
}

/** `0x92 d7 00 <sec> <nsec>`: a 2-array whose first element is the EventTime, at b[at]. */
export function writeEntryHeader(b: Uint8Array, at: number, sec: number, nsec: number): void {
  sec >>>= 0;
  nsec >>>= 0;
  b[at] = 0x92;
  b[at + 1] = 0xd7;
  b[at + 2] = 0x00;
  b[at + 3] = sec >>> 24;
  b[at + 4] = (sec >>> 16) & 0xff;
  b[at + 5] = (sec >>> 8) & 0xff;
  b[at + 6] = sec & 0xff;
  b[at + 7] = nsec >>> 24;
  b[at + 8] = (nsec >>> 16) & 0xff;
  b[at + 9] = (nsec >>> 8) & 0xff;
  b[at + 10] = nsec & 0xff;
}

export const ENTRY_HEADER_BYTES = HEADER_BYTES;

export function createMsgpackEncoder(): Encoder {
  return {
    binary: true,
    encode(records: ReadonlyArray<TimedRecord>): Buffer {
      if (records.length === 0) return EMPTY;
      const parts = new Array<Buffer>(records.length);
      let total = 0;
      for (let i = 0; i < records.length; i++) {
        const b = packEntry(records[i]!);
        parts[i] = b;
        total += b.length;
      }
      return Buffer.concat(parts, total);
    },
  };
}
