// A forward message read from its bytes, without decoding its records: the tag, where its
// entries are, and its option. Message mode ([tag, time, record, option?]) is what Docker's
// fluentd log driver and the fluent-logger libraries for Python, Ruby, Go and Java send, one
// record per message; Forward mode ([tag, [[time, record], ...], option?]) carries an array of
// entries. Decoded by msgpackr and packed again on the main thread, they cost 3.3 and
// 1.6–2.3 µs per record there; read as bytes they go the PackedForward way (forward-entries.ts):
// buffered as they came, written as JSON by the workers from their bytes.
import { arrayHeader, binHeader, headerCount, headerSize, mapHeader, strHeader } from '../encode/msgpack-json.js';
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

/**
 * The outline of the forward message in b[start, end) (one framed message), or null when it
 * must be decoded instead: another shape, a tag that is not a str, an option that is not a map,
 * a str PackedForward payload. Whether each entry is [time, map] is for countPackedEntries to say.
 */
export function outlineForwardMessage(b: Buffer, start: number, end: number): ForwardOutline | null {
  if (!arrayHeader(b, start, end) || headerCount() < 2 || headerCount() > 4) return null;
  const elements = headerCount();
  let p = start + headerSize();
  if (!strHeader(b, p, end)) return null;
  const tagEnd = p + headerSize() + headerCount();
  if (tagEnd > end) return null;
  const tag = b.toString('utf8', p + headerSize(), tagEnd);
  p = tagEnd;
  let entries: Buffer;
  let packed = false;
  let rest: number; // elements after the entries: the option, if any
  if (arrayHeader(b, p, end)) { // Forward: [tag, [entry, ...], option?]
    if (elements > 3) return null;
    const count = headerCount();
    const from = p + headerSize();
    let q = from;
    for (let i = 0; i < count && q >= 0; i++) q = valueEnd(b, q, end);
    if (q < 0) return null;
    entries = b.subarray(from, q);
    p = q;
    rest = elements - 2;
  } else if (binHeader(b, p, end)) { // PackedForward: [tag, bin, option?]
    const from = p + headerSize();
    p = from + headerCount();
    if (elements > 3 || p > end) return null;
    entries = b.subarray(from, p);
    packed = true;
    rest = elements - 2;
  } else { // Message: [tag, time, record, option?]
    if (elements < 3) return null;
    const time = p;
    const record = valueEnd(b, time, end);
    if (record < 0 || !mapHeader(b, record, end)) return null;
    const recordEnd = valueEnd(b, record, end);
    if (recordEnd < 0) return null;
    entries = Buffer.allocUnsafe(1 + recordEnd - time);
    entries[0] = FIXARRAY_2;
    b.copy(entries, 1, time, recordEnd);
    p = recordEnd;
    rest = elements - 3;
  }
  if (rest === 0) return p === end ? { tag, entries, packed, option: null } : null;
  if (rest !== 1 || !mapHeader(b, p, end)) return null;
  const optionEnd = valueEnd(b, p, end);
  if (optionEnd !== end) return null;
  return { tag, entries, packed, option: b.subarray(p, optionEnd) };
}
