// Validates one JSON line straight from the chunk's bytes, without building objects or strings,
// and tells whether the bytes are already what JSON.stringify(JSON.parse(line)) writes, so a
// worker can forward them as they are. One pass of bytes[i] reads with 256-entry class tables;
// containers live in a fixed 512-byte stack: bounded work, no recursion, no allocation per call.
//
// Valid is exactly what JSON.parse takes when the value is an object, on strict UTF-8 (no
// overlongs, no encoded surrogates, nothing past U+10FFFF, no truncated sequence), except that
// nesting deeper than MAX_DEPTH is Invalid on purpose: bounded work; no log record needs it.
//
// Canonical means stringify writes the same bytes, but for three choices made on purpose:
// - duplicate and integer-like keys keep the sender's order (stringify merges or reorders
//   them), as Fluent Bit does;
// - integers of ANY length are canonical: past 15 digits JSON.parse rounds them, so the
//   sender's digits are the better record (stringify would write 12345678901234567890 as
//   12345678901234567000, and 1e21 and up as 1e+21);
// - a fraction or an exponent is never canonical, even when it would round-trip (1.5): telling
//   needs a float parse, and falling back to stringify is only slower, never wrong.
// Strings may use only what stringify writes: \" \\ \b \f \n \r \t; \u00xx in lowercase for
// the other controls below 0x20; \udxxx in lowercase for a lone surrogate (well-formed
// stringify escapes those); everything else raw, DEL and U+2028/U+2029 included.
//
// The scan costs a fraction of JSON.parse of the same line (docs/PERFORMANCE.md, "Figures
// behind the code"). Tables and the stack are read through locals: module-level bindings are
// slower to reach in the hot loop.

export const enum ScanVerdict {
  Invalid = 0,
  Canonical = 1,
  Valid = 2,
}
export interface ScanResult {
  verdict: ScanVerdict;
  hasKey: boolean;
}

/** Deepest nesting accepted: the top-level object counts as 1. */
export const MAX_DEPTH = 512;

// Bytes inside a string. PLAIN is printable ASCII and DEL, the bulk of every line; LEAD2..4
// start a UTF-8 sequence of that length; BAD is a raw control, a stray continuation byte, or a
// lead byte that can only start an overlong (C0, C1) or something past U+10FFFF (F5..FF).
const PLAIN = 0,
  QUOTE = 1,
  BACKSLASH = 2,
  BAD = 3,
  LEAD2 = 4,
  LEAD3 = 5,
  LEAD4 = 6;
const STR = new Uint8Array(256).fill(BAD);
STR.fill(PLAIN, 0x20, 0x80).fill(LEAD2, 0xc2, 0xe0).fill(LEAD3, 0xe0, 0xf0).fill(LEAD4, 0xf0, 0xf5);
STR[0x22] = QUOTE;
STR[0x5c] = BACKSLASH;

// Hex digit values; 16 marks uppercase (stringify writes lowercase), -1 not a hex digit.
const HEX = new Int8Array(256).fill(-1);
for (let d = 0; d < 10; d++) HEX[0x30 + d] = d;
for (let d = 0; d < 6; d++) {
  HEX[0x61 + d] = 10 + d;
  HEX[0x41 + d] = 26 + d;
}

// Where the scan is between tokens. The states that take a string come first (keys, then
// values), so one comparison tells.
const OBJ_FIRST = 0,
  OBJ_KEY = 1,
  VALUE = 2,
  ARR_FIRST = 3,
  COLON = 4,
  AFTER = 5,
  DONE = 6;
const OBJECT = 1,
  ARRAY = 0;
const stack = new Uint8Array(MAX_DEPTH + 1); // stack[d] is the container at depth d (1-based)

// The helpers return the index where they stopped, -1 when the text is invalid, or -2 - index
// when it is valid but not canonical: a pair would allocate, a module-level flag is slower to
// reach (see the top), and index * 2 + flag would need a floating-point modulo.

