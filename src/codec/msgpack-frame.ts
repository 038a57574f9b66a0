// Where does the next msgpack value in a stream end? Answered from the headers alone, without
// building any object, so the forward input can refuse hostile frames before msgpackr sees
// them: a str32/bin32/array32/map32 header claiming gigabytes is refused at once (instead of
// buffering up to buffer_max_size waiting for it), and nesting deeper than MAX_DEPTH is refused
// (msgpackr decodes recursively, and so do the encoders that later write the record).
// Iterative: the depth of the input never becomes depth of the call stack here.

/** Deepest nesting accepted in a forward message (the same bound as JSON lines, json-scan). */
export const MAX_MSGPACK_DEPTH = 512;

export type Frame =
  | { readonly kind: 'complete'; readonly end: number }
  | { readonly kind: 'incomplete' }
  /** tooLarge: the frame is (or claims to be) over the limit; otherwise it is not msgpack. */
  | { readonly kind: 'invalid'; readonly reason: string; readonly tooLarge: boolean };

const INCOMPLETE: Frame = Object.freeze({ kind: 'incomplete' });

// Total size of the values whose size the type byte alone gives (fixints, nil, booleans,
// numbers, fixext, fixstr); 0 for the others. A table: this runs once per value of a message.
const FIXED_SIZE = new Uint8Array(256);
for (let b = 0; b <= 0x7f; b++) FIXED_SIZE[b] = 1; // positive fixint
for (let b = 0xe0; b <= 0xff; b++) FIXED_SIZE[b] = 1; // negative fixint
for (let b = 0xa0; b <= 0xbf; b++) FIXED_SIZE[b] = 1 + (b & 0x1f); // fixstr
for (const [b, size] of [[0xc0, 1], [0xc2, 1], [0xc3, 1], [0xca, 5], [0xcb, 9], [0xcc, 2], [0xcd, 3], [0xce, 5],
  [0xcf, 9], [0xd0, 2], [0xd1, 3], [0xd2, 5], [0xd3, 9], [0xd4, 3], [0xd5, 4], [0xd6, 6], [0xd7, 10], [0xd8, 18]] as const) {
  FIXED_SIZE[b] = size;
}

const HEAD_OK = 0, HEAD_SHORT = 1, HEAD_BAD = 2, HEAD_EXT = 3;

/**
 * Extension types let through: 0 is the forward protocol's EventTime, -1 (0xff) msgpack's
 * timestamp. msgpackr decodes others of its own into objects a record must not hold: 0x42 a
 * BigInt (JSON.stringify throws: it crashed the relay from an http body), 0x65 an Error, 0x73 a
 * Set, 0x78 a RegExp built from the sender's text, 0x69/0x70 shared references.
 */
const ACCEPTED_EXT = new Uint8Array(256);
ACCEPTED_EXT[0x00] = 1;
ACCEPTED_EXT[0xff] = 1;
/** The type of the last extension head() refused. */
let refusedExt = 0;
/** Extensions let through so far (forward-entries.ts tells a record that holds one this way). */
let acceptedExt = 0;

/** How many extension values every scan so far has let through: compare two readings. */
export function extensionsAccepted(): number {
  return acceptedExt;
}

/** Checks the type byte of an extension at `at`; HEAD_SHORT when it has not arrived. */
function extType(buf: Uint8Array, at: number, end: number): number {
  if (at >= end) return HEAD_SHORT;
  if (ACCEPTED_EXT[buf[at]!] === 1) {
    acceptedExt++;
    return HEAD_OK;
  }
  refusedExt = buf[at]!;
  return HEAD_EXT;
}
// What head() read: bytes up to the first child (header and payload), and the children.
let headSize = 0;
let headChildren = 0;

