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
  | { readonly kind: 'invalid'; readonly reason: string };

const INCOMPLETE: Frame = Object.freeze({ kind: 'incomplete' });

/** Header size and what follows it, for one type byte; null = the byte is never valid (0xc1). */
interface Head {
  /** Bytes of the header (type byte included) before the payload or the first child. */
  readonly header: number;
  /** For str/bin/ext: payload bytes; for fixed-size values 0. Filled after reading the header. */
  readonly payload: number;
  /** Children that follow (array items, or 2 per map entry). */
  readonly children: number;
}

function readLength(buf: Uint8Array, at: number, bytes: 1 | 2 | 4): number {
  if (bytes === 1) return buf[at]!;
  if (bytes === 2) return (buf[at]! << 8) | buf[at + 1]!;
  return buf[at]! * 0x1000000 + ((buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!);
}

/** Decodes the header at `pos`; null when it is not all there yet, 'bad' for 0xc1. */
function head(buf: Uint8Array, pos: number, end: number): Head | null | 'bad' {
  const b = buf[pos]!;
  const fixed = (header: number): Head => ({ header, payload: 0, children: 0 });
  const sized = (lengthBytes: 1 | 2 | 4, extra: number, mul: 'payload' | 'children', factor = 1): Head | null => {
    if (pos + 1 + lengthBytes > end) return null;
    const n = readLength(buf, pos + 1, lengthBytes) * factor;
    const header = 1 + lengthBytes + extra;
    return mul === 'payload' ? { header, payload: n, children: 0 } : { header, payload: 0, children: n };
  };
  if (b <= 0x7f || b >= 0xe0) return fixed(1); // positive / negative fixint
  if (b <= 0x8f) return { header: 1, payload: 0, children: (b & 0x0f) * 2 }; // fixmap
  if (b <= 0x9f) return { header: 1, payload: 0, children: b & 0x0f }; // fixarray
  if (b <= 0xbf) return { header: 1, payload: b & 0x1f, children: 0 }; // fixstr
  switch (b) {
    case 0xc0: case 0xc2: case 0xc3: return fixed(1); // nil, false, true
    case 0xc1: return 'bad';
    case 0xc4: case 0xd9: return sized(1, 0, 'payload'); // bin8, str8
    case 0xc5: case 0xda: return sized(2, 0, 'payload');
    case 0xc6: case 0xdb: return sized(4, 0, 'payload');
    case 0xc7: return sized(1, 1, 'payload'); // ext8: length, type
    case 0xc8: return sized(2, 1, 'payload');
    case 0xc9: return sized(4, 1, 'payload');
    case 0xca: return fixed(5); case 0xcb: return fixed(9); // float32, float64
    case 0xcc: case 0xd0: return fixed(2);
    case 0xcd: case 0xd1: return fixed(3);
    case 0xce: case 0xd2: return fixed(5);
    case 0xcf: case 0xd3: return fixed(9);
    case 0xd4: return fixed(3); case 0xd5: return fixed(4); case 0xd6: return fixed(6); // fixext 1, 2, 4
    case 0xd7: return fixed(10); case 0xd8: return fixed(18); // fixext 8, 16
    case 0xdc: return sized(2, 0, 'children');
    case 0xdd: return sized(4, 0, 'children');
    case 0xde: return sized(2, 0, 'children', 2);
    default: return sized(4, 0, 'children', 2); // 0xdf map32
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
      const h = head(buf, pos, end);
      if (h === 'bad') return { kind: 'invalid', reason: 'byte 0xc1 is not msgpack' };
      if (h === null) {
        this.resumeAt = pos - start;
        return INCOMPLETE;
      }
      const next = pos + h.header + h.payload;
      // Every child takes at least one byte: a count that cannot fit is refused from its header.
      if (next > limit || next + h.children > limit) return tooLarge(this.maxBytes, next + h.children - start);
      pos = next;
      if (h.children > 0) {
        if (open.length >= this.maxDepth) return { kind: 'invalid', reason: `nested deeper than ${this.maxDepth} levels` };
        open.push(h.children);
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
  return { kind: 'invalid', reason: `${what} is larger than buffer_max_size (${maxBytes} bytes)` };
}
