// The fast path of the msgpack output for chunks of JSON lines: every line is validated on its
// bytes (json-scan), then transcoded straight from JSON text to msgpack in one more pass — no
// object, no string per record. The bytes are the ones the object path (JSON.parse, then
// msgpack.ts) writes, value for value: the smallest int form for integers (int64 for safe
// integers past 32 bits), float64 for the rest, the smallest str/map/array headers. Two
// differences, both what Fluent Bit's own JSON→msgpack conversion does: keys keep the
// sender's order (JSON.parse moves integer-like keys first) and a duplicate key is kept (JSON.parse
// keeps the last); and a lone surrogate escape (\ud800 without its pair) becomes U+FFFD, since
// msgpack strings are UTF-8.
import type { ScanResult } from '../codec/json-scan.js';
import { MAX_DEPTH } from '../codec/json-scan.js';
import { DirectEncoder } from './direct.js';
import { ENTRY_HEADER_BYTES, packEntry, writeEntryHeader } from './msgpack.js';
import type { EventTime } from './types.js';
import type { TimedRecord } from '../chunk/record.js';

const TWO_32 = 4294967296;

// Per open container (depth 1 = the record): where its header byte is in the output, how many
// entries it has so far, whether it is a map. A line is synchronous, so one set serves all.
const containerAt = new Int32Array(MAX_DEPTH + 2);
const containerCount = new Int32Array(MAX_DEPTH + 2);
const containerIsMap = new Uint8Array(MAX_DEPTH + 2);

// Two results of the rare helpers (escaped strings, numbers that need a float parse).
const cursor = { i: 0, p: 0 };

const HEX = new Int8Array(256).fill(0);
for (let d = 0; d < 10; d++) HEX[0x30 + d] = d;
for (let d = 0; d < 6; d++) {
  HEX[0x61 + d] = 10 + d;
  HEX[0x41 + d] = 10 + d;
}

function hex4(b: Uint8Array, i: number): number {
  return (HEX[b[i]!]! << 12) | (HEX[b[i + 1]!]! << 8) | (HEX[b[i + 2]!]! << 4) | HEX[b[i + 3]!]!;
}

function strHeaderBytes(length: number): number {
  return length < 32 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

function writeStrHeader(o: Uint8Array, p: number, length: number): number {
  if (length < 32) o[p++] = 0xa0 | length;
  else if (length < 0x100) {
    o[p++] = 0xd9;
    o[p++] = length;
  } else if (length < 0x10000) {
    o[p++] = 0xda;
    o[p++] = length >>> 8;
    o[p++] = length & 0xff;
  } else {
    o[p++] = 0xdb;
    o[p++] = length >>> 24;
    o[p++] = (length >>> 16) & 0xff;
    o[p++] = (length >>> 8) & 0xff;
    o[p++] = length & 0xff;
  }
  return p;
}

/** Writes the code point as UTF-8 at o[p]; returns the index past it. */
function writeUtf8(o: Uint8Array, p: number, cp: number): number {
  if (cp < 0x80) o[p++] = cp;
  else if (cp < 0x800) {
    o[p++] = 0xc0 | (cp >> 6);
    o[p++] = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    o[p++] = 0xe0 | (cp >> 12);
    o[p++] = 0x80 | ((cp >> 6) & 0x3f);
    o[p++] = 0x80 | (cp & 0x3f);
  } else {
    o[p++] = 0xf0 | (cp >> 18);
    o[p++] = 0x80 | ((cp >> 12) & 0x3f);
    o[p++] = 0x80 | ((cp >> 6) & 0x3f);
    o[p++] = 0x80 | (cp & 0x3f);
  }
  return p;
}

/**
 * A string with escapes, from b[i] (just past its opening quote): decoded after room for the
 * largest header, then moved back against the header its length needs. Sets cursor.i past the
 * closing quote and cursor.p past the string.
 */
function escapedString(b: Uint8Array, i: number, o: Buffer, p: number): void {
  const headerAt = p;
  p += 5;
  for (;;) {
    const c = b[i]!;
    if (c === 0x22) break;
    if (c !== 0x5c) {
      o[p++] = c;
      i++;
      continue;
    }
    const e = b[i + 1]!;
    i += 2;
    if (e !== 0x75) {
      o[p++] = e === 0x62 ? 8 : e === 0x66 ? 12 : e === 0x6e ? 10 : e === 0x72 ? 13 : e === 0x74 ? 9 : e; // \" \\ \/ as is
      continue;
    }
    let cp = hex4(b, i);
    i += 4;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const low = cp <= 0xdbff && b[i] === 0x5c && b[i + 1] === 0x75 ? hex4(b, i + 2) : 0;
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i += 6;
      } else cp = 0xfffd; // a lone surrogate has no UTF-8 form
    }
    p = writeUtf8(o, p, cp);
  }
  const length = p - headerAt - 5;
  const header = strHeaderBytes(length);
  if (header < 5) o.copyWithin(headerAt + header, headerAt + 5, p);
  writeStrHeader(o, headerAt, length);
  cursor.i = i + 1;
  cursor.p = headerAt + header + length;
}

