// msgpack values written as JSON straight from their bytes, for the forward input's entries
// (json-direct.ts): no object per record, no JSON.stringify. The output is what msgpackr +
// JSON.stringify write for the same value, with the two choices json-scan makes for JSON lines
// (see its header): a map keeps its keys in the sender's order, duplicates and integer-like
// keys included (an object would merge or reorder them), as Fluent Bit does.
//
// What has no JSON of its own, or whose JSON depends on msgpackr's options, is refused (-1) and
// the caller decodes the entry instead: bin (a Buffer), extensions, float32 (msgpackr rounds it
// when its useFloat32 option asks), a map key that is not a string, a string that is not strict UTF-8 (msgpackr would put
// U+FFFD in it), and anything truncated or not msgpack (0xc1).
import type { Output } from '../codec/output.js';
import { MAX_MSGPACK_DEPTH } from '../codec/msgpack-frame.js';

function readUint32(b: Uint8Array, at: number): number {
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

// What the header readers below read: module-level, so the hot path allocates nothing.
let headCount = 0;
let headSize = 0;

/** A map header at b[p]: false when it is not one; else its entry count and size in headCount/headSize. */
export function mapHeader(b: Uint8Array, p: number, end: number): boolean {
  const t = b[p];
  if (t === undefined) return false;
  if (t >= 0x80 && t <= 0x8f) { headCount = t & 0x0f; headSize = 1; return true; }
  if (t === 0xde && p + 3 <= end) { headCount = (b[p + 1]! << 8) | b[p + 2]!; headSize = 3; return true; }
  if (t === 0xdf && p + 5 <= end) { headCount = readUint32(b, p + 1); headSize = 5; return true; }
  return false;
}

/** The entry count (or length) of the last header mapHeader(), strHeader(), binHeader() or arrayHeader() read. */
export function headerCount(): number {
  return headCount;
}

/** The size in bytes of the last header read. */
export function headerSize(): number {
  return headSize;
}

/** A string header at b[p]: false when it is not one; else length and size in headCount/headSize. */
export function strHeader(b: Uint8Array, p: number, end: number): boolean {
  const t = b[p];
  if (t === undefined) return false;
  if (t >= 0xa0 && t <= 0xbf) { headCount = t & 0x1f; headSize = 1; return true; }
  if (t === 0xd9 && p + 2 <= end) { headCount = b[p + 1]!; headSize = 2; return true; }
  if (t === 0xda && p + 3 <= end) { headCount = (b[p + 1]! << 8) | b[p + 2]!; headSize = 3; return true; }
  if (t === 0xdb && p + 5 <= end) { headCount = readUint32(b, p + 1); headSize = 5; return true; }
  return false;
}

/** A bin header at b[p]: false when it is not one; else length and size in headCount/headSize. */
export function binHeader(b: Uint8Array, p: number, end: number): boolean {
  const t = b[p];
  if (t === 0xc4 && p + 2 <= end) { headCount = b[p + 1]!; headSize = 2; return true; }
  if (t === 0xc5 && p + 3 <= end) { headCount = (b[p + 1]! << 8) | b[p + 2]!; headSize = 3; return true; }
  if (t === 0xc6 && p + 5 <= end) { headCount = readUint32(b, p + 1); headSize = 5; return true; }
  return false;
}

/** An array header at b[p]: false when it is not one; else length and size in headCount/headSize. */
export function arrayHeader(b: Uint8Array, p: number, end: number): boolean {
  const t = b[p];
  if (t === undefined) return false;
  if (t >= 0x90 && t <= 0x9f) { headCount = t & 0x0f; headSize = 1; return true; }
  if (t === 0xdc && p + 3 <= end) { headCount = (b[p + 1]! << 8) | b[p + 2]!; headSize = 3; return true; }
  if (t === 0xdd && p + 5 <= end) { headCount = readUint32(b, p + 1); headSize = 5; return true; }
  return false;
}

/** True when the string at b[p] is exactly `key`'s bytes. */
export function isStringKey(b: Uint8Array, p: number, end: number, key: Uint8Array): boolean {
  if (!strHeader(b, p, end) || headCount !== key.length || p + headSize + headCount > end) return false;
  const from = p + headSize;
  for (let i = 0; i < key.length; i++) if (b[from + i] !== key[i]) return false;
  return true;
}

const HEX_DIGITS = '0123456789abcdef';
// The escape JSON.stringify writes for each byte below 0x20, '"' and '\'; 0 for none.
const SHORT_ESCAPE = new Uint8Array(128);
SHORT_ESCAPE[0x08] = 0x62; SHORT_ESCAPE[0x09] = 0x74; SHORT_ESCAPE[0x0a] = 0x6e; // \b \t \n
SHORT_ESCAPE[0x0c] = 0x66; SHORT_ESCAPE[0x0d] = 0x72; // \f \r
SHORT_ESCAPE[0x22] = 0x22; SHORT_ESCAPE[0x5c] = 0x5c;

/** Writes b[start, start + length) as a JSON string; false (nothing kept) if not strict UTF-8. */
function writeStringBytes(out: Output, b: Uint8Array, start: number, length: number): boolean {
  out.reserve(length * 6 + 2);
  const o = out.buffer;
  let q = out.length;
  o[q++] = 0x22;
  let i = start;
  const stop = start + length;
  while (i < stop) {
    const c = b[i]!;
    if (c >= 0x20 && c < 0x80 && c !== 0x22 && c !== 0x5c) {
      o[q++] = c;
      i++;
      continue;
    }
    if (c < 0x80) {
      o[q++] = 0x5c;
      const short = SHORT_ESCAPE[c]!;
      if (short !== 0) o[q++] = short;
      else {
        o[q++] = 0x75; o[q++] = 0x30; o[q++] = 0x30; // u00
        o[q++] = HEX_DIGITS.charCodeAt(c >> 4);
        o[q++] = HEX_DIGITS.charCodeAt(c & 0x0f);
      }
      i++;
      continue;
    }
    // Strict UTF-8: no overlong forms, no encoded surrogates, nothing past U+10FFFF.
    let n: number;
    let low = 0x80, high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      if (c === 0xe0) low = 0xa0;
      else if (c === 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      if (c === 0xf0) low = 0x90;
      else if (c === 0xf4) high = 0x8f;
    } else return false;
    if (i + n > stop) return false;
    const second = b[i + 1]!;
    if (second < low || second > high) return false;
    for (let k = 2; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return false;
    for (let k = 0; k < n; k++) o[q++] = b[i + k]!;
    i += n;
  }
  o[q++] = 0x22;
  out.length = q;
  return true;
}

/** Writes the string at b[p] as JSON; its end, or -1. */
export function writeString(out: Output, b: Uint8Array, p: number, end: number): number {
  if (!strHeader(b, p, end)) return -1;
  const from = p + headSize;
  const length = headCount;
  if (from + length > end) return -1;
  return writeStringBytes(out, b, from, length) ? from + length : -1;
}

/** A number as JSON.stringify writes it. */
function writeNumber(out: Output, value: number): void {
  if (Number.isSafeInteger(value)) out.integer(value);
  else out.ascii(Number.isFinite(value) ? String(value) : 'null');
}

/**
 * Writes the msgpack value at b[p] as JSON; where it ends, or -1 (see the top). Deeper than the
 * forward input lets in is -1 too: recursion here must never meet a stack limit.
 */
export function writeValue(out: Output, b: Uint8Array, p: number, end: number, depth = 1): number {
  if (p >= end || depth > MAX_MSGPACK_DEPTH) return -1;
  const t = b[p]!;
  if (t <= 0x7f) { writeNumber(out, t); return p + 1; }
  if (t >= 0xe0) { writeNumber(out, t - 0x100); return p + 1; }
  if (t <= 0x8f || t === 0xde || t === 0xdf) return writeMap(out, b, p, end, depth);
  if (t <= 0x9f || t === 0xdc || t === 0xdd) return writeArray(out, b, p, end, depth);
  if (t <= 0xbf || t === 0xd9 || t === 0xda || t === 0xdb) return writeString(out, b, p, end);
  switch (t) {
    case 0xc0: out.ascii('null'); return p + 1;
    case 0xc2: out.ascii('false'); return p + 1;
    case 0xc3: out.ascii('true'); return p + 1;
    case 0xcb: if (p + 9 > end) return -1; writeNumber(out, readFloat64(b, p + 1)); return p + 9;
    case 0xcc: if (p + 2 > end) return -1; writeNumber(out, b[p + 1]!); return p + 2;
    case 0xcd: if (p + 3 > end) return -1; writeNumber(out, (b[p + 1]! << 8) | b[p + 2]!); return p + 3;
    case 0xce: if (p + 5 > end) return -1; writeNumber(out, readUint32(b, p + 1)); return p + 5;
    // 64-bit integers as msgpackr's int64AsType 'number' gives them: rounded past 2^53 (one
    // rounding of hi·2^32 + lo, which is exact before the addition).
    case 0xcf: if (p + 9 > end) return -1;
      writeNumber(out, readUint32(b, p + 1) * 0x100000000 + readUint32(b, p + 5)); return p + 9;
    case 0xd0: if (p + 2 > end) return -1; writeNumber(out, (b[p + 1]! << 24) >> 24); return p + 2;
    case 0xd1: if (p + 3 > end) return -1; writeNumber(out, (((b[p + 1]! << 8) | b[p + 2]!) << 16) >> 16); return p + 3;
    case 0xd2: if (p + 5 > end) return -1; writeNumber(out, readInt32(b, p + 1)); return p + 5;
    case 0xd3: if (p + 9 > end) return -1;
      writeNumber(out, readInt32(b, p + 1) * 0x100000000 + readUint32(b, p + 5)); return p + 9;
    default: return -1; // bin, ext, float32, 0xc1
  }
}

function readInt32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

const float64 = new DataView(new ArrayBuffer(8));

function readFloat64(b: Uint8Array, at: number): number {
  for (let k = 0; k < 8; k++) float64.setUint8(k, b[at + k]!);
  return float64.getFloat64(0);
}

function writeArray(out: Output, b: Uint8Array, p: number, end: number, depth: number): number {
  if (!arrayHeader(b, p, end)) return -1;
  const count = headCount;
  p += headSize;
  out.byte(0x5b);
  for (let i = 0; i < count; i++) {
    if (i > 0) out.byte(0x2c);
    p = writeValue(out, b, p, end, depth + 1);
    if (p < 0) return -1;
  }
  out.byte(0x5d);
  return p;
}

function writeMap(out: Output, b: Uint8Array, p: number, end: number, depth: number): number {
  if (!mapHeader(b, p, end)) return -1;
  const count = headCount;
  out.byte(0x7b);
  const next = writeMapEntries(out, b, p + headSize, end, count, true, depth);
  if (next < 0) return -1;
  out.byte(0x7d);
  return next;
}

/** `count` key/value pairs of a map at `depth` from b[p], comma-separated (a comma first unless `first`). */
export function writeMapEntries(out: Output, b: Uint8Array, p: number, end: number, count: number, first: boolean,
  depth = 1): number {
  for (let i = 0; i < count; i++) {
    if (!first || i > 0) out.byte(0x2c);
    p = writeString(out, b, p, end);
    if (p < 0) return -1;
    out.byte(0x3a);
    p = writeValue(out, b, p, end, depth + 1);
    if (p < 0) return -1;
  }
  return p;
}
