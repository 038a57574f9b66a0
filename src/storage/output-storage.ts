// Filesystem buffering as one websocket output sees it: every sealed chunk is written to the
// output's directory before it is queued; inputs that acknowledge (forward `ack`, http 2xx) wait
// until what they appended is on disk; a failed write (disk full) pauses the inputs until a
// probe write succeeds again; storage.total_limit_size pauses them or lets the output drop its
// oldest chunks. The chunk queue itself stays in output.ts.
import { join } from 'node:path';
import type { PipelineConfig, WebSocketOutputConfig } from '../config/types.js';
import { Router } from '../engine/router.js';
import type { Logger } from '../log.js';
import type { ArenaPool, SealedChunk } from '../chunk/chunk-builder.js';
import { ChunkStore, storageDirName } from './chunk-store.js';
import type { ChunkMeta } from './chunk-file.js';

const PROBE_INTERVAL_MS = 1000;
const PROBE_BYTES = 64 * 1024;

/** The arena of a chunk kept on disk only (beyond storage.max_chunks_up). */
const ON_DISK_ONLY = new SharedArrayBuffer(0);

/** What this module needs of an output's queue entries. */
export interface StoredEntry {
  readonly chunk: SealedChunk;
  /** Its chunk file is written. */
  readonly stored: boolean;
}

/** The chunks sealed since the last acknowledgement batch, and the inputs waiting on them. */
class AckBatch {
  pending = 0;
  failed: string | null = null;
  closed = false;
  readonly waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
}

/**
 * The directory of this output's chunk files, or null when no filesystem input can route to
 * it (its chunks then stay in memory only, as before).
 */
export function storageDirFor(output: WebSocketOutputConfig, pipeline: PipelineConfig): string | null {
  const path = pipeline.service.storagePath;
  if (path === null) return null;
  const router = new Router([output]);
  const fed = pipeline.inputs.some(
    (input) =>
      input.storageType === 'filesystem' &&
      // http and forward take their tags from the data: they may reach any output.
      (input.plugin === 'http' || input.plugin === 'forward' || router.route(input.tag).length > 0),
  );
  return fed ? join(path, storageDirName(output.name)) : null;
}

export class OutputStorage {
  readonly store: ChunkStore;
  /** Set while chunk files cannot be written; inputs stay paused until a probe succeeds. */
  private writeError: string | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private batch = new AckBatch();
  private batchScheduled = false;
  /** Bytes of sealed chunks whose write has not finished. */
  writingBytes = 0;

  constructor(
    dir: string,
    private readonly config: WebSocketOutputConfig,
    sync: 'normal' | 'full',
    private readonly log: Logger,
    private readonly onStateChange: () => void,
  ) {
    this.store = new ChunkStore(dir, sync, log);
  }

  /** Inputs must pause: a write failed, or storage.total_limit_size is reached (policy pause). */
  get blocked(): boolean {
    if (this.writeError !== null) return true;
    const limit = this.config.storageTotalLimitBytes;
    return limit !== null && this.config.storageTotalLimitPolicy === 'pause' && this.store.bytesOnDisk >= limit;
  }

  get lastWriteError(): string | null {
    return this.writeError;
  }

  /** Writes a sealed chunk; resolves true once on disk, false if it could not be written. */
  persist(meta: ChunkMeta, arena: ArrayBufferLike): Promise<boolean> {
    const batch = this.batch;
    batch.pending++;
    this.writingBytes += meta.byteLength;
    return this.store
      .write(meta, arena)
      .then(
        () => true,
        (error: unknown) => {
          const message = (error as Error).message;
          batch.failed ??= message;
          this.writeFailed(message);
          return false;
        },
      )
      .then((ok) => {
        this.writingBytes -= meta.byteLength;
        batch.pending--;
        this.settle(batch);
        return ok;
      });
  }