function readLength(buf: Uint8Array, at: number, bytes: number): number {
  if (bytes === 1) return buf[at]!;
  if (bytes === 2) return (buf[at]! << 8) | buf[at + 1]!;
  return buf[at]! * 0x1000000 + ((buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!);
}

/** Reads the header at `pos` into headSize/headChildren; HEAD_SHORT when it is not all there. */
function head(buf: Uint8Array, pos: number, end: number): number {
  const b = buf[pos]!;
  const fixed = FIXED_SIZE[b]!;
  headChildren = 0;
  if (fixed !== 0) {
    headSize = fixed;
    return b >= 0xd4 && b <= 0xd8 ? extType(buf, pos + 1, end) : HEAD_OK; // fixext 1..16
  }
  if (b <= 0x9f) { // fixmap, fixarray
    headSize = 1;
    headChildren = b <= 0x8f ? (b & 0x0f) * 2 : b & 0x0f;
    return HEAD_OK;
  }
  // The rest carry a 1, 2 or 4 byte length: payload bytes (str, bin, ext) or children.
  let lengthBytes: number;
  let extra = 0; // ext: the type byte after the length
  let perChild = 0; // 0: a payload; 1: array items; 2: map entries
  switch (b) {
    case 0xc4: case 0xd9: lengthBytes = 1; break; // bin8, str8
    case 0xc5: case 0xda: lengthBytes = 2; break;
    case 0xc6: case 0xdb: lengthBytes = 4; break;
    case 0xc7: lengthBytes = 1; extra = 1; break; // ext8
    case 0xc8: lengthBytes = 2; extra = 1; break;
    case 0xc9: lengthBytes = 4; extra = 1; break;
    case 0xdc: lengthBytes = 2; perChild = 1; break; // array16
    case 0xdd: lengthBytes = 4; perChild = 1; break;
    case 0xde: lengthBytes = 2; perChild = 2; break; // map16
    case 0xdf: lengthBytes = 4; perChild = 2; break;
    default: return HEAD_BAD; // 0xc1, never used
  }
  if (pos + 1 + lengthBytes > end) return HEAD_SHORT;
  if (extra === 1) {
    const status = extType(buf, pos + 1 + lengthBytes, end);
    if (status !== HEAD_OK) return status;
  }
  const n = readLength(buf, pos + 1, lengthBytes);
  headSize = 1 + lengthBytes + extra + (perChild === 0 ? n : 0);
  headChildren = n * perChild;
  return HEAD_OK;
}

/**
 * Where the header at buf[pos] ends, with its payload (a str's bytes, an extension's data) but
 * not its children (an array's items follow it); -1 when it is not all there or not accepted.
 * For walking the values of something already framed one after the other, in order.
 */
export function headerEnd(buf: Uint8Array, pos: number, end: number): number {
  if (pos >= end || head(buf, pos, end) !== HEAD_OK) return -1;
  const next = pos + headSize;
  return next > end ? -1 : next;
}

/**
 * Where the value at buf[pos] ends, or -1 when it is not all in buf[pos, end) or not msgpack this
 * scanner accepts. For values already framed (a worker skipping a map's keys and values): no
 * allocation, no depth limit.
 */
export function valueEnd(buf: Uint8Array, pos: number, end: number): number {
  let pending = 1;
  while (pending > 0) {
    if (pos >= end || head(buf, pos, end) !== HEAD_OK) return -1;
    pos += headSize;
    if (pos > end) return -1;
    pending += headChildren - 1;
  }
  return pos;
}

/** Children still expected by each container open in checkedValueEnd, innermost last. */
const openChildren = new Float64Array(MAX_MSGPACK_DEPTH);
/** Why checkedValueEnd last returned -2. */
let checkRefusal = '';

/** Why checkedValueEnd last refused a value (-2). */
export function checkedValueRefusal(): string {
  return checkRefusal;
}

/**
 * Where the value at buf[pos] ends, with the checks FrameScanner makes of a frame (nesting
 * deeper than MAX_MSGPACK_DEPTH, 0xc1, an extension type not accepted): -1 when it is not all
 * in buf[pos, end) (or claims more than that holds), -2 when it is refused (checkedValueRefusal
 * says why). Not resumable, and allocates nothing: for the entries of a payload already received
 * whole, one after the other (forward-entries.ts).
 */
export function checkedValueEnd(buf: Uint8Array, pos: number, end: number): number {
  let depth = 0;
  for (;;) {
    if (pos >= end) return -1;
    const status = head(buf, pos, end);
    if (status !== HEAD_OK) {
      if (status === HEAD_SHORT) return -1;
      const type = refusedExt > 127 ? refusedExt - 256 : refusedExt;
      checkRefusal = status === HEAD_BAD ? 'byte 0xc1 is not msgpack' : `msgpack extension type ${type} is not accepted`;
      return -2;
    }
    pos += headSize;
    const children = headChildren;
    // Every child takes at least one byte: a count that cannot fit is refused from its header.
    if (pos + children > end) return -1;
    if (children > 0) {
      if (depth >= MAX_MSGPACK_DEPTH) {
        checkRefusal = `nested deeper than ${MAX_MSGPACK_DEPTH} levels`;
        return -2;
      }
      openChildren[depth++] = children;
      continue;
    }
    // A whole value ends at `pos`: close every container it completes.
    while (depth > 0 && --openChildren[depth - 1]! === 0) depth--;
    if (depth === 0) return pos;
  }
}

/**
 * Finds the end of one msgpack value after another in a stream. Resumable: after 'incomplete',
 * call again with the same frame start and more bytes after it; the headers already read are
 * not read again (a Forward message of 100k entries arriving in small reads stays linear).
 */
export class FrameScanner {
  /** Children still expected by each open array/map, innermost last. */
  private open: number[] = [];
  /** Where scanning resumes, relative to the frame start. */
  private resumeAt = 0;
  /** Every header is read; the frame ends here (relative) once its last payload has arrived. */
  private tailEnd = 0;

  constructor(private readonly maxBytes: number, private readonly maxDepth = MAX_MSGPACK_DEPTH) {}

  /**
   * The value starting at `start` in buf[start, end): complete (where it ends), incomplete (more
   * bytes needed, and it could still fit in maxBytes), or invalid (why).
   */
  scan(buf: Uint8Array, start: number, end: number): Frame {
    const frame = this.walk(buf, start, end);
    if (frame.kind !== 'incomplete') this.reset();
    return frame;
  }

  reset(): void {
    this.open = [];
    this.resumeAt = 0;
    this.tailEnd = 0;
  }

  private walk(buf: Uint8Array, start: number, end: number): Frame {
    const limit = start + this.maxBytes;
    const open = this.open;
    if (this.tailEnd > 0) return start + this.tailEnd <= end ? { kind: 'complete', end: start + this.tailEnd } : INCOMPLETE;
    let pos = start + this.resumeAt;
    for (;;) {
      if (pos >= end) {
        if (pos >= limit) return tooLarge(this.maxBytes);
        this.resumeAt = pos - start;
        return INCOMPLETE;
      }
      const status = head(buf, pos, end);
      if (status === HEAD_BAD) return { kind: 'invalid', reason: 'byte 0xc1 is not msgpack', tooLarge: false };
      if (status === HEAD_EXT) {
        const type = refusedExt > 127 ? refusedExt - 256 : refusedExt;
        return { kind: 'invalid', reason: `msgpack extension type ${type} is not accepted`, tooLarge: false };
      }
      if (status === HEAD_SHORT) {
        this.resumeAt = pos - start;
        return INCOMPLETE;
      }
      const children = headChildren;
      const next = pos + headSize;
      // Every child takes at least one byte: a count that cannot fit is refused from its header.
      if (next > limit || next + children > limit) return tooLarge(this.maxBytes, next + children - start);
      pos = next;
      if (children > 0) {
        if (open.length >= this.maxDepth) {
          return { kind: 'invalid', reason: `nested deeper than ${this.maxDepth} levels`, tooLarge: false };
        }
        open.push(children);
        continue;
      }
      // A whole value ends at `pos` (once its payload is there): close every container it completes.
      for (;;) {
        if (open.length === 0) {
          if (pos <= end) return { kind: 'complete', end: pos };
          this.tailEnd = pos - start;
          return INCOMPLETE;
        }
        const left = open[open.length - 1]! - 1;
        if (left > 0) {
          open[open.length - 1] = left;
          break;
        }
        open.pop();
      }
    }
  }
}

/** One value from buf[start, end), with a fresh scanner. */
export function frameEnd(buf: Uint8Array, start: number, end: number, maxBytes: number,
  maxDepth = MAX_MSGPACK_DEPTH): Frame {
  return new FrameScanner(maxBytes, maxDepth).scan(buf, start, end);
}

function tooLarge(maxBytes: number, claimed?: number): Frame {
  const what = claimed === undefined ? 'a message' : `a message claiming ${claimed} bytes`;
  return { kind: 'invalid', reason: `${what} is larger than buffer_max_size (${maxBytes} bytes)`, tooLarge: true };
}
