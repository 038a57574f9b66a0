// A forward message read from its bytes, without decoding its records: the tag, where its
// entries are, and its option. Message mode ([tag, time, record, option?]) is what Docker's
// fluentd log driver and the fluent-logger libraries for Python, Ruby, Go and Java send, one
// record per message; Forward mode ([tag, [[time, record], ...], option?]) carries an array of
// entries. Decoded by msgpackr and packed again on the main thread, they cost 3.3 and
// 1.6–2.3 µs per record there; read as bytes they go the PackedForward way (forward-entries.ts):
// buffered as they came, written as JSON by the workers from their bytes.
import { valueEnd } from './msgpack-frame.js';

export interface ForwardOutline {
  readonly tag: string;
  /**
   * The entries as a msgpack stream of [time, record]: a view of the message (Forward mode, or
   * a PackedForward bin payload) or, for Message mode, a copy of its time and record behind a
   * 2-array header.
   */
  readonly entries: Buffer;
  /** PackedForward: the payload may be gzip-compressed (see the option). */
  readonly packed: boolean;
  /** The option map's bytes (a view of the message), or null when it has none. */
  readonly option: Buffer | null;
}

const FIXARRAY_2 = 0x92;

/** Reads msgpack lengths: module-level, so the hot path allocates nothing. */
let length = 0;
let header = 0;

/** An array header at b[p]: its length and size in `length`/`header`; false when not one. */
function arrayHeader(b: Uint8Array, p: number, end: number): boolean {
  const t = b[p];
  if (t === undefined) return false;
  if (t >= 0x90 && t <= 0x9f) { length = t & 0x0f; header = 1; return true; }
  if (t === 0xdc && p + 3 <= end) { length = (b[p + 1]! << 8) | b[p + 2]!; header = 3; return true; }
  if (t === 0xdd && p + 5 <= end) { length = readUint32(b, p + 1); header = 5; return true; }
  return false;
}

/** A str (or, with `bin`, a bin) header at b[p], as arrayHeader. */
function bytesHeader(b: Uint8Array, p: number, end: number, bin: boolean): boolean {
  const t = b[p];
  if (t === undefined) return false;
  if (!bin && t >= 0xa0 && t <= 0xbf) { length = t & 0x1f; header = 1; return true; }
  const size = bin ? (t === 0xc4 ? 1 : t === 0xc5 ? 2 : t === 0xc6 ? 4 : 0)
    : (t === 0xd9 ? 1 : t === 0xda ? 2 : t === 0xdb ? 4 : 0);
  if (size === 0 || p + 1 + size > end) return false;
  length = size === 1 ? b[p + 1]! : size === 2 ? (b[p + 1]! << 8) | b[p + 2]! : readUint32(b, p + 1);
  header = 1 + size;
  return true;
}

function readUint32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
}

function isMap(t: number | undefined): boolean {
  return t !== undefined && ((t >= 0x80 && t <= 0x8f) || t === 0xde || t === 0xdf);
}

/**
 * The outline of the forward message in b[start, end) (one framed message), or null when it
 * must be decoded instead: another shape, a tag that is not a str, an option that is not a map,
 * a str PackedForward payload. Whether each entry is [time, map] is for countPackedEntries to say.
 */
export function outlineForwardMessage(b: Buffer, start: number, end: number): ForwardOutline | null {
  if (!arrayHeader(b, start, end) || length < 2 || length > 4) return null;
  const elements = length;
  let p = start + header;
  if (!bytesHeader(b, p, end, false)) return null;
  const tag = b.toString('utf8', p + header, p + header + length);
  p += header + length;
  let entries: Buffer;
  let packed = false;
  let rest: number; // elements after the entries: the option, if any
  if (arrayHeader(b, p, end)) { // Forward: [tag, [entry, ...], option?]
    if (elements > 3) return null;
    const from = p + header;
    let q = from;
    for (let i = 0; i < length && q >= 0; i++) q = valueEnd(b, q, end);
    if (q < 0) return null;
    entries = b.subarray(from, q);
    p = q;
    rest = elements - 2;
  } else if (bytesHeader(b, p, end, true)) { // PackedForward: [tag, bin, option?]
    if (elements > 3 || p + header + length > end) return null;
    entries = b.subarray(p + header, p + header + length);
    packed = true;
    p += header + length;
    rest = elements - 2;
  } else { // Message: [tag, time, record, option?]
    if (elements < 3) return null;
    const time = p;
    const record = valueEnd(b, time, end);
    if (record < 0 || !isMap(b[record])) return null;
    const recordEnd = valueEnd(b, record, end);
    if (recordEnd < 0) return null;
    entries = Buffer.allocUnsafe(1 + recordEnd - time);
    entries[0] = FIXARRAY_2;
    b.copy(entries, 1, time, recordEnd);
    p = recordEnd;
    rest = elements - 3;
  }
  if (rest === 0) return p === end ? { tag, entries, packed, option: null } : null;
  if (rest !== 1 || !isMap(b[p])) return null;
  const optionEnd = valueEnd(b, p, end);
  if (optionEnd !== end) return null;
  return { tag, entries, packed, option: b.subarray(p, optionEnd) };
}
