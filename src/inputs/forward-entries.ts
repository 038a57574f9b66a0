// The entries of a forward message — a PackedForward payload (inflated, if it was compressed),
// a Forward mode array, a Message mode record — read from their bytes, one pass, nothing
// decoded. Fluent Bit's forward output and most fluent-logger clients send [time, map] entries:
// when every entry is exactly that (the time one toEventTime reads, no extension in the record),
// the bytes go into the chunk unchanged (a msgpack-entries segment) and the worker threads write
// them, instead of the main thread decoding every record to an object and packing it again
// (most of the forward input's cost: docs/PERFORMANCE.md, "Figures behind the code").
//
// Anything else is bounded by its bytes too, because the main thread never decodes an entry:
// - a value that is not an array of 2 or 3 elements is not an entry, and the message is refused
//   at the first one (24 MB of zero bytes are 24 million fixints: decoded one by one as
//   "entries", they would hold the main thread for seconds and leave hundreds of MB behind);
// - an entry whose record is not a map is skipped and counted malformed, without being decoded;
// - the others are rewritten entry by entry into [EventTime, record]: Fluent Bit >= 2 sends
//   [[EventTime, metadata], record] (its event format; the metadata, {} unless
//   retain_metadata_in_forward_mode, is dropped, and a negative time there is a group marker,
//   skipped); otherwise as decoding and re-packing them would: a time of another type (nil,
//   a string...) becomes the message's arrival time, a third element is dropped, and inside the
//   record an EventTime becomes its number of seconds and a msgpack timestamp of an impossible
//   length nil (what msgpackr made of them: a number, an Invalid Date). The record's bytes are
//   otherwise copied.
// An entry of the right shape that msgpackr still refuses (a map key that is itself a map) is
// counted malformed and skipped by the worker, as a bad tcp line is (chunk/segments.ts).
import { readEventTime } from '../codec/event-time.js';
import { writeEntryHeader } from '../encode/msgpack.js';
import type { EventTime } from '../encode/types.js';
import { eventTimeNow } from '../time.js';
import { MsgpackReader, readUint32 } from '../codec/msgpack-reader.js';

export type Entries =
  | {
      readonly kind: 'entries';
      /** The entries to buffer: the payload itself when `asIs`, else the rewritten ones. */
      readonly bytes: Buffer;
      readonly count: number;
      /** Entries skipped: their record is not a map. */
      readonly invalid: number;
      readonly asIs: boolean;
    }
  /** oversized: more than MAX_ENTRIES_PER_MESSAGE; otherwise not entries. */
  | { readonly kind: 'refused'; readonly reason: string; readonly oversized: boolean };

/**
 * Entries one message may hold. Besides its bytes, every entry costs the main thread a little
 * (more when it is rewritten), so this bounds a message's cost however small its entries are
 * (3 bytes each, 24 MB inflated would be 8 million); docs/PERFORMANCE.md, "Figures behind the
 * code", has the costs. Fluent Bit's chunks (~2 MB) hold under 200,000.
 */
export const MAX_ENTRIES_PER_MESSAGE = 1 << 20;

const FIXARRAY_2 = 0x92;
const FIXEXT8 = 0xd7;
/** 0x92, then the EventTime (fixext8): writeEntryHeader. */
const ENTRY_HEADER_BYTES = 11;
/** msgpack timestamps (extension -1) are 4, 8 or 12 bytes. */
const TIMESTAMP_LENGTHS = new Set([4, 8, 12]);

/** Where readEventTime puts the time it reads. */
const time = { sec: 0, nsec: 0 };

function refused(reason: string, oversized = false): Entries {
  return { kind: 'refused', reason, oversized };
}

/** The entries rewritten, from the first that cannot stay as it came: those before, copied, then each. */
class Rewritten {
  buffer: Buffer;
  length: number;

  constructor(packed: Buffer, upTo: number) {
    this.buffer = Buffer.allocUnsafe(packed.length + 1024);
    this.length = packed.copy(this.buffer, 0, 0, upTo);
  }