/** A number as msgpackr writes the double JSON.parse makes of it; returns the index past it. */
function writeNumber(o: Buffer, p: number, v: number): number {
  if (!Number.isInteger(v)) {
    o[p] = 0xcb;
    o.writeDoubleBE(v, p + 1);
    return p + 9;
  }
  if (v >= 0) {
    if (v < 0x80) {
      o[p] = v;
      return p + 1;
    }
    if (v < 0x100) {
      o[p] = 0xcc;
      o[p + 1] = v;
      return p + 2;
    }
    if (v < 0x10000) {
      o[p] = 0xcd;
      o[p + 1] = v >>> 8;
      o[p + 2] = v & 0xff;
      return p + 3;
    }
    if (v < TWO_32) {
      o[p] = 0xce;
      o.writeUInt32BE(v, p + 1);
      return p + 5;
    }
  } else {
    if (v >= -32) {
      o[p] = v & 0xff;
      return p + 1;
    }
    if (v >= -0x80) {
      o[p] = 0xd0;
      o[p + 1] = v & 0xff;
      return p + 2;
    }
    if (v >= -0x8000) {
      o[p] = 0xd1;
      o[p + 1] = (v >> 8) & 0xff;
      o[p + 2] = v & 0xff;
      return p + 3;
    }
    if (v >= -0x80000000) {
      o[p] = 0xd2;
      o.writeInt32BE(v, p + 1);
      return p + 5;
    }
  }
  // Past 32 bits: int64 for a safe integer (msgpack.ts widens those), float64 beyond.
  if (!Number.isSafeInteger(v)) {
    o[p] = 0xcb;
    o.writeDoubleBE(v, p + 1);
    return p + 9;
  }
  const high = Math.floor(v / TWO_32);
  o[p] = 0xd3;
  o.writeInt32BE(high, p + 1);
  o.writeUInt32BE(v - high * TWO_32, p + 5);
  return p + 9;
}

// Powers of ten a double holds exactly: a decimal whose digits fit 2^53, scaled by one of
// these, is rounded once by the division or multiplication, so the result is the correctly
// rounded double JSON.parse makes (Clinger's fast path).
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** A number from b[i]; sets cursor.i past it and cursor.p past what was written. */
function number(b: Buffer, i: number, o: Buffer, p: number): void {
  const start = i;
  const negative = b[i] === 0x2d;
  if (negative) i++;
  let mantissa = 0;
  let digits = 0;
  let scale = 0; // the power of ten the mantissa is multiplied by
  let c = b[i]!;
  while (c >= 0x30 && c <= 0x39) {
    mantissa = mantissa * 10 + (c - 0x30);
    digits++;
    c = b[++i]!;
  }
  if (c === 0x2e) {
    c = b[++i]!;
    while (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
      scale--;
      c = b[++i]!;
    }
  }
  if (c === 0x65 || c === 0x45) {
    c = b[++i]!;
    const negativeExponent = c === 0x2d;
    if (c === 0x2d || c === 0x2b) c = b[++i]!;
    let exponent = 0;
    while (c >= 0x30 && c <= 0x39) {
      if (exponent < 100_000) exponent = exponent * 10 + (c - 0x30);
      c = b[++i]!;
    }
    scale += negativeExponent ? -exponent : exponent;
  }
  let value: number;
  // Every partial sum stays below 2^53 when the mantissa does, so it is exact; leading zeros
  // count as digits here, which only sends a few more numbers the slow way.
  if (mantissa <= Number.MAX_SAFE_INTEGER && scale >= -22 && scale <= 22 && (digits <= 15 || scale === 0)) {
    value =
      scale === 0
        ? mantissa
        : scale < 0
          ? mantissa / EXACT_POWERS_OF_TEN[-scale]!
          : mantissa * EXACT_POWERS_OF_TEN[scale]!;
    if (negative) value = -value;
  } else value = Number(b.toString('latin1', start, i));
  cursor.i = i;
  cursor.p = writeNumber(o, p, value);
}

