// Appends segments into the current chunk arena and seals it when it is full. Arenas come
// back from the workers after a flush and are reused, so steady state allocates nothing.
import type { EventTime } from '../encode/types.js';
import { collectGarbage } from '../idle-release.js';
import { QuietTimer } from '../quiet-timer.js';
import { SEGMENT_HEADER_BYTES, type ChunkSource, type SegmentKind } from './layout.js';

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
  constructor(readonly arenaBytes: number, private readonly keep: number, private readonly shared = false) {}

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

  /** Appends bytes[start, end) as one segment; seals first if it would not fit. */
  append(source: ChunkSource, kind: SegmentKind, time: EventTime,
    data: Buffer, start: number, end: number, records: number): void {
    const needed = SEGMENT_HEADER_BYTES + (end - start);
    if (this.arena && this.used + needed > this.arena.byteLength) this.seal();
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
