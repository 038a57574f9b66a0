// Appends segments into the current chunk arena and seals it when it is full. Arenas come
// back from the workers after a flush and are reused, so steady state allocates nothing.
import type { EventTime } from '../codec/event-time.js';
import { collectGarbage } from '../idle-release.js';
import { QuietTimer } from '../quiet-timer.js';
import { SEGMENT_HEADER_BYTES, SegmentKind, type ChunkSource } from './layout.js';

/** Sources one chunk can name: the segment header's source index is a u16. */
export const MAX_SOURCES = 0x10000;

const NEWLINE = 0x0a;

/** Non-empty lines in data[start, end) (a CR alone counts as a line, as the readers skip it later). */
function countLines(data: Buffer, start: number, end: number): number {
  let lines = 0;
  let from = start;
  while (from < end) {
    let at = data.indexOf(NEWLINE, from);
    if (at < 0 || at >= end) at = end;
    if (at > from) lines++;
    from = at + 1;
  }
  return lines;
}

export interface SealedChunk {
  /** Monotonically increasing per output: the delivery order within one connection. */
  readonly id: number;
  /**
   * A SharedArrayBuffer for the websocket output: workers read it in place while the main
   * thread keeps it, so a chunk survives the worker that was sending it. Empty (byteLength 0)
   * while the chunk is kept on disk only (filesystem storage, beyond storage.max_chunks_up).
   */
  arena: ArrayBufferLike;
  readonly byteLength: number;
  /** Non-empty lines appended (malformed ones included: only a worker parses them). */
  readonly records: number;
  readonly sources: ChunkSource[];
  /** Monotonic ms when sealed. */
  readonly sealedAt: number;
}

/** After this long without a take(), the pool gives back all but IDLE_KEEP of its arenas. */
const IDLE_TRIM_MS = 5_000;
const IDLE_KEEP = 2;

/**
 * Keeps a few arenas for reuse; more than that are left to the garbage collector. Under load
 * the pool holds an arena per chunk in flight (a fresh 2 MiB arena costs ~500 page faults);
 * once the output has been idle for a few seconds it shrinks, and a full collection frees what
 * it dropped (idle-release.ts), so the memory of a burst is given back instead of being held
 * until the next one.
 */
export class ArenaPool {
  private readonly free: ArrayBufferLike[] = [];
  private readonly idle = new QuietTimer(IDLE_TRIM_MS, () => {
    if (this.free.length <= IDLE_KEEP) return;
    this.free.length = IDLE_KEEP;
    collectGarbage();
  });

  /** shared: SharedArrayBuffers, read by worker threads without being moved (websocket output). */
  constructor(
    readonly arenaBytes: number,
    private readonly keep: number,
    private readonly shared = false,
  ) {}

  take(minBytes: number): ArrayBufferLike {
    this.idle.noteActivity();
    if (minBytes <= this.arenaBytes) {
      const reused = this.free.pop();
      if (reused) return reused;
      return this.allocate(this.arenaBytes);
    }
    return this.allocate(minBytes);
  }

  private allocate(bytes: number): ArrayBufferLike {
    return this.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }

  give(arena: ArrayBufferLike): void {
    if (arena.byteLength !== this.arenaBytes || this.free.length >= this.keep) return;
    this.free.push(arena);
    if (this.free.length > IDLE_KEEP) this.idle.touch();
  }

  /** Arenas held for reuse now. */
  get held(): number {
    return this.free.length;
  }
}

export class ChunkBuilder {
  private arena: ArrayBufferLike | null = null;
  private bytes: Buffer | null = null;
  private view: DataView | null = null;
  private used = 0;
  private records = 0;
  private sources: ChunkSource[] = [];
  private sourceIndex = new Map<ChunkSource, number>();
  private nextId = 1;

  constructor(
    private readonly limitBytes: number,
    private readonly arenas: ArenaPool,
    private readonly onSealed: (chunk: SealedChunk) => void,
  ) {}

  /** Chunk ids continue after this one (chunks replayed from storage.path keep theirs). */
  continueAfter(id: number): void {
    this.nextId = Math.max(this.nextId, id + 1);
  }

  /** Bytes in the open chunk, not yet sealed. */
  get openBytes(): number {
    return this.used;
  }

