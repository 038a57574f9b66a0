// msgpack values written as JSON straight from their bytes, for the forward input's entries
// (json-direct.ts): no object per record, no JSON.stringify. The output is what msgpackr +
// JSON.stringify write for the same value, with the two choices json-scan makes for JSON lines
// (see its header): a map keeps its keys in the sender's order, duplicates and integer-like
// keys included (an object would merge or reorder them), as Fluent Bit does.
//
// What has no JSON of its own, or whose JSON depends on msgpackr's options, is refused (false)
// and the caller decodes the entry instead: bin (a Buffer), extensions, float32 (msgpackr rounds it
// when its useFloat32 option asks), a map key that is not a string, a string that is not strict UTF-8 (msgpackr would put
// U+FFFD in it), and anything truncated or not msgpack (0xc1). The bytes are read by a
// MsgpackReader (codec/msgpack-reader.ts); what is here only writes. After a refusal the
// reader's position is wherever the refusal was met: the caller goes back to the value's start.
import type { Output } from '../codec/output.js';
import { MAX_MSGPACK_DEPTH, MsgpackKind, type MsgpackReader } from '../codec/msgpack-reader.js';

const HEX_DIGITS = '0123456789abcdef';
// The escape JSON.stringify writes for each byte below 0x20, '"' and '\'; 0 for none.
const SHORT_ESCAPE = new Uint8Array(128);
SHORT_ESCAPE[0x08] = 0x62;
SHORT_ESCAPE[0x09] = 0x74;
SHORT_ESCAPE[0x0a] = 0x6e; // \b \t \n
SHORT_ESCAPE[0x0c] = 0x66;
SHORT_ESCAPE[0x0d] = 0x72; // \f \r
SHORT_ESCAPE[0x22] = 0x22;
SHORT_ESCAPE[0x5c] = 0x5c;

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
        o[q++] = 0x75;
        o[q++] = 0x30;
        o[q++] = 0x30; // u00
        o[q++] = HEX_DIGITS.charCodeAt(c >> 4);
        o[q++] = HEX_DIGITS.charCodeAt(c & 0x0f);
      }
      i++;
      continue;
    }
    // Strict UTF-8: no overlong forms, no encoded surrogates, nothing past U+10FFFF.
    let n: number;
    let low = 0x80,
      high = 0xbf;
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

/** Writes the str at the reader's position as JSON, and moves past it. */
export function writeString(out: Output, r: MsgpackReader): boolean {
  if (!r.strHeader()) return false;
  const from = r.pos;
  const length = r.count;
  if (from + length > r.end || !writeStringBytes(out, r.buf, from, length)) return false;
  r.pos = from + length;
  return true;
}

/** A number as JSON.stringify writes it. */
function writeNumber(out: Output, value: number): void {
  if (Number.isSafeInteger(value)) out.integer(value);
  else out.ascii(Number.isFinite(value) ? String(value) : 'null');
}

/**
 * Writes the msgpack value at the reader's position as JSON, and moves past it; false when it
 * cannot (see the top). Deeper than the forward input lets in is refused too: recursion here
 * must never meet a stack limit.
 */
export function writeValue(out: Output, r: MsgpackReader, depth = 1): boolean {
  if (depth > MAX_MSGPACK_DEPTH) return false;
  switch (r.kind()) {
    case MsgpackKind.Int:
    case MsgpackKind.Float64:
      if (!r.number()) return false;
      writeNumber(out, r.value);
      return true;
    case MsgpackKind.Str:
      return writeString(out, r);
    case MsgpackKind.Map:
      return writeMap(out, r, depth);
    case MsgpackKind.Array:
      return writeArray(out, r, depth);
    case MsgpackKind.Nil:
      out.ascii('null');
      r.pos++;
      return true;
    case MsgpackKind.False:
      out.ascii('false');
      r.pos++;
      return true;
    case MsgpackKind.True:
      out.ascii('true');
      r.pos++;
      return true;
    default:
      return false; // bin, ext, float32, 0xc1, nothing
  }
}

function writeArray(out: Output, r: MsgpackReader, depth: number): boolean {
  if (!r.arrayHeader()) return false;
  const count = r.count;
  out.byte(0x5b);
  for (let i = 0; i < count; i++) {
    if (i > 0) out.byte(0x2c);
    if (!writeValue(out, r, depth + 1)) return false;
  }
  out.byte(0x5d);
  return true;
}

function writeMap(out: Output, r: MsgpackReader, depth: number): boolean {
  if (!r.mapHeader()) return false;
  out.byte(0x7b);
  if (!writeMapEntries(out, r, r.count, true, depth)) return false;
  out.byte(0x7d);
  return true;
}

/** `count` key/value pairs of a map at `depth` from the reader's position, comma-separated (a comma first unless `first`). */
export function writeMapEntries(out: Output, r: MsgpackReader, count: number, first: boolean, depth = 1): boolean {
  for (let i = 0; i < count; i++) {
    if (!first || i > 0) out.byte(0x2c);
    if (!writeString(out, r)) return false;
    out.byte(0x3a);
    if (!writeValue(out, r, depth + 1)) return false;
  }
  return true;
}
