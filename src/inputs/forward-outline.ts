// A forward message read from its bytes, without decoding its records: the tag, where its
// entries are, and its option. Message mode ([tag, time, record, option?]) is what Docker's
// fluentd log driver and the fluent-logger libraries for Python, Ruby, Go and Java send, one
// record per message; Forward mode ([tag, [[time, record], ...], option?]) carries an array of
// entries (Fluent Bit's forward output sends that); PackedForward ([tag, bin or str, option?])
// their msgpack stream, gzip-compressed in CompressedPackedForward. Decoded by msgpackr and
// packed again on the main thread, they would cost the main thread several times what their
// bytes do (docs/PERFORMANCE.md, "Figures behind the code"); read as bytes they go the
// PackedForward way (forward-entries.ts): buffered as they came, written as JSON by the workers
// from their bytes. Nothing here decodes with msgpackr: the cost of a message is
// linear in its bytes whatever it holds.
import { MsgpackKind, MsgpackReader } from '../codec/msgpack-reader.js';

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
  const r = new MsgpackReader(b, start, end);
  if (!r.arrayHeader() || r.count < 2) return 'a forward message is an array of a tag and its entries';
  const elements = r.count;
  if (!r.strHeader()) return 'a forward message starts with its tag, a string';
  const tagEnd = r.pos + r.count;
  if (tagEnd > end) return 'the tag ends past the message';
  const tag = b.toString('utf8', r.pos, tagEnd);
  r.pos = tagEnd;
  let entries: Buffer;
  let packed = false;
  let canonical = true;
  let rest: number; // elements after the entries: the option, then any others
  const entriesAt = r.pos;
  if (r.arrayHeader()) {
    // Forward: [tag, [entry, ...], option?]
    const count = r.count;
    const from = r.pos;
    for (let i = 0; i < count; i++) if (!r.skip()) return 'the entries end past the message';
    entries = b.subarray(from, r.pos);
    rest = elements - 2;
  } else if (r.binHeader() || r.strHeader()) {
    // PackedForward: [tag, bin, option?]
    canonical = r.kindAt(entriesAt) === MsgpackKind.Bin; // not str, as msgpack before bin had it
    const from = r.pos;
    const to = from + r.count;
    if (to > end) return 'the entries end past the message';
    entries = b.subarray(from, to);
    r.pos = to;
    packed = true;
    rest = elements - 2;
  } else {
    // Message: [tag, time, record, option?]
    if (elements < 3) return 'a Message mode message is [tag, time, record]';
    const time = r.pos;
    if (!r.skip()) return 'the record ends past the message';
    const record = r.pos;
    if (!r.skip()) return 'the record ends past the message';
    const recordEnd = r.pos;
    r.pos = record;
    canonical = r.mapHeader();
    entries = Buffer.allocUnsafe(1 + recordEnd - time);
    entries[0] = FIXARRAY_2;
    b.copy(entries, 1, time, recordEnd);
    r.pos = recordEnd;
    rest = elements - 3;
  }
  let option: Buffer | null = null;
  let chunk: Buffer | null = null;
  let compressed = false;
  let signal = 0;
  if (rest > 0) {
    const optionAt = r.pos;
    if (!r.skip()) return 'the option ends past the message';
    const optionEnd = r.pos;
    r.pos = optionAt;
    if (r.mapHeader()) {
      option = b.subarray(optionAt, optionEnd);
      r.end = optionEnd;
      for (let pairs = r.count; pairs > 0; pairs--) {
        const key = r.pos;
        if (!r.skip()) return 'the option ends past the message';
        const value = r.pos;
        if (!r.skip()) return 'the option ends past the message';
        const valueStop = r.pos;
        r.reset(b, key, value);
        if (r.strEquals(CHUNK)) chunk = b.subarray(value, valueStop);
        else if (r.strEquals(COMPRESSED)) {
          r.reset(b, value, valueStop);
          compressed = r.strEquals(GZIP);
        } else if (r.strEquals(FLUENT_SIGNAL)) signal = b[value]! <= 0x7f ? b[value]! : 0;
        r.reset(b, valueStop, optionEnd);
      }
      r.end = end;
    } else canonical = false;
    r.pos = optionEnd;
    for (rest--; rest > 0; rest--) {
      canonical = false;
      if (!r.skip()) return 'an element ends past the message';
    }
  }
  if (r.pos !== end) return 'bytes after the message';
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