  /** Room for `bytes` more (growing by doubling: at most twice what is kept). */
  reserve(bytes: number): Buffer {
    if (this.length + bytes > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    return this.buffer;
  }
}

/**
 * The entries in `packed`, checked and, where needed, rewritten (see the header); or why not.
 * An entry claiming more than `maxBytes` (by default: more than the payload holds) is refused
 * from its header.
 */
export function readEntries(packed: Buffer, maxBytes = packed.length): Entries {
  const end = packed.length;
  const r = new MsgpackReader(packed, 0, end);
  let out: Rewritten | null = null;
  // One arrival time for the entries of a message that carry none.
  let now: EventTime | null = null;
  let count = 0;
  let invalid = 0;
  let pos = 0;
  const bounded = maxBytes < end;
  for (let index = 0; pos < end; index++) {
    if (index === MAX_ENTRIES_PER_MESSAGE)
      return refused(`more than ${MAX_ENTRIES_PER_MESSAGE} entries in one message`, true);
    const first = packed[pos]!;
    r.pos = pos;
    r.end = end;
    if (!r.arrayHeader() || r.count < 2 || r.count > 3) {
      return refused(`entry ${index} is not an array of 2 or 3 elements (byte 0x${first.toString(16)})`);
    }
    const elements = r.count;
    const timeAt = r.pos;
    const extensionsBefore = r.extensions;
    r.pos = pos;
    r.end = bounded ? Math.min(end, pos + maxBytes) : end;
    if (!r.checkedSkip()) {
      return refused(
        r.refusal === '' ? `entry ${index} ends past the end of the entries` : `entry ${index}: ${r.refusal}`,
      );
    }
    const entryEnd = r.pos;
    const entryExtensions = r.extensions - extensionsBefore;
    r.pos = timeAt;
    r.end = entryEnd;
    const timeRead = readEventTime(r, time);
    const timeEnd = timeRead ? r.pos : -1;
    // As it came: [time, map], a time readEventTime reads, no extension but the time's own.
    if (first === FIXARRAY_2 && timeRead && r.mapHeader() && entryExtensions === (packed[timeAt] === FIXEXT8 ? 1 : 0)) {
      if (out !== null) out.length = copyBytes(packed, pos, entryEnd, out.reserve(entryEnd - pos), out.length);
      count++;
      pos = entryEnd;
      continue;
    }
    out ??= new Rewritten(packed, pos);
    const extensionsBeforeTime = r.extensions;
    r.pos = timeAt;
    const recordAt = timeRead ? timeEnd : r.skip() ? r.pos : -1;
    r.pos = recordAt;
    if (recordAt < 0 || !r.mapHeader()) {
      invalid++; // skipped, not decoded
      pos = entryEnd;
      continue;
    }
    // The record's extensions (to be rewritten): the entry's but the time's, or counted anew
    // past a third element.
    let recordEnd = entryEnd;
    let rewrite: boolean;
    if (elements === 2) {
      const timeExtensions = timeRead ? (packed[timeAt] === FIXEXT8 ? 1 : 0) : r.extensions - extensionsBeforeTime;
      rewrite = entryExtensions !== timeExtensions;
    } else {
      const extensionsBeforeRecord = r.extensions;
      r.pos = recordAt;
      recordEnd = r.skip() ? r.pos : -1;
      rewrite = r.extensions !== extensionsBeforeRecord;
    }
    let at: EventTime;
    if (timeRead) at = time;
    else if (packed[timeAt] === FIXARRAY_2) {
      // Fluent Bit >= 2: [[time, metadata], record]. A negative time is a group marker, not a record.
      r.pos = timeAt + 1;
      r.end = recordAt;
      if (readEventTime(r, time) && r.mapHeader()) at = time;
      else if (isNegativeInteger(packed[timeAt + 1]!)) {
        invalid++;
        pos = entryEnd;
        continue;
      } else at = now ??= eventTimeNow();
    } else if (isEventTimeExt8(r, timeAt, entryEnd)) {
      at = { sec: readUint32(packed, r.pos), nsec: readUint32(packed, r.pos + 4) };
    } else at = now ??= eventTimeNow();
    const into = out.reserve(ENTRY_HEADER_BYTES + (recordEnd - recordAt));
    writeEntryHeader(into, out.length, at.sec, at.nsec);
    const recordInto = out.length + ENTRY_HEADER_BYTES;
    const written = rewrite
      ? copyRecord(packed, r, recordAt, recordEnd, into, recordInto)
      : copyBytes(packed, recordAt, recordEnd, into, recordInto);
    if (written < 0) invalid++;
    else {
      out.length = written;
      count++;
    }
    pos = entryEnd;
  }
  if (out === null) return { kind: 'entries', bytes: packed, count, invalid, asIs: true };
  return { kind: 'entries', bytes: out.buffer.subarray(0, out.length), count, invalid, asIs: false };
}

/** The number of entries in `packed` when every one is buffered as it came, else null. */
export function countPackedEntries(packed: Buffer, maxBytes: number): number | null {
  const entries = readEntries(packed, maxBytes);
  return entries.kind === 'entries' && entries.asIs ? entries.count : null;
}

/** Copies b[from, to) to out[at...] and returns where it ends; short runs without a native call. */
function copyBytes(b: Buffer, from: number, to: number, out: Buffer, at: number): number {
  if (to - from > 32) return at + b.copy(out, at, from, to);
  for (let i = from; i < to; i++) out[at++] = b[i]!;
  return at;
}

/** A negative fixint or int 8..64. */
function isNegativeInteger(t: number): boolean {
  return t >= 0xe0 || (t >= 0xd0 && t <= 0xd3);
}

/**
 * An EventTime written as ext8 (c7 08 00 + 8 bytes) instead of fixext8: msgpackr reads both.
 * Leaves the reader at its data.
 */
function isEventTimeExt8(r: MsgpackReader, p: number, end: number): boolean {
  r.pos = p;
  r.end = end;
  return r.buf[p] === 0xc7 && r.extHeader() && r.count === 8 && r.extType === 0 && r.pos + 8 <= end;
}

/**
 * Copies the record b[from, to) (read with r) to out[at...], its extension values replaced as the decoding path
 * replaced them: an EventTime by its seconds (toJSON, as msgpackr packed it), a timestamp of an
 * impossible length by nil; a valid timestamp stays. Returns where the copy ends, or -1 for an
 * EventTime that is not 8 bytes (msgpackr could not decode it). Never longer than the record.
 */
function copyRecord(b: Buffer, r: MsgpackReader, from: number, to: number, out: Buffer, at: number): number {
  let run = from; // bytes from here on are copied as they are
  r.pos = from;
  r.end = to;
  while (r.pos < to) {
    const p = r.pos;
    if (!r.extHeader()) {
      if (!r.skipHeader()) return -1; // not met: the entry was checked whole
      continue;
    }
    const type = r.extType;
    const length = r.count;
    const data = r.pos;
    r.pos = data + length;
    if (type !== 0 && TIMESTAMP_LENGTHS.has(length)) continue;
    at = copyBytes(b, run, p, out, at);
    if (type !== 0)
      out[at++] = 0xc0; // a timestamp msgpackr reads as an Invalid Date (JSON null)
    else if (length !== 8) return -1;
    else {
      const sec = readUint32(b, data);
      const nsec = readUint32(b, data + 4);
      if (nsec === 0) {
        out[at] = 0xce;
        out.writeUInt32BE(sec, at + 1);
        at += 5;
      } else {
        out[at] = 0xcb;
        out.writeDoubleBE(sec + nsec / 1e9, at + 1);
        at += 9;
      }
    }
    run = r.pos;
  }
  return copyBytes(b, run, to, out, at);
}
