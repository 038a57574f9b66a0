// The one reader of msgpack bytes: every header layout, the depth bound, which extensions are let
// through and what counts as truncated are here, and every walker of msgpack in the relay (the
// forward input's framing, message outline, entries and handshake, the http input's msgpack
// bodies, the workers' msgpack → JSON) reads through a MsgpackReader.
//
// A reader is a window [pos, end) of a buffer. Its methods read at `pos` and, when they succeed,
// move `pos` past what they read; when they fail (not that kind of value, or not all there
// before `end`) `pos` is left where it was. What a header says is left in fields (count,
// extType, value), not returned in objects: these run once per value of every record, and one
// reader serves a whole message or chunk, so reading allocates nothing. The walks (skip,
// checkedSkip, FrameScanner) read each header with head(), which returns all it read in one
// number instead. Walks are iterative: the depth of the input never becomes depth of the call
// stack here.

/** Deepest nesting accepted in msgpack (the same bound as JSON lines, json-scan). */
export const MAX_MSGPACK_DEPTH = 512;

/**
 * What head() returns when it cannot read a header: not all there yet, 0xc1, an extension type
 * not accepted. Otherwise it returns the header's size (at least 1) or, for an array or map with
 * children, a number at most HEAD_CONTAINER that spanOf() and childrenOf() take apart.
 */
// Plain numbers, not an enum: head() returns a size or one of these in the same number.
export const HEAD_SHORT = -1;
const HEAD_BAD = -2;
const HEAD_EXT = -3;
export const HEAD_CONTAINER = -16;

// A container's size (1, 3 or 5: below 8) and children packed into one negative number. The walks
// call head() once per value; a second result left in a field of the reader (or of any object)
// is stored and loaded again around every call, which V8 does not optimise away in these loops,
// while a returned number stays in a register (docs/PERFORMANCE.md, "The msgpack reader").
function container(span: number, children: number): number {
  return HEAD_CONTAINER - span - children * 8; // exact: children < 2^34
}

/** The size of the header head() returned `h` for (header and payload, not the children). */
export function spanOf(h: number): number {
  return h > 0 ? h : (HEAD_CONTAINER - h) % 8;
}

/** The children of the value head() returned `h` for (an array's items, a map's keys and values). */
export function childrenOf(h: number): number {
  if (h > 0) return 0;
  const x = HEAD_CONTAINER - h;
  return (x - (x % 8)) / 8;
}

/** What a value is, from its type byte alone (MsgpackReader.kind). */
export const enum MsgpackKind {
  /** 0xc1, never used; also "nothing there" (pos at end). */
  None = 0,
  Nil,
  False,
  True,
  /** fixints, int 8..64, uint 8..64. */
  Int,
  Float32,
  Float64,
  Str,
  Bin,
  Array,
  Map,
  Ext,
}

const KIND = new Uint8Array(256);
for (let b = 0x00; b <= 0x7f; b++) KIND[b] = MsgpackKind.Int;
for (let b = 0xe0; b <= 0xff; b++) KIND[b] = MsgpackKind.Int;
for (let b = 0x80; b <= 0x8f; b++) KIND[b] = MsgpackKind.Map;
for (let b = 0x90; b <= 0x9f; b++) KIND[b] = MsgpackKind.Array;
for (let b = 0xa0; b <= 0xbf; b++) KIND[b] = MsgpackKind.Str;
for (let b = 0xcc; b <= 0xd3; b++) KIND[b] = MsgpackKind.Int;
for (let b = 0xd4; b <= 0xd8; b++) KIND[b] = MsgpackKind.Ext;
for (const [b, kind] of [
  [0xc0, MsgpackKind.Nil],
  [0xc2, MsgpackKind.False],
  [0xc3, MsgpackKind.True],
  [0xc4, MsgpackKind.Bin],
  [0xc5, MsgpackKind.Bin],
  [0xc6, MsgpackKind.Bin],
  [0xc7, MsgpackKind.Ext],
  [0xc8, MsgpackKind.Ext],
  [0xc9, MsgpackKind.Ext],
  [0xca, MsgpackKind.Float32],
  [0xcb, MsgpackKind.Float64],
  [0xd9, MsgpackKind.Str],
  [0xda, MsgpackKind.Str],
  [0xdb, MsgpackKind.Str],
  [0xdc, MsgpackKind.Array],
  [0xdd, MsgpackKind.Array],
  [0xde, MsgpackKind.Map],
  [0xdf, MsgpackKind.Map],
] as const) {
  KIND[b] = kind;
}

