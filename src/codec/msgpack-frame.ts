// Where does the next msgpack value in a stream end? Answered from the headers alone, without
// building any object, so the forward input can refuse hostile frames before msgpackr sees
// them: a str32/bin32/array32/map32 header claiming gigabytes is refused at once (instead of
// buffering up to buffer_max_size waiting for it), and nesting deeper than MAX_MSGPACK_DEPTH is
// refused (msgpackr decodes recursively, and so do the encoders that later write the record).
// Iterative: the depth of the input never becomes depth of the call stack here. The headers are
// read by a MsgpackReader (msgpack-reader.ts), which holds every msgpack rule.
import {
  childrenOf,
  HEAD_CONTAINER,
  HEAD_SHORT,
  MAX_MSGPACK_DEPTH,
  MsgpackReader,
  nestedTooDeep,
  spanOf,
} from './msgpack-reader.js';

export type Frame =
  | { readonly kind: 'complete'; readonly end: number }
  | { readonly kind: 'incomplete' }
  /** tooLarge: the frame is (or claims to be) over the limit; otherwise it is not msgpack. */
  | { readonly kind: 'invalid'; readonly reason: string; readonly tooLarge: boolean };

const INCOMPLETE: Frame = Object.freeze({ kind: 'incomplete' });

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
  private readonly reader = new MsgpackReader();

  constructor(
    private readonly maxBytes: number,
    private readonly maxDepth = MAX_MSGPACK_DEPTH,
  ) {}

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
    if (this.tailEnd > 0)
      return start + this.tailEnd <= end ? { kind: 'complete', end: start + this.tailEnd } : INCOMPLETE;
    const reader = this.reader;
    reader.reset(buf, start, end);
    let pos = start + this.resumeAt;
    for (;;) {
      if (pos >= end) {
        if (pos >= limit) return tooLarge(this.maxBytes);
        this.resumeAt = pos - start;
        return INCOMPLETE;
      }
      const h = reader.head(pos);
      if (h === HEAD_SHORT) {
        this.resumeAt = pos - start;
        return INCOMPLETE;
      }
      if (h < 0 && h > HEAD_CONTAINER) return { kind: 'invalid', reason: reader.headRefusal(h), tooLarge: false };
      const children = childrenOf(h);
      const next = pos + spanOf(h);
      // Every child takes at least one byte: a count that cannot fit is refused from its header.
      if (next > limit || next + children > limit) return tooLarge(this.maxBytes, next + children - start);
      pos = next;
      if (children > 0) {
        if (open.length >= this.maxDepth) {
          return { kind: 'invalid', reason: nestedTooDeep(this.maxDepth), tooLarge: false };
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
export function frameEnd(
  buf: Uint8Array,
  start: number,
  end: number,
  maxBytes: number,
  maxDepth = MAX_MSGPACK_DEPTH,
): Frame {
  return new FrameScanner(maxBytes, maxDepth).scan(buf, start, end);
}

function tooLarge(maxBytes: number, claimed?: number): Frame {
  const what = claimed === undefined ? 'a message' : `a message claiming ${claimed} bytes`;
  return { kind: 'invalid', reason: `${what} is larger than buffer_max_size (${maxBytes} bytes)`, tooLarge: true };
}