  /**
   * Resolves when every record appended so far is in a chunk file; rejects if one of those
   * files could not be written. The open chunk is sealed at the end of this event-loop turn, so
   * the acknowledgements of one turn share one chunk (and one write).
   */
  whenStored(seal: () => void): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => this.batch.waiters.push({ resolve, reject }));
    if (!this.batchScheduled) {
      this.batchScheduled = true;
      setImmediate(() => {
        this.batchScheduled = false;
        seal();
        const closing = this.batch;
        this.batch = new AckBatch();
        closing.closed = true;
        this.settle(closing);
      });
    }
    return promise;
  }

  /**
   * The chunks an earlier run left, oldest first, as sealed chunks keeping their ids; the first
   * `maxUp` that fit in storage.backlog.mem_limit bytes are loaded into arenas, the others stay
   * on disk until bringUp().
   */
  replay(arenas: ArenaPool, maxUp: number): { chunks: SealedChunk[]; highestId: number } {
    const { chunks, highestId } = this.store.openBacklog(maxUp, this.config.storageBacklogMemLimitBytes);
    const sealed = chunks.map(({ meta, payload }): SealedChunk => {
      let arena: ArrayBufferLike = ON_DISK_ONLY;
      if (payload !== null) {
        arena = arenas.take(meta.byteLength);
        payload.copy(Buffer.from(arena));
      }
      return { ...meta, arena, sealedAt: performance.now() };
    });
    return { chunks: sealed, highestId };
  }

  /** Loads a chunk kept on disk only into an arena; false when its file went bad (moved aside). */
  bringUp(chunk: SealedChunk, arenas: ArenaPool): boolean {
    if (chunk.arena.byteLength > 0) return true;
    const payload = this.store.readPayload(chunk.id);
    if (payload === null) return false;
    const arena = arenas.take(chunk.byteLength);
    payload.copy(Buffer.from(arena));
    chunk.arena = arena;
    return true;
  }

  /** storage.max_chunks_up: waiting chunks beyond it give their arena back and keep only their file. */
  keepUpBounded<T extends StoredEntry>(queue: readonly T[], arenas: ArenaPool, maxUp: number): T[] {
    const released: T[] = [];
    let up = 0;
    for (const entry of queue) {
      if (entry.chunk.arena.byteLength === 0) continue;
      if (++up > maxUp && entry.stored) {
        arenas.give(entry.chunk.arena);
        entry.chunk.arena = ON_DISK_ONLY;
        released.push(entry);
      }
    }
    return released;
  }

  /**
   * storage.total_limit_policy drop_oldest: removes from `queue` (and returns) the oldest stored
   * chunks until `incoming` more bytes fit under storage.total_limit_size. Chunks in flight stay.
   */
  oldestOverLimit<T extends StoredEntry>(queue: T[], incoming: number): T[] {
    const limit = this.config.storageTotalLimitBytes;
    const victims: T[] = [];
    if (limit === null || this.config.storageTotalLimitPolicy !== 'drop_oldest') return victims;
    let bytes = this.store.bytesOnDisk + this.writingBytes + incoming;
    while (bytes > limit) {
      const oldest = queue.findIndex((entry) => entry.stored);
      if (oldest < 0) break;
      const [victim] = queue.splice(oldest, 1);
      victims.push(victim!);
      bytes -= victim!.chunk.byteLength;
    }
    return victims;
  }

  stop(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  private settle(batch: AckBatch): void {
    if (!batch.closed || batch.pending > 0) return;
    const waiters = batch.waiters.splice(0);
    for (const waiter of waiters) {
      if (batch.failed === null) waiter.resolve();
      else waiter.reject(new Error(`storage: ${batch.failed}`));
    }
  }

  private writeFailed(message: string): void {
    if (this.writeError !== null) return;
    this.writeError = message;
    const full = /ENOSPC/.test(message) ? ' (disk full)' : '';
    this.log.error(
      `cannot write chunk files under ${this.store.dir}${full}: ${message}; pausing inputs ` +
        `until a write succeeds (chunks not written stay in memory and are not acknowledged)`,
    );
    this.onStateChange();
    this.probeTimer = setInterval(() => {
      this.store.probe(PROBE_BYTES).then(
        () => {
          if (this.writeError === null) return;
          this.writeError = null;
          if (this.probeTimer) clearInterval(this.probeTimer);
          this.probeTimer = null;
          this.log.info(`chunk files can be written again under ${this.store.dir}: resuming inputs`);
          this.onStateChange();
        },
        () => undefined,
      );
    }, PROBE_INTERVAL_MS);
  }
}