// Total size of the values whose size the type byte alone gives (fixints, nil, booleans,
// numbers, fixext, fixstr); 0 for the others. A table: this runs once per value of a message.
const FIXED_SIZE = new Uint8Array(256);
for (let b = 0; b <= 0x7f; b++) FIXED_SIZE[b] = 1; // positive fixint
for (let b = 0xe0; b <= 0xff; b++) FIXED_SIZE[b] = 1; // negative fixint
for (let b = 0xa0; b <= 0xbf; b++) FIXED_SIZE[b] = 1 + (b & 0x1f); // fixstr
for (const [b, size] of [
  [0xc0, 1],
  [0xc2, 1],
  [0xc3, 1],
  [0xca, 5],
  [0xcb, 9],
  [0xcc, 2],
  [0xcd, 3],
  [0xce, 5],
  [0xcf, 9],
  [0xd0, 2],
  [0xd1, 3],
  [0xd2, 5],
  [0xd3, 9],
  [0xd4, 3],
  [0xd5, 4],
  [0xd6, 6],
  [0xd7, 10],
  [0xd8, 18],
] as const) {
  FIXED_SIZE[b] = size;
}

/**
 * Extension types let through: 0 is the forward protocol's EventTime, -1 (0xff) msgpack's
 * timestamp. msgpackr decodes others of its own into objects a record must not hold: 0x42 a
 * BigInt (JSON.stringify throws on it), 0x65 an Error, 0x73 a Set, 0x78 a RegExp built from
 * the sender's text, 0x69/0x70 shared references.
 */
const ACCEPTED_EXT = new Uint8Array(256);
ACCEPTED_EXT[0x00] = 1;
ACCEPTED_EXT[0xff] = 1;

/** Children still expected by each container open in checkedSkip, innermost last: one stack for
 *  every reader, since a checked skip runs to its end synchronously. */
const openChildren = new Float64Array(MAX_MSGPACK_DEPTH);

const float = new DataView(new ArrayBuffer(8));
const EMPTY = Buffer.alloc(0);