/**
 * Closes the container whose header byte is at o[at]: fixmap/fixarray when it has at most 15
 * entries, else map16/32 or array16/32 with the contents moved up to make room.
 */
function close(o: Buffer, at: number, p: number, count: number, isMap: number): number {
  if (count < 16) {
    o[at] = (isMap ? 0x80 : 0x90) | count;
    return p;
  }
  const extra = count < 0x10000 ? 2 : 4;
  o.copyWithin(at + 1 + extra, at + 1, p);
  if (extra === 2) {
    o[at] = isMap ? 0xde : 0xdc;
    o[at + 1] = count >>> 8;
    o[at + 2] = count & 0xff;
  } else {
    o[at] = isMap ? 0xdf : 0xdd;
    o.writeUInt32BE(count, at + 1);
  }
  return p + extra;
}

/**
 * Transcodes the JSON object at b[i..end), already validated by json-scan, into msgpack at o[p];
 * returns the index past it. o must have room for 3 bytes per input byte (the worst case is a
 * one-digit fraction: `0.5,` → float64, 4 bytes → 9) plus a container header's growth.
 */
export function transcodeObject(b: Buffer, i: number, end: number, o: Buffer, p: number): number {
  const at = containerAt,
    count = containerCount,
    isMap = containerIsMap;
  let depth = 0;
  let expectKey = false;
  while (i < end) {
    const c = b[i]!;
    if (c === 0x22) {
      // a string: a key, or a value
      if (expectKey) {
        count[depth]!++;
        expectKey = false;
      } else if (!isMap[depth]) count[depth]!++;
      const s = i + 1;
      let j = s;
      let q = b[j]!;
      while (q !== 0x22 && q !== 0x5c) q = b[++j]!;
      if (q === 0x5c) {
        escapedString(b, s, o, p);
        i = cursor.i;
        p = cursor.p;
        continue;
      }
      const length = j - s;
      p = writeStrHeader(o, p, length);
      if (length < 64) for (let k = s; k < j; k++) o[p++] = b[k]!;
      else {
        b.copy(o, p, s, j);
        p += length;
      }
      i = j + 1;
      continue;
    }
    switch (c) {
      case 0x2c:
        expectKey = isMap[depth] === 1;
        i++;
        continue; // ,
      case 0x3a:
      case 0x20:
      case 0x09:
      case 0x0a:
      case 0x0d:
        i++;
        continue; // : and whitespace
      case 0x7b:
      case 0x5b: // { [
        if (depth > 0 && !isMap[depth]) count[depth]!++;
        depth++;
        at[depth] = p;
        count[depth] = 0;
        isMap[depth] = c === 0x7b ? 1 : 0;
        expectKey = c === 0x7b;
        o[p++] = 0;
        i++;
        continue;
      case 0x7d:
      case 0x5d: // } ]
        p = close(o, at[depth]!, p, count[depth]!, isMap[depth]!);
        i++;
        if (--depth === 0) return p;
        continue;
    }
    // A value in an array counts as an entry; in a map its key was counted.
    if (!isMap[depth]) count[depth]!++;
    if (c === 0x74) {
      o[p++] = 0xc3;
      i += 4;
    } // true
    else if (c === 0x66) {
      o[p++] = 0xc2;
      i += 5;
    } // false
    else if (c === 0x6e) {
      o[p++] = 0xc0;
      i += 4;
    } // null
    else {
      number(b, i, o, p);
      i = cursor.i;
      p = cursor.p;
    }
  }
  return p;
}

export class DirectMsgpackEncoder extends DirectEncoder {
  private readonly entryHeader = new Uint8Array(ENTRY_HEADER_BYTES);

  constructor() {
    super(null);
  }

  protected beginSegment(time: EventTime): void {
    writeEntryHeader(this.entryHeader, 0, time.sec, time.nsec);
  }

  protected writeLine(bytes: Buffer, start: number, end: number, _scan: ScanResult): void {
    const out = this.out;
    out.reserve(ENTRY_HEADER_BYTES + 3 * (end - start) + 16);
    const o = out.buffer;
    let p = out.length;
    const header = this.entryHeader;
    for (let k = 0; k < ENTRY_HEADER_BYTES; k++) o[p++] = header[k]!;
    // Leading whitespace (json-scan allows it) is skipped by the transcoder.
    out.length = transcodeObject(bytes, start, end, o, p);
  }

  protected writeRecord(record: TimedRecord): void {
    const entry = packEntry(record);
    this.out.bytes(entry, 0, entry.length);
  }
}
