// Fast paths for the sink: pull `seq` and `t` out of a message without building objects.
// A full decode (JSON.parse, msgpackr) costs the sink ~1.4 µs per record on the bench machine,
// a core's worth taken from the relay on a 2-core box; these scanners cost a fraction of that.
// The sink still runs the full decoders of decode.ts on a sample of messages (or on all of them
// with --decode full).
//   scanJson:    records cut at "\n" (or "}" when there is no newline), `seq` and `t` read
//                from each. Works for json, json_lines and json_stream alike.
//   scanMsgpack: a real (non-allocating) walk of the msgpack stream: each item must be
//                [time, map] or [[time, meta], map]; `seq` and `t` are read from the map.

/** seq is NaN when it is not a plain non-negative integer; t is NaN when absent. */
export type ScanSink = (seq: number, t: number) => void;

/** Where the last readDecimal stopped. */
let numberEnd = 0;

/** The JSON number at p (leading spaces skipped); NaN when there is none. Plain digits with an
 *  optional fraction are parsed inline; anything else (sign, exponent) goes through Number(). */
function readDecimal(b: Buffer, p: number): number {
  while (b[p] === 32) p++;
  const start = p;
  let v = 0;
  let c = b[p];
  while (c !== undefined && c >= 48 && c <= 57) {
    v = v * 10 + (c - 48);
    c = b[++p];
  }
  if (c === 46 /* . */) {
    let scale = 1;
    c = b[++p];
    while (c !== undefined && c >= 48 && c <= 57) {
      scale *= 10;
      v += (c - 48) / scale;
      c = b[++p];
    }
  }
  if (c === 101 || c === 69 || c === 45 || c === 43 /* e E - + */) {
    while (c !== undefined && ((c >= 48 && c <= 57) || c === 101 || c === 69 || c === 45 || c === 43 || c === 46))
      c = b[++p];
    numberEnd = p;
    return Number(b.toString('latin1', start, p));
  }
  numberEnd = p;
  return p === start ? NaN : v;
}

/** First `"<key>":` in b[from, to) (key given as char codes); -1 when absent. */
function findKey(b: Buffer, from: number, to: number, k: readonly number[]): number {
  const last = to - k.length - 3;
  for (let i = from; i <= last; i++) {
    if (b[i] !== 34 || b[i + 1] !== k[0]) continue;
    let j = 1;
    while (j < k.length && b[i + 1 + j] === k[j]) j++;
    if (j === k.length && b[i + 1 + j] === 34 && b[i + 2 + j] === 58) return i + 3 + j;
  }
  return -1;
}

const SEQ_KEY = [115, 101, 113]; // seq
const T_KEY = [116]; // t

/**
 * Returns the number of records found. The message is cut into records at "\n" (json_lines,
 * json_stream) or, when it has none, at "}" (json arrays, back-to-back objects; fine for the
 * generator's flat records) with Buffer.indexOf (memchr); each record is then searched from its
 * start for `"seq":`, `t` is expected right after seq (`"seq":N,"t":T`) or searched for.
 * Pieces without a `"seq":` key (empty lines, the closing "]") are skipped.
 */
export function scanJson(b: Buffer, onRecord: ScanSink): number {
  const sep = b.indexOf(10) >= 0 ? 10 : 125;
  let count = 0;
  for (let start = 0; start < b.length;) {
    let end = b.indexOf(sep, start);
    if (end < 0) end = b.length;
    const at = findKey(b, start, end + 1, SEQ_KEY);
    if (at >= 0) {
      const v = readDecimal(b, at);
      const q = numberEnd;
      let t = NaN;
      if (b[q] === 44 && b[q + 1] === 34 && b[q + 2] === 116 && b[q + 3] === 34 && b[q + 4] === 58) {
        t = readDecimal(b, q + 5);
      } else {
        const tp = findKey(b, start, end + 1, T_KEY);
        if (tp >= 0) t = readDecimal(b, tp);
      }
      onRecord(Number.isInteger(v) && v >= 0 ? v : NaN, t);
      count++;
    }
    start = end + 1;
  }
  return count;
}

class Truncated extends Error {}