/** The rest of a string from b[i], a byte that is not PLAIN: the index past the closing quote. */
function scanStringTail(b: Uint8Array, i: number, end: number): number {
  const str = STR;
  let canonical = true;
  for (;;) {
    while (i < end && str[b[i]!] === PLAIN) i++;
    if (i >= end) return -1;
    const c = b[i]!;
    const kind = str[c]!;
    if (kind === QUOTE) return canonical ? i + 1 : -3 - i;
    if (kind === BACKSLASH) {
      const e = i + 1 < end ? b[i + 1]! : -1;
      if (e === 0x75) {
        // \uXXXX
        const u = hex4(b, i + 2, end);
        if (u < 0) return -1;
        if (canonical) canonical = isCanonicalEscape(b, i, end, u);
        i += 6;
      } else if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2;
      } else if (e === 0x2f) {
        // \/ is valid; stringify writes a bare /
        canonical = false;
        i += 2;
      } else return -1;
    } else if (kind === BAD) return -1;
    else {
      // a UTF-8 sequence of 2 to 4 bytes
      const n = kind - 2;
      if (i + n > end) return -1;
      // The second byte's range rules out overlongs (E0, F0), surrogates (ED), past U+10FFFF (F4).
      const c1 = b[i + 1]!;
      if (c1 < (c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80) || c1 > (c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf))
        return -1;
      if ((n > 2 && (b[i + 2]! & 0xc0) !== 0x80) || (n > 3 && (b[i + 3]! & 0xc0) !== 0x80)) return -1;
      i += n;
    }
  }
}

/** The four hex digits at b[i..i+3] as a code unit, +0x10000 if any is uppercase; -1 if not hex. */
function hex4(b: Uint8Array, i: number, end: number): number {
  if (i + 3 >= end) return -1;
  const h0 = HEX[b[i]!]!,
    h1 = HEX[b[i + 1]!]!,
    h2 = HEX[b[i + 2]!]!,
    h3 = HEX[b[i + 3]!]!;
  if ((h0 | h1 | h2 | h3) < 0) return -1;
  return ((h0 | h1 | h2 | h3) & 16 ? 0x10000 : 0) | ((h0 & 15) << 12) | ((h1 & 15) << 8) | ((h2 & 15) << 4) | (h3 & 15);
}

/** Whether stringify writes this \u escape (at b[i]) itself: a lowercase one for a control it
 * has no short form for, or for a lone surrogate (a pair it writes as raw UTF-8). */
function isCanonicalEscape(b: Uint8Array, i: number, end: number, u: number): boolean {
  if (u < 0x20) return u !== 0x08 && u !== 0x09 && u !== 0x0a && u !== 0x0c && u !== 0x0d;
  if (u >= 0xdc00 && u <= 0xdfff) return true; // after a high escape the pair was already refused
  if (u < 0xd800 || u > 0xdbff) return false;
  if (i + 7 >= end || b[i + 6] !== 0x5c || b[i + 7] !== 0x75) return true;
  const next = hex4(b, i + 8, end) & 0xffff;
  return next < 0xdc00 || next > 0xdfff;
}

