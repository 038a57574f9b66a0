// A forward message read from its bytes, without decoding its records: the tag, where its
// entries are, and its option. Message mode ([tag, time, record, option?]) is what Docker's
// fluentd log driver and the fluent-logger libraries for Python, Ruby, Go and Java send, one
// record per message; Forward mode ([tag, [[time, record], ...], option?]) carries an array of
// entries (Fluent Bit's forward output sends that); PackedForward ([tag, bin or str, option?])
// their msgpack stream, gzip-compressed in CompressedPackedForward. Decoded by msgpackr and
// packed again on the main thread, they cost 3.3 and 1.6–2.3 µs per record there; read as bytes
// they go the PackedForward way (forward-entries.ts): buffered as they came, written as JSON by
// the workers from their bytes. Nothing here decodes with msgpackr: the cost of a message is
// linear in its bytes whatever it holds.
import { arrayHeader, binHeader, headerCount, headerSize, isStringKey, mapHeader, strHeader } from '../encode/msgpack-json.js';
import { valueEnd } from '../codec/msgpack-frame.js';

export interface ForwardOutline {
  readonly tag: string;
  /**
   * The entries as a msgpack stream: a view of the message (Forward mode, or a PackedForward
   * payload) or, for Message mode, a copy of its time and record behind a 2-array header.
   */
  readonly entries: Buffer;
  /** PackedForward: the payload may be gzip-compressed (see the option). */
  readonly packed: boolean;
  /** The option map's bytes (a view of the message), or null when it has none. */
  readonly option: Buffer | null;
}

export interface ForwardMessage extends ForwardOutline {
  /** A PackedForward payload whose option says `compressed: "gzip"`. */
  readonly compressed: boolean;
  /** The option's `chunk`, as its msgpack bytes (a view of the message): answered with an ack. */
  readonly chunk: Buffer | null;
  /**
   * The option's `fluent_signal` (Fluent Bit >= 2.1): 0 logs; 1 metrics, 2 traces (and later
   * kinds) — then the payload is a cmetrics or ctraces msgpack blob, not entries. 0 when absent
   * or not a positive fixint.
   */
  readonly signal: number;
  /**
   * Exactly one of the specification's shapes: a bin payload (not str, as msgpack before bin
   * had it), a map record in Message mode, a map option or none, nothing after it.
   */
  readonly canonical: boolean;
}

const FIXARRAY_2 = 0x92;
const CHUNK = Buffer.from('chunk');
const COMPRESSED = Buffer.from('compressed');
const GZIP = Buffer.from('gzip');
const FLUENT_SIGNAL = Buffer.from('fluent_signal');

/**
 * The forward message in b[start, end) (one framed message), or why it is not one: not an array
 * of a str tag and its entries, a Message mode message without its record, elements that end
 * past the message. Elements after the option are ignored, as an option that is not a map is.
 * Whether each entry is one is for readEntries to say (forward-entries.ts).
 */
export function readForwardMessage(b: Buffer, start: number, end: number): ForwardMessage | string {
  if (!arrayHeader(b, start, end) || headerCount() < 2) return 'a forward message is an array of a tag and its entries';
  const elements = headerCount();
  let p = start + headerSize();
  if (!strHeader(b, p, end)) return 'a forward message starts with its tag, a string';
  const tagEnd = p + headerSize() + headerCount();
  if (tagEnd > end) return 'the tag ends past the message';
  const tag = b.toString('utf8', p + headerSize(), tagEnd);
  p = tagEnd;
  let entries: Buffer;
  let packed = false;
  let canonical = true;
  let rest: number; // elements after the entries: the option, then any others
  if (arrayHeader(b, p, end)) { // Forward: [tag, [entry, ...], option?]
    const count = headerCount();
    const from = p + headerSize();
    let q = from;
    for (let i = 0; i < count && q >= 0; i++) q = valueEnd(b, q, end);
    if (q < 0) return 'the entries end past the message';
    entries = b.subarray(from, q);
    p = q;
    rest = elements - 2;
  } else if (binHeader(b, p, end) || strHeader(b, p, end)) { // PackedForward: [tag, bin, option?]
    canonical = b[p] === 0xc4 || b[p] === 0xc5 || b[p] === 0xc6;
    const from = p + headerSize();
    p = from + headerCount();
    if (p > end) return 'the entries end past the message';
    entries = b.subarray(from, p);
    packed = true;
    rest = elements - 2;
  } else { // Message: [tag, time, record, option?]
    if (elements < 3) return 'a Message mode message is [tag, time, record]';
    const time = p;
    const record = valueEnd(b, time, end);
    const recordEnd = record < 0 ? -1 : valueEnd(b, record, end);
    if (recordEnd < 0) return 'the record ends past the message';
    canonical = mapHeader(b, record, end);
    entries = Buffer.allocUnsafe(1 + recordEnd - time);
    entries[0] = FIXARRAY_2;
    b.copy(entries, 1, time, recordEnd);
    p = recordEnd;
    rest = elements - 3;
  }
  let option: Buffer | null = null;
  let chunk: Buffer | null = null;
  let compressed = false;
  let signal = 0;
  if (rest > 0) {
    const optionEnd = valueEnd(b, p, end);
    if (optionEnd < 0) return 'the option ends past the message';
    if (mapHeader(b, p, end)) {
      option = b.subarray(p, optionEnd);
      let q = p + headerSize();
      for (let pairs = headerCount(); pairs > 0; pairs--) {
        const value = valueEnd(b, q, optionEnd);
        const valueStop = value < 0 ? -1 : valueEnd(b, value, optionEnd);
        if (valueStop < 0) return 'the option ends past the message';
        if (isStringKey(b, q, value, CHUNK)) chunk = b.subarray(value, valueStop);
        else if (isStringKey(b, q, value, COMPRESSED)) compressed = isStringKey(b, value, valueStop, GZIP);
        else if (isStringKey(b, q, value, FLUENT_SIGNAL)) signal = b[value]! <= 0x7f ? b[value]! : 0;
        q = valueStop;
      }
    } else canonical = false;
    p = optionEnd;
    for (rest--; rest > 0 && p >= 0; rest--) {
      canonical = false;
      p = valueEnd(b, p, end);
    }
  }
  if (p !== end) return p < 0 ? 'an element ends past the message' : 'bytes after the message';
  return { tag, entries, packed, option, compressed: packed && compressed, chunk, signal, canonical };
}

/**
 * The outline of a forward message of one of the specification's shapes exactly (see
 * ForwardMessage.canonical), null for any other; what the entries and option it finds are is
 * checked against msgpackr's decoding (forward-outline.test.ts).
 */
export function outlineForwardMessage(b: Buffer, start: number, end: number): ForwardOutline | null {
  const message = readForwardMessage(b, start, end);
  return typeof message === 'string' || !message.canonical ? null : message;
}