/** The big-endian uint32 at b[at] (for the data of an extension: an EventTime's seconds). */
export function readUint32(b: Uint8Array, at: number): number {
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

function readInt32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

/** The payload at b[at] of a number of type byte t (0xca..0xd3: float, uint, int). Apart from
 *  number() so that stays small enough to be inlined where a value is written. */
function numberAfter(b: Uint8Array, at: number, t: number): number {
  switch (t) {
    case 0xca:
      for (let k = 0; k < 4; k++) float.setUint8(k, b[at + k]!);
      return float.getFloat32(0);
    case 0xcb:
      for (let k = 0; k < 8; k++) float.setUint8(k, b[at + k]!);
      return float.getFloat64(0);
    case 0xcc:
      return b[at]!;
    case 0xcd:
      return (b[at]! << 8) | b[at + 1]!;
    case 0xce:
      return readUint32(b, at);
    case 0xcf:
      return readUint32(b, at) * 0x100000000 + readUint32(b, at + 4);
    case 0xd0:
      return (b[at]! << 24) >> 24;
    case 0xd1:
      return (((b[at]! << 8) | b[at + 1]!) << 16) >> 16;
    case 0xd2:
      return readInt32(b, at);
    default:
      return readInt32(b, at) * 0x100000000 + readUint32(b, at + 4); // 0xd3
  }
}

/** A big-endian length of 1, 2 or 4 bytes. */
function readLength(b: Uint8Array, at: number, bytes: number): number {
  return bytes === 1 ? b[at]! : bytes === 2 ? (b[at]! << 8) | b[at + 1]! : readUint32(b, at);
}

/** Why a value nested deeper than `maxDepth` is refused. */
export function nestedTooDeep(maxDepth: number): string {
  return `nested deeper than ${maxDepth} levels`;
}

export class MsgpackReader {
  // Initialised here, not only in the constructor: a field declared without a value starts as
  // undefined, and one that held undefined before its numbers is not kept as a small integer.
  /** The bytes read; nothing at or past `end` is. */
  buf: Uint8Array = EMPTY;
  /** Where the next read starts. */
  pos = 0;
  end = 0;
  /** What the last header a typed read (mapHeader, strHeader...) read counts: a map's entries,
   *  an array's items, a str's, bin's or extension's bytes. */
  count = 0;
  /** The type of the last extension extHeader() read, as its unsigned byte. */
  extType = 0;
  /** The number number() read. A double from the start (floats pass through it): a field that
   *  began as a small integer would change representation at the first float. */
  value = Number.NaN;
  /** Extension values the skips let through so far: compare two readings. */
  extensions = 0;
  /** Why the last checkedSkip() refused a value. */
  refusal = '';
  /** The type of the last extension head() refused. */
  private refusedExt = 0;

  constructor(buf: Uint8Array = EMPTY, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Reads buf[pos, end) from now on. */
  reset(buf: Uint8Array, pos: number, end: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** What the value at pos is, from its type byte; None when nothing is there. */
  kind(): MsgpackKind {
    return this.pos < this.end ? (KIND[this.buf[this.pos]!]! as MsgpackKind) : MsgpackKind.None;
  }

  /** What the value at `at` is (this.pos stays). */
  kindAt(at: number): MsgpackKind {
    return at < this.end ? (KIND[this.buf[at]!]! as MsgpackKind) : MsgpackKind.None;
  }

  /** A map header: its entries in count. */
  mapHeader(): boolean {
    const p = this.pos;
    if (p >= this.end) return false;
    const t = this.buf[p]!;
    if (t >= 0x80 && t <= 0x8f) return this.header(t & 0x0f, 1);
    return (t === 0xde || t === 0xdf) && this.lengthHeader(2 << (t - 0xde)); // map16, map32
  }

  /** An array header: its items in count. */
  arrayHeader(): boolean {
    const p = this.pos;
    if (p >= this.end) return false;
    const t = this.buf[p]!;
    if (t >= 0x90 && t <= 0x9f) return this.header(t & 0x0f, 1);
    return (t === 0xdc || t === 0xdd) && this.lengthHeader(2 << (t - 0xdc)); // array16, array32
  }

  /** A str header: its length in count (the bytes may run past end: the caller checks). */
  strHeader(): boolean {
    const p = this.pos;
    if (p >= this.end) return false;
    const t = this.buf[p]!;
    if (t >= 0xa0 && t <= 0xbf) return this.header(t & 0x1f, 1);
    return t >= 0xd9 && t <= 0xdb && this.lengthHeader(1 << (t - 0xd9)); // str8, str16, str32
  }

  /** A bin header: its length in count (the bytes may run past end: the caller checks). */
  binHeader(): boolean {
    const p = this.pos;
    if (p >= this.end) return false;
    const t = this.buf[p]!;
    return t >= 0xc4 && t <= 0xc6 && this.lengthHeader(1 << (t - 0xc4)); // bin8, bin16, bin32
  }

  /** A header whose count is in the `bytes` (1, 2 or 4) after its type byte. Apart from the
   *  readers above so that they stay small enough to be inlined where they are called. */
  private lengthHeader(bytes: number): boolean {
    const p = this.pos;
    if (p + 1 + bytes > this.end) return false;
    return this.header(readLength(this.buf, p + 1, bytes), 1 + bytes);
  }

  /**
   * An extension header (fixext 1..16, ext 8..32), its type byte included: the data's length in
   * count, its type in extType, pos at the data (which may run past end: the caller checks).
   */
  extHeader(): boolean {
    const p = this.pos;
    if (p >= this.end) return false;
    const b = this.buf,
      t = b[p]!;
    let length: number;
    let size: number;
    if (t >= 0xd4 && t <= 0xd8) {
      length = 1 << (t - 0xd4);
      size = 2;
    } else if (t === 0xc7) {
      length = b[p + 1]!;
      size = 3;
    } else if (t === 0xc8) {
      length = (b[p + 1]! << 8) | b[p + 2]!;
      size = 4;
    } else if (t === 0xc9) {
      length = readUint32(b, p + 1);
      size = 6;
    } else return false;
    if (p + size > this.end) return false;
    this.extType = b[p + size - 1]!;
    return this.header(length, size);
  }

  private header(count: number, size: number): true {
    this.count = count;
    this.pos += size;
    return true;
  }

  /**
   * A number: any int (64-bit ones as msgpackr's int64AsType 'number' gives them: rounded past
   * 2^53, one rounding of hi·2^32 + lo, which is exact before the addition) or float, in value.
   */
  number(): boolean {
    const p = this.pos;
    if (p >= this.end) return false;
    const b = this.buf,
      t = b[p]!;
    if (t <= 0x7f) {
      this.value = t;
      this.pos = p + 1;
      return true;
    }
    if (t >= 0xe0) {
      this.value = t - 0x100;
      this.pos = p + 1;
      return true;
    }
    if (t < 0xca || t > 0xd3) return false;
    const size = FIXED_SIZE[t]!;
    if (p + size > this.end) return false;
    this.value = numberAfter(b, p + 1, t);
    this.pos = p + size;
    return true;
  }

  /** True when the value at pos is a str of exactly `key`'s bytes, all before end; pos stays. */
  strEquals(key: Uint8Array): boolean {
    const at = this.pos;
    if (!this.strHeader()) return false;
    const from = this.pos,
      length = this.count;
    this.pos = at;
    if (length !== key.length || from + length > this.end) return false;
    const b = this.buf;
    for (let i = 0; i < length; i++) if (b[from + i] !== key[i]) return false;
    return true;
  }

  /**
   * Reads the header at `pos` (not this.pos, which stays), for the walks: every kind of value,
   * extensions checked (and counted in extensions when accepted). Returns its size, or a
   * container's size and children packed (spanOf, childrenOf), or a Head when it cannot.
   */
  head(pos: number): number {
    const b = this.buf;
    const t = b[pos]!;
    const fixed = FIXED_SIZE[t]!;
    if (fixed !== 0) {
      if (t >= 0xd4 && t <= 0xd8) {
        // fixext 1..16
        const status = this.checkExt(pos + 1);
        if (status < 0) return status;
      }
      return fixed;
    }
    if (t <= 0x9f) {
      // fixmap, fixarray
      const children = t <= 0x8f ? (t & 0x0f) * 2 : t & 0x0f;
      return children === 0 ? 1 : container(1, children);
    }
    // The rest carry a 1, 2 or 4 byte length: payload bytes (str, bin, ext) or children.
    let lengthBytes: number;
    let extra = 0; // ext: the type byte after the length
    let perChild = 0; // 0: a payload; 1: array items; 2: map entries
    switch (t) {
      case 0xc4:
      case 0xd9:
        lengthBytes = 1;
        break; // bin8, str8
      case 0xc5:
      case 0xda:
        lengthBytes = 2;
        break;
      case 0xc6:
      case 0xdb:
        lengthBytes = 4;
        break;
      case 0xc7:
        lengthBytes = 1;
        extra = 1;
        break; // ext8
      case 0xc8:
        lengthBytes = 2;
        extra = 1;
        break;
      case 0xc9:
        lengthBytes = 4;
        extra = 1;
        break;
      case 0xdc:
        lengthBytes = 2;
        perChild = 1;
        break; // array16
      case 0xdd:
        lengthBytes = 4;
        perChild = 1;
        break;
      case 0xde:
        lengthBytes = 2;
        perChild = 2;
        break; // map16
      case 0xdf:
        lengthBytes = 4;
        perChild = 2;
        break;
      default:
        return HEAD_BAD; // 0xc1, never used
    }
    if (pos + 1 + lengthBytes > this.end) return HEAD_SHORT;
    if (extra === 1) {
      const status = this.checkExt(pos + 1 + lengthBytes);
      if (status < 0) return status;
    }
    const n = readLength(b, pos + 1, lengthBytes);
    if (perChild === 0) return 1 + lengthBytes + extra + n;
    return n === 0 ? 1 + lengthBytes : container(1 + lengthBytes, n * perChild);
  }

  /** Checks the type byte of an extension at `at`: 0, or Short when it has not arrived, or Ext. */
  private checkExt(at: number): number {
    if (at >= this.end) return HEAD_SHORT;
    const type = this.buf[at]!;
    if (ACCEPTED_EXT[type] === 1) {
      this.extensions++;
      return 0;
    }
    this.refusedExt = type;
    return HEAD_EXT;
  }

  /** Why head() refused a header (it returned HEAD_BAD or HEAD_EXT). */
  headRefusal(status: number): string {
    if (status === HEAD_BAD) return 'byte 0xc1 is not msgpack';
    const type = this.refusedExt > 127 ? this.refusedExt - 256 : this.refusedExt;
    return `msgpack extension type ${type} is not accepted`;
  }

  /**
   * Past the header at pos with its payload (a str's bytes, an extension's data) but not its
   * children (an array's items follow it). For walking the values of something already framed
   * one after the other, in order.
   */
  skipHeader(): boolean {
    const pos = this.pos;
    if (pos >= this.end) return false;
    const h = this.head(pos);
    if (h < 0 && h > HEAD_CONTAINER) return false;
    const next = pos + spanOf(h);
    if (next > this.end) return false;
    this.pos = next;
    return true;
  }

  /**
   * Past the whole value at pos; false when it is not all there or not msgpack the reader
   * accepts. For values already framed (a worker skipping a map's keys and values): no depth
   * limit.
   */
  skip(): boolean {
    const end = this.end;
    let pos = this.pos;
    let pending = 1;
    while (pending > 0) {
      if (pos >= end) return false;
      const h = this.head(pos);
      if (h > 0) {
        pos += h;
        pending--;
      } else {
        if (h > HEAD_CONTAINER) return false;
        pos += spanOf(h);
        pending += childrenOf(h) - 1;
      }
      if (pos > end) return false;
    }
    this.pos = pos;
    return true;
  }

  /**
   * Past the whole value at pos, with the checks FrameScanner makes of a frame (nesting deeper
   * than MAX_MSGPACK_DEPTH, 0xc1, an extension type not accepted); false when it is not all there
   * (or claims more than that holds: refusal is '') or refused (refusal says why). Not resumable:
   * for the entries of a payload already received whole (forward-entries.ts).
   */
  checkedSkip(): boolean {
    const end = this.end;
    let pos = this.pos;
    let depth = 0;
    this.refusal = '';
    for (;;) {
      if (pos >= end) return false;
      const h = this.head(pos);
      if (h < 0 && h > HEAD_CONTAINER) {
        if (h !== HEAD_SHORT) this.refusal = this.headRefusal(h);
        return false;
      }
      pos += spanOf(h);
      const children = childrenOf(h);
      // Every child takes at least one byte: a count that cannot fit is refused from its header.
      if (pos + children > end) return false;
      if (children > 0) {
        if (depth >= MAX_MSGPACK_DEPTH) {
          this.refusal = nestedTooDeep(MAX_MSGPACK_DEPTH);
          return false;
        }
        openChildren[depth++] = children;
        continue;
      }
      // A whole value ends at `pos`: close every container it completes.
      while (depth > 0 && --openChildren[depth - 1]! === 0) depth--;
      if (depth === 0) {
        this.pos = pos;
        return true;
      }
    }
  }
}
