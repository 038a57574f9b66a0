// Cuts a byte stream into separator-terminated lines without copying whole reads: complete
// lines are reported as runs (start/end offsets into the read itself) so the caller can append
// a read with one copy. Only a line that straddles two reads is copied, and only up to the
// record size limit: a longer line is dropped, counted and skipped to its end, never buffered.
import { ByteQueue } from './byte-queue.js';

export interface LineFramerEvents {
  /** data[start, end) holds whole lines (separators included); `records` of them non-empty. */
  onRun(data: Buffer, start: number, end: number, records: number): void;
  /** A line longer than the limit was dropped; `bytes` is what had been seen of it. */
  onOversized(bytes: number): void;
}

const CR = 13;

function isBlankLine(data: Buffer, start: number, end: number): boolean {
  return end === start || (end === start + 1 && data[start] === CR);
}

export class LineFramer {
  private readonly separator: Buffer;
  /** Start of a line that continues in the next read (a copy: reads may share one buffer). */
  private pending: Buffer | null = null;
  /** Skipping the rest of an oversized line until the next separator. */
  private discarding = false;
  /**
   * While discarding: the last bytes skipped (fewer than the separator), which may begin a
   * separator that ends in the next read. Without them, a `\r\n` split between two reads
   * would be missed and the next, valid line discarded too.
   */
  private discardTail: Buffer | null = null;
  /**
   * A partial line may end with the first bytes of a multi-byte separator: it is known to be
   * oversized only past limit + slack (else a line of exactly the limit, split inside its
   * separator, would be dropped).
   */
  private readonly slack: number;
  /** Holds a line that spans more than two reads. */
  private readonly straddle = new ByteQueue();
  /** Separators seen so far: the caller's record timeout restarts when a line ends. */
  linesEnded = 0;

  constructor(
    separator: string,
    private readonly maxLineBytes: number,
    private readonly events: LineFramerEvents,
  ) {
    this.separator = Buffer.from(separator, 'utf8');
    if (this.separator.length === 0) throw new Error('separator must not be empty');
    this.slack = this.separator.length - 1;
  }

  /** A line is begun and not yet ended (kept, or being discarded). */
  get partial(): boolean {
    return this.pending !== null || this.discarding;
  }

  push(data: Buffer): void {
    let pos = 0;
    if (this.discarding) {
      pos = this.skipDiscarded(data);
      if (pos < 0) return;
    } else if (this.pending) {
      pos = this.completePending(data);
      if (pos < 0) return;
    }
    this.scan(data, pos);
  }

  /** The peer closed: a last line without a separator is still a record. */
  end(): void {
    const pending = this.pending;
    this.pending = null;
    this.discarding = false;
    this.discardTail = null;
    if (pending && pending.length > this.maxLineBytes) {
      this.events.onOversized(pending.length);
    } else if (pending && !isBlankLine(pending, 0, pending.length)) {
      this.events.onRun(pending, 0, pending.length, 1);
    }
  }

  private scan(data: Buffer, from: number): void {
    const sep = this.separator;
    const sepLength = sep.length;
    let pos = from;
    let runStart = from;
    let records = 0;
    for (;;) {
      const end = sep.length === 1 ? data.indexOf(sep[0]!, pos) : data.indexOf(sep, pos);
      if (end < 0) break;
      this.linesEnded++;
      if (end - pos > this.maxLineBytes) {
        if (pos > runStart) this.events.onRun(data, runStart, pos, records);
        records = 0;
        this.events.onOversized(end - pos);
        runStart = end + sepLength;
      } else if (!isBlankLine(data, pos, end)) {
        records++;
      }
      pos = end + sepLength;
    }
    if (pos > runStart) this.events.onRun(data, runStart, pos, records);
    this.keepRest(data, pos);
  }

  private keepRest(data: Buffer, pos: number): void {
    const rest = data.length - pos;
    if (rest > this.maxLineBytes + this.slack) {
      this.events.onOversized(rest);
      this.startDiscarding(data);
    } else if (rest > 0) {
      // A copy: the caller may reuse `data` for its next read (and a view would keep a whole
      // read alive for its last line's start).
      this.pending = Buffer.from(data.subarray(pos));
    }
  }

  /** Skips an oversized line; `seen` ends with its last bytes read so far. */
  private startDiscarding(seen: Buffer): void {
    this.discarding = true;
    this.discardTail = this.slack > 0 ? Buffer.from(seen.subarray(Math.max(0, seen.length - this.slack))) : null;
  }

  /** While discarding: where the line ends in `data` (past its separator), or -1 if not yet. */
  private skipDiscarded(data: Buffer): number {
    const sep = this.separator;
    const tail = this.discardTail;
    let end = -1;
    if (tail !== null && tail.length > 0) {
      const joined = Buffer.concat([tail, data.subarray(0, this.slack)]);
      const at = joined.indexOf(sep);
      if (at >= 0) end = at + sep.length - tail.length;
    }
    if (end < 0) {
      const found = data.indexOf(sep);
      if (found < 0) {
        this.startDiscarding(tail !== null && data.length < this.slack ? Buffer.concat([tail, data]) : data);
        return -1;
      }
      end = found + sep.length;
    }
    this.discarding = false;
    this.discardTail = null;
    this.linesEnded++;
    return end;
  }

  /**
   * Finishes the line begun in an earlier read. Returns where scanning of `data` continues, or
   * -1 when `data` was consumed (the line goes on, or is being discarded).
   */
  private completePending(data: Buffer): number {
    const pending = this.pending!;
    const sepLength = this.separator.length;
    // A multi-byte separator may itself be split across the two reads.
    const joinLength = Math.min(sepLength - 1, pending.length);
    const joined = Buffer.concat([
      pending.subarray(pending.length - joinLength),
      data.subarray(0, Math.min(data.length, sepLength - 1)),
    ]);
    const straddle = joinLength > 0 ? joined.indexOf(this.separator) : -1;
    let lineEnd: number; // in `data`, where the separator ends
    let line: Buffer;
    if (straddle >= 0 && straddle < joinLength) {
      lineEnd = straddle + sepLength - joinLength;
      line = Buffer.concat([pending, data.subarray(0, lineEnd)]);
    } else {
      const end = data.indexOf(this.separator);
      if (end < 0) {
        this.pending = null;
        if (pending.length + data.length > this.maxLineBytes + this.slack) {
          this.events.onOversized(pending.length + data.length);
          this.startDiscarding(data.length >= this.slack ? data : Buffer.concat([pending, data]));
        } else {
          // In place: concatenating per read would be O(n²) for a long line in small reads.
          this.pending = this.straddle.extend(pending, data);
        }
        return -1;
      }
      lineEnd = end + sepLength;
      line = Buffer.concat([pending, data.subarray(0, lineEnd)]);
    }
    this.pending = null;
    this.linesEnded++;
    const contentLength = line.length - sepLength;
    if (contentLength > this.maxLineBytes) this.events.onOversized(contentLength);
    else if (!isBlankLine(line, 0, contentLength)) this.events.onRun(line, 0, line.length, 1);
    return lineEnd;
  }
}