/** Position after the msgpack value starting at p. */
function skip(b: Buffer, p: number): number {
  if (p >= b.length) throw new Truncated();
  const c = b[p];
  if (c <= 0x7f || c >= 0xe0) return p + 1;
  if (c <= 0x8f) return skipN(b, p + 1, (c & 0x0f) * 2);
  if (c <= 0x9f) return skipN(b, p + 1, c & 0x0f);
  if (c <= 0xbf) return p + 1 + (c & 0x1f);
  switch (c) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return p + 1;
    case 0xc4:
    case 0xd9:
      return p + 2 + b.readUInt8(p + 1);
    case 0xc5:
    case 0xda:
      return p + 3 + b.readUInt16BE(p + 1);
    case 0xc6:
    case 0xdb:
      return p + 5 + b.readUInt32BE(p + 1);
    case 0xc7:
      return p + 3 + b.readUInt8(p + 1);
    case 0xc8:
      return p + 4 + b.readUInt16BE(p + 1);
    case 0xc9:
      return p + 6 + b.readUInt32BE(p + 1);
    case 0xcc:
    case 0xd0:
      return p + 2;
    case 0xcd:
    case 0xd1:
      return p + 3;
    case 0xca:
    case 0xce:
    case 0xd2:
      return p + 5;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return p + 9;
    case 0xd4:
      return p + 3;
    case 0xd5:
      return p + 4;
    case 0xd6:
      return p + 6;
    case 0xd7:
      return p + 10;
    case 0xd8:
      return p + 18;
    case 0xdc:
      return skipN(b, p + 3, b.readUInt16BE(p + 1));
    case 0xdd:
      return skipN(b, p + 5, b.readUInt32BE(p + 1));
    case 0xde:
      return skipN(b, p + 3, b.readUInt16BE(p + 1) * 2);
    case 0xdf:
      return skipN(b, p + 5, b.readUInt32BE(p + 1) * 2);
    default:
      throw new Truncated(); // 0xc1: never used
  }
}

function skipN(b: Buffer, p: number, n: number): number {
  for (let i = 0; i < n; i++) p = skip(b, p);
  return p;
}

/** A msgpack number at p, or NaN. */
function readNumber(b: Buffer, p: number): number {
  const c = b[p];
  if (c <= 0x7f) return c;
  if (c >= 0xe0) return c - 256;
  switch (c) {
    case 0xcc:
      return b.readUInt8(p + 1);
    case 0xcd:
      return b.readUInt16BE(p + 1);
    case 0xce:
      return b.readUInt32BE(p + 1);
    case 0xcf:
      return Number(b.readBigUInt64BE(p + 1));
    case 0xd0:
      return b.readInt8(p + 1);
    case 0xd1:
      return b.readInt16BE(p + 1);
    case 0xd2:
      return b.readInt32BE(p + 1);
    case 0xd3:
      return Number(b.readBigInt64BE(p + 1));
    case 0xca:
      return b.readFloatBE(p + 1);
    case 0xcb:
      return b.readDoubleBE(p + 1);
    default:
      return NaN;
  }
}

function isTime(b: Buffer, p: number): boolean {
  const c = b[p];
  return (c === 0xd7 && b[p + 1] === 0) || !Number.isNaN(readNumber(b, p));
}

/** Returns the number of items that are not [time, map] / [[time, meta], map] (or truncated). */
export function scanMsgpack(b: Buffer, onRecord: ScanSink): number {
  let bad = 0;
  let p = 0;
  while (p < b.length) {
    try {
      if (b[p] !== 0x92) throw new Truncated();
      p++;
      if (b[p] === 0x92) {
        if (!isTime(b, p + 1)) throw new Truncated();
        p = skip(b, skip(b, p + 1));
      } else {
        if (!isTime(b, p)) throw new Truncated();
        p = skip(b, p);
      }
      const m = b[p];
      let entries: number;
      if (m >= 0x80 && m <= 0x8f) {
        entries = m & 0x0f;
        p += 1;
      } else if (m === 0xde) {
        entries = b.readUInt16BE(p + 1);
        p += 3;
      } else if (m === 0xdf) {
        entries = b.readUInt32BE(p + 1);
        p += 5;
      } else throw new Truncated();
      let seq = NaN;
      let t = NaN;
      for (let i = 0; i < entries; i++) {
        const k = b[p];
        if (k === 0xa3 && b[p + 1] === 0x73 && b[p + 2] === 0x65 && b[p + 3] === 0x71) {
          const v = readNumber(b, p + 4);
          seq = Number.isInteger(v) && v >= 0 ? v : NaN;
        } else if (k === 0xa1 && b[p + 1] === 0x74) {
          t = readNumber(b, p + 2);
        }
        p = skip(b, skip(b, p));
      }
      if (p > b.length) throw new Truncated();
      onRecord(seq, t);
    } catch {
      // A msgpack stream cannot be resynchronised: the rest of the message is lost.
      bad++;
      break;
    }
  }
  return bad;
}