  /**
   * Appends bytes[start, end) as one segment; seals first if it would not fit. Lines longer
   * than a chunk altogether (an http body of millions of records) are cut at line ends into
   * chunk-sized segments: a chunk is what a worker encodes at once, and what it encodes grows
   * with the output format (a date key per record), so a chunk must not be a whole request.
   */
  append(
    source: ChunkSource,
    kind: SegmentKind,
    time: EventTime,
    data: Buffer,
    start: number,
    end: number,
    records: number,
  ): void {
    // Only for lines ended by \n alone (tcp's default, http): with another separator a \n may be
    // inside a record. tcp appends at most a read and its partial line anyway.
    if (
      end - start > this.limitBytes - SEGMENT_HEADER_BYTES &&
      kind !== SegmentKind.MsgpackEntries &&
      source.separator === '\n'
    ) {
      this.appendInPieces(source, kind, time, data, start, end, records);
      return;
    }
    this.appendSegment(source, kind, time, data, start, end, records);
  }

  private appendInPieces(
    source: ChunkSource,
    kind: SegmentKind,
    time: EventTime,
    data: Buffer,
    start: number,
    end: number,
    records: number,
  ): void {
    const room = this.limitBytes - SEGMENT_HEADER_BYTES; // a piece and its header fill one arena
    let left = records;
    let from = start;
    while (end - from > room) {
      let cut = data.lastIndexOf(NEWLINE, from + room - 1);
      if (cut < from) {
        // One line longer than a chunk: it goes whole, in a segment of its own, and the lines
        // after it are cut as before.
        cut = data.indexOf(NEWLINE, from + room);
        if (cut < 0 || cut >= end) break;
      }
      const pieceRecords = Math.min(left, countLines(data, from, cut + 1));
      this.appendSegment(source, kind, time, data, from, cut + 1, pieceRecords);
      left -= pieceRecords;
      from = cut + 1;
    }
    this.appendSegment(source, kind, time, data, from, end, left);
  }

  private appendSegment(
    source: ChunkSource,
    kind: SegmentKind,
    time: EventTime,
    data: Buffer,
    start: number,
    end: number,
    records: number,
  ): void {
    const needed = SEGMENT_HEADER_BYTES + (end - start);
    if (this.arena && this.used + needed > this.arena.byteLength) this.seal();
    // A segment names its source in a u16: a chunk of that many sources is sealed, so the
    // 65,537th source of one chunk is not read back as source 0 (http peers and forward tags
    // come from senders: a chunk could hold any number of them).
    if (this.arena && this.sources.length === MAX_SOURCES && !this.sourceIndex.has(source)) this.seal();
    if (!this.arena) this.open(needed);
    let index = this.sourceIndex.get(source);
    if (index === undefined) {
      index = this.sources.length;
      this.sources.push(source);
      this.sourceIndex.set(source, index);
    }
    const view = this.view!;
    const at = this.used;
    view.setUint32(at, end - start, true);
    view.setUint16(at + 4, index, true);
    view.setUint8(at + 6, kind);
    view.setUint8(at + 7, 0);
    view.setUint32(at + 8, time.sec, true);
    view.setUint32(at + 12, time.nsec, true);
    data.copy(this.bytes!, at + SEGMENT_HEADER_BYTES, start, end);
    this.used = at + needed;
    this.records += records;
    if (this.used >= this.limitBytes) this.seal();
  }

  /** Seals the open chunk, if it holds anything, and hands it to onSealed. */
  seal(): void {
    if (!this.arena || this.used === 0) return;
    const chunk: SealedChunk = {
      id: this.nextId++,
      arena: this.arena,
      byteLength: this.used,
      records: this.records,
      sources: this.sources,
      sealedAt: performance.now(),
    };
    this.arena = null;
    this.bytes = null;
    this.view = null;
    this.used = 0;
    this.records = 0;
    this.sources = [];
    this.sourceIndex = new Map();
    this.onSealed(chunk);
  }

  private open(minBytes: number): void {
    this.arena = this.arenas.take(minBytes);
    this.bytes = Buffer.from(this.arena);
    this.view = new DataView(this.arena);
  }
}