/** A number from b[i], '-' or a digit: the index past it. */
function scanNumber(b: Uint8Array, i: number, end: number): number {
  let c = b[i]!;
  let negativeZero = false;
  if (c === 0x2d) {
    if (++i >= end) return -1;
    c = b[i]!;
    negativeZero = c === 0x30; // -0 alone; -0.5 is cleared below
  }
  let digits = 0; // significant digits
  if (c === 0x30) i++;
  else if (c >= 0x31 && c <= 0x39) {
    digits = 1;
    while (++i < end && (c = b[i]!) >= 0x30 && c <= 0x39) digits++;
  } else return -1;
  let canonical = true;
  if (i < end && b[i] === 0x2e) {
    // a fraction: at least one digit
    negativeZero = false;
    if (++i >= end || (c = b[i]!) < 0x30 || c > 0x39) return -1;
    let leadingZeros = 0;
    let last = 0;
    for (; i < end && (c = b[i]!) >= 0x30 && c <= 0x39; i++) {
      if (digits > 0) digits++;
      else if (c === 0x30) leadingZeros++;
      else digits = 1;
      last = c;
    }
    // JavaScript prints a double with the fewest digits that read back as the same double, in
    // fixed notation from 1e-7 to 1e21. A decimal of at most 15 significant digits is the only
    // one of that length for its double, so it is printed as written — unless it ends in 0
    // (1.50 → 1.5), or is so small that it is printed with an exponent (0.0000001 → 1e-7).
    if (last === 0x30 || digits > 15 || leadingZeros > 5) canonical = false;
  }
  if (i < end && (b[i]! | 0x20) === 0x65) {
    // an exponent: a sign or not, at least one digit
    canonical = false;
    if (++i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    if (i >= end || (c = b[i]!) < 0x30 || c > 0x39) return -1;
    while (++i < end && (c = b[i]!) >= 0x30 && c <= 0x39);
  }
  return canonical && !negativeZero ? i : -2 - i;
}

/** Whether the string from b[s] to its closing quote at b[e], escapes decoded, equals key. A
 * lone surrogate decodes to WTF-8 (ED A0..BF ..), so it never equals well-formed UTF-8. */
function keyEquals(b: Uint8Array, s: number, e: number, key: Uint8Array): boolean {
  let j = 0;
  while (s < e) {
    let c = b[s]!;
    if (c !== 0x5c) {
      // raw bytes, UTF-8 included, compare as they are
      if (key[j++] !== c) return false;
      s++;
      continue;
    }
    c = b[s + 1]!;
    s += 2;
    if (c === 0x75) {
      c = hex4(b, s, e) & 0xffff;
      s += 4;
      const lo = c >= 0xd800 && c <= 0xdbff && b[s] === 0x5c && b[s + 1] === 0x75 ? hex4(b, s + 2, e) & 0xffff : 0;
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        s += 6;
      }
    } else c = c === 0x62 ? 8 : c === 0x66 ? 12 : c === 0x6e ? 10 : c === 0x72 ? 13 : c === 0x74 ? 9 : c;
    if (c < 0x80) {
      if (key[j++] !== c) return false;
      continue;
    }
    const n = c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; // the code point's UTF-8 bytes
    if (key[j++] !== (n === 2 ? 0xc0 | (c >> 6) : n === 3 ? 0xe0 | (c >> 12) : 0xf0 | (c >> 18))) return false;
    for (let shift = (n - 2) * 6; shift >= 0; shift -= 6) if (key[j++] !== (0x80 | ((c >> shift) & 0x3f))) return false;
  }
  return j === key.length;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** true/false/null at b[i]: the bytes after the first must follow (x4 < 0 for a 4-letter word). */
function literal(b: Uint8Array, i: number, end: number, x1: number, x2: number, x3: number, x4: number): number {
  const n = x4 < 0 ? 4 : 5;
  const ok = i + n <= end && b[i + 1] === x1 && b[i + 2] === x2 && b[i + 3] === x3 && (n === 4 || b[i + 4] === x4);
  return ok ? i + n : -1;
}

/** Scans bytes[start,end) (one line, no trailing newline/CR) with a reusable result object.
 * hasKey: the top-level object has a key equal to `key` once its escapes are decoded (nested
 * keys don't count); always false for an Invalid line or a null key. Not reentrant (one shared
 * stack), which a synchronous scan in its own thread never needs. */
export function scanJsonObject(
  bytes: Uint8Array,
  start: number,
  end: number,
  key: Uint8Array | null,
  out: ScanResult,
): ScanResult {
  out.verdict = ScanVerdict.Invalid;
  out.hasKey = false;
  const b = bytes,
    str = STR,
    stk = stack; // locals: see the top
  if (end > b.length) end = b.length;
  let i = start;
  let canonical = true;
  while (i < end && isSpace(b[i]!)) {
    i++;
    canonical = false;
  }
  if (i >= end || b[i] !== 0x7b) return out; // the value must be an object
  let depth = 1;
  stk[1] = OBJECT;
  let state = OBJ_FIRST;
  let hasKey = false;
  i++;
  while (i < end) {
    const c = b[i]!;
    if (c === 0x22 && state <= ARR_FIRST) {
      // A string, most of a line: printable ASCII here, the rest in scanStringTail.
      const s = ++i;
      while (i < end && str[b[i]!] === PLAIN) i++;
      let plain = true;
      if (i < end && b[i] === 0x22) i++;
      else {
        plain = false;
        i = scanStringTail(b, i, end);
        if (i < 0) {
          if (i === -1) return out;
          canonical = false;
          i = -2 - i;
        }
      }
      if (state >= VALUE) {
        // and the comma right away, as usual
        if (i < end && b[i] === 0x2c) {
          i++;
          state = stk[depth] === OBJECT ? OBJ_KEY : VALUE;
        } else state = AFTER;
        continue;
      }
      if (depth === 1 && key !== null && !hasKey) {
        if (!plain) hasKey = keyEquals(b, s, i - 1, key);
        else if (i - 1 - s === key.length) {
          let k = 0;
          while (k < key.length && b[s + k] === key[k]) k++;
          hasKey = k === key.length;
        }
      }
      if (i < end && b[i] === 0x3a) {
        i++;
        state = VALUE;
      } // and the colon right away
      else state = COLON;
      continue;
    }
    if (c <= 0x20 && isSpace(c)) {
      canonical = false;
      i++;
      continue;
    }
    switch (state) {
      case OBJ_FIRST: // a key (taken above) or }
        if (c !== 0x7d) return out;
        i++;
        state = --depth === 0 ? DONE : AFTER;
        break;
      case COLON:
        if (c !== 0x3a) return out;
        i++;
        state = VALUE;
        break;
      case VALUE:
      case ARR_FIRST:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
          if ((i = scanNumber(b, i, end)) < -1) {
            canonical = false;
            i = -2 - i;
          }
        } else if (c === 0x7b || c === 0x5b) {
          if (depth === MAX_DEPTH) return out;
          stk[++depth] = c === 0x7b ? OBJECT : ARRAY;
          state = c === 0x7b ? OBJ_FIRST : ARR_FIRST;
          i++;
          break;
        } else if (c === 0x5d && state === ARR_FIRST) {
          i++;
          state = --depth === 0 ? DONE : AFTER;
          break;
        } else if (c === 0x74)
          i = literal(b, i, end, 0x72, 0x75, 0x65, -1); // true
        else if (c === 0x66)
          i = literal(b, i, end, 0x61, 0x6c, 0x73, 0x65); // false
        else if (c === 0x6e)
          i = literal(b, i, end, 0x75, 0x6c, 0x6c, -1); // null
        else return out;
        if (i < 0) return out;
        if (i < end && b[i] === 0x2c) {
          i++;
          state = stk[depth] === OBJECT ? OBJ_KEY : VALUE;
        } else state = AFTER;
        break;
      case AFTER:
        if (c === 0x2c) state = stk[depth] === OBJECT ? OBJ_KEY : VALUE;
        else if (c === (stk[depth] === OBJECT ? 0x7d : 0x5d)) state = --depth === 0 ? DONE : AFTER;
        else return out;
        i++;
        break;
      default:
        return out; // OBJ_KEY without a string, or anything but whitespace after the object
    }
  }
  if (state !== DONE) return out;
  out.verdict = canonical ? ScanVerdict.Canonical : ScanVerdict.Valid;
  out.hasKey = hasKey;
  return out;
}
