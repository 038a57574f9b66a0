// The main-thread half of the websocket output: owns the chunk buffer, hands sealed chunks to
// the worker threads (worker-pool.ts), each holding one WebSocket connection, and decides what
// happens after every attempt: count it flushed, retry it with backoff, or drop it past Retry_Limit.
// A chunk counts as flushed only when its worker reports it confirmed (see ../worker/connection.ts).
// Arenas are shared with the workers, so a chunk outlives a worker thread that dies sending it.
// With filesystem storage (src/storage) a chunk is written to disk before it is queued and its
// file deleted when it is flushed or given up.
import { ArenaPool, ChunkBuilder, type SealedChunk } from '../../../chunk/chunk-builder.js';
import type { ChunkSource, SegmentKind } from '../../../chunk/layout.js';
import type { ServiceConfig, WebSocketOutputConfig } from '../../../config/types.js';
import type { EventTime } from '../../../encode/types.js';
import type { Logger } from '../../../log.js';
import { containChunk } from '../../../engine/contain.js';
import type { DropReason, OutputBufferState } from '../../../engine/stats.js';
import type { OutputHooks, OutputPlugin, Undelivered } from '../../../engine/plugins.js';
import type { DeliveryFailure, FlushResult, FlushTask } from '../protocol.js';
import { retryDelaySeconds } from './retry.js';
import {
  countConnectionClosed,
  countFailedAttempt,
  countFailure,
  countFlushed,
  countHandshake,
  countRetry,
  describe,
} from './delivery-counts.js';
import { urlOf, WorkerPool } from './worker-pool.js';
import { OutputStorage } from '../../../storage/output-storage.js';
import { EarlySeal } from './early-seal.js';
import { DispatchOrder } from '../delivery-order.js';
import { moveTo, type ChunkState } from './chunk-state.js';
import { newWebSocketOutputStats, workerStats, type WebSocketOutputStats } from './stats.js';

interface QueuedChunk {
  readonly chunk: SealedChunk;
  /** Where it is (chunk-state.ts); flushed and dropped chunks are released, not kept. */
  state: ChunkState;
  /** Attempts made so far. */
  attempts: number;
  /** Monotonic ms before which it must not be tried again. */
  notBefore: number;
  /** An earlier attempt wrote it without confirmation: a later flush may duplicate. */
  maybeDelivered: boolean;
  /** Monotonic ms when the last attempt began. */
  sentAt: number;
  /** Its chunk file is written (filesystem storage). */
  stored: boolean;
  /** Attempts that ended with the worker thread dying or the task throwing. */
  crashes?: number;
}

/** A chunk that kills (or throws in) this many attempts is poison: it is dropped, not retried. */
const CRASHES_BEFORE_DROP = 2;

export class WebSocketOutput implements OutputPlugin {
  readonly name: string;
  readonly url: string;
  readonly stats: WebSocketOutputStats = newWebSocketOutputStats();
  private readonly log: Logger;
  private readonly arenas: ArenaPool;
  private readonly builder: ChunkBuilder;
  private readonly queue: QueuedChunk[] = [];
  private readonly maxInflight: number;
  private pool: WorkerPool | null = null;
  /** What is in flight, and in which order chunks may leave (delivery-order.ts). */
  private readonly order: DispatchOrder;
  private queuedBytes = 0;
  private full = false;
  private dispatchTimer: NodeJS.Timeout | null = null;
  private idleWaiters: Array<() => void> = [];
  private lastHandshakeAt = 0;
  private readonly earlySeal: EarlySeal;
  /** Filesystem buffering, when a filesystem input routes here (storageDir not null). */
  private readonly storage: OutputStorage | null;
  /** Sealed chunks being written to disk: neither queued nor in flight yet. */
  private writing = 0;
  /** -v: a line per delivered chunk and per retry; -vv: per chunk state change. Read once. */
  private readonly debug: boolean;
  private readonly trace: boolean;

  constructor(
    private readonly config: WebSocketOutputConfig,
    private readonly service: ServiceConfig,
    log: Logger,
    private readonly hooks: OutputHooks,
    storageDir: string | null = null,
  ) {
    this.name = config.name;
    this.url = urlOf(config);
    this.log = log.child(`output:websocket:${config.name}`);
    this.debug = this.log.enabled('debug');
    this.trace = this.log.enabled('trace');
    this.maxInflight = config.workers * config.inflightPerWorker;
    this.order = new DispatchOrder(config.workers === 1);
    this.arenas = new ArenaPool(config.chunkLimitBytes, this.maxInflight + 2, true);
    this.storage =
      storageDir === null
        ? null
        : new OutputStorage(storageDir, config, service.storageSync, this.log, () => this.updatePressure());
    this.builder = new ChunkBuilder(
      config.chunkLimitBytes,
      this.arenas,
      containChunk(`websocket ${config.name}`, this.stats, this.log, (chunk) => this.enqueue(chunk)),
    );
    this.earlySeal = new EarlySeal(
      () => this.builder.seal(),
      () => this.idle,
      () => this.nothingWaits,
    );
  }

  start(): void {
    // The backlog first: an unusable storage.path stops the start before any thread exists.
    if (this.storage) this.replayBacklog(this.storage);
    this.pool = new WorkerPool(this.config, this.service, this.url, this.log, {
      onHandshake: (failure, worker, startedAt) => this.onHandshake(failure, worker, startedAt),
      onClosed: (worker) => countConnectionClosed(this.stats, worker),
    });
    this.log.info(
      `${this.config.workers} worker(s) sending to ${this.url} as ${this.config.format}, ` +
        `delivery ${this.config.delivery}`,
    );
    this.dispatch();
  }

  /**
   * Chunks an earlier run left on disk go first: they keep their ids, below every new chunk's.
   * They may have been delivered just before that run ended, so a flush counts as a resend.
   */
  private replayBacklog(storage: OutputStorage): void {
    const { chunks, highestId } = storage.replay(this.arenas, this.service.storageMaxChunksUp);
    this.builder.continueAfter(highestId);
    this.stats.storageCorruptChunks = storage.store.corrupt;
    if (chunks.length === 0) return;
    for (const chunk of chunks) {
      const state = chunk.arena.byteLength === 0 ? 'on_disk' : 'queued';
      this.queue.push({ chunk, state, attempts: 0, notBefore: 0, maybeDelivered: true, sentAt: 0, stored: true });
      this.queuedBytes += chunk.byteLength;
    }
    this.log.info(
      `replaying ${chunks.length} chunk(s), ${chunks.reduce((sum, c) => sum + c.records, 0)} ` +
        `records, left in ${storage.store.dir}`,
    );
    this.dispatch();
  }

  /**
   * Resolves once what was appended so far is in chunk files (null without filesystem
   * storage): forward acks and http 2xx answers wait for it.
   */
  whenStored(): Promise<void> | null {
    return this.storage?.whenStored(() => this.builder.seal()) ?? null;
  }

  get match(): string | null {
    return this.config.match;
  }

  get matchRegex(): string | null {
    return this.config.matchRegex;
  }

  /** Bytes held for this output: the open chunk, queued chunks and chunks in flight. */
  get bufferedBytes(): number {
    return this.queuedBytes + this.builder.openBytes;
  }

  bufferState(): OutputBufferState {
    return {
      bytes: this.bufferedBytes,
      limitBytes: this.config.memBufLimitBytes,
      chunksQueued: this.queue.length,
      chunksInFlight: this.inflight,
      workers: this.config.workers,
      poolUtilization: this.pool?.utilization ?? 0,
      poolQueueSize: this.pool?.queueSize ?? 0,
      storageBytes: this.storage?.store.bytesOnDisk ?? 0,
      storageChunks: this.storage?.store.files ?? 0,
    };
  }

  get isFull(): boolean {
    return this.full;
  }

  append(
    source: ChunkSource,
    kind: SegmentKind,
    time: EventTime,
    data: Buffer,
    start: number,
    end: number,
    records: number,
  ): void {
    this.builder.append(source, kind, time, data, start, end, records);
    this.updatePressure();
    this.earlySeal.appended();
  }

  private get inflight(): number {
    return this.order.inFlightCount;
  }

  /** No sealed chunk waits to be sent (nor is being written to disk). */
  private get nothingWaits(): boolean {
    return this.queue.length === 0 && this.writing === 0;
  }

  /** A worker has nothing in flight and no sealed chunk waits. */
  private get idle(): boolean {
    return this.inflight < this.config.workers && this.nothingWaits;
  }

  /** Seals the open chunk (the Flush timer, and shutdown). */
  sealOpenChunk(): void {
    this.builder.seal();
  }

  /** Resolves when nothing is buffered or in flight, or after timeoutMs. */
  async drain(timeoutMs: number): Promise<Undelivered> {
    this.builder.seal();
    // Retries wait for their backoff normally; on shutdown, try them now.
    this.endBackoffs();
    this.dispatch();
    if (!this.nothingWaits || this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // Chunks in files are not undelivered: the next start sends them (stop() says so).
    const lost = this.queue.filter((queued) => !queued.stored);
    return {
      chunks: lost.length + this.inflight,
      records: lost.reduce((sum, queued) => sum + queued.chunk.records, 0),
    };
  }

  /** Closes every connection with a close frame, then the pool. */
  async stop(): Promise<void> {
    if (this.dispatchTimer) clearTimeout(this.dispatchTimer);
    this.earlySeal.stop();
    this.storage?.stop();
    // Chunks on disk are not lost: the next start replays them.
    const kept = this.queue.filter((queued) => queued.stored);
    if (kept.length > 0) {
      this.log.warn(
        `${kept.length} chunk(s), ${kept.reduce((sum, q) => sum + q.chunk.records, 0)} records, ` +
          `kept in ${this.storage!.store.dir} for the next start`,
      );
    }
    for (const queued of this.queue) if (!queued.stored) this.drop(queued, 'shutdown');
    this.queue.length = 0;
    const pool = this.pool;
    this.pool = null;
    await pool?.stop();
  }

  private enqueue(chunk: SealedChunk): void {
    const queued: QueuedChunk = {
      chunk,
      state: this.storage ? 'writing' : 'queued',
      attempts: 0,
      notBefore: 0,
      maybeDelivered: false,
      sentAt: 0,
      stored: false,
    };
    this.queuedBytes += chunk.byteLength;
    if (this.trace) {
      this.log.trace(
        `chunk '${chunk.id}' queued: ${chunk.records} records, ${chunk.byteLength} bytes` +
          `${this.storage ? ' (writing its file first)' : ''}, ${this.queue.length + 1} queued`,
      );
    }
    if (!this.storage) {
      this.queue.push(queued);
      this.dispatch();
      return;
    }
    // On disk before it is sent: writes finish in id order, so the queue stays in id order.
    this.makeRoom(this.storage, chunk.byteLength);
    this.writing++;
    void this.storage.persist(chunk, chunk.arena).then((stored) => {
      this.writing--;
      queued.stored = stored;
      this.requeue(queued, 'queued');
      this.keepUpBounded();
      this.settled();
    });
  }

  /** storage.total_limit_policy drop_oldest: the oldest waiting chunks go, counted. */
  private makeRoom(storage: OutputStorage, bytes: number): void {
    for (const victim of storage.oldestOverLimit(this.queue, bytes)) {
      this.log.burst(
        'warn',
        `storage limit ${this.name}`,
        `storage.total_limit_size reached: dropping chunk ` +
          `'${victim.chunk.id}' (${victim.chunk.records} records), the oldest waiting`,
      );
      this.drop(victim, 'storage_limit');
    }
  }

  /** storage.max_chunks_up: waiting chunks past it are kept in their files only. */
  private keepUpBounded(): void {
    if (this.storage === null) return;
    for (const queued of this.storage.keepUpBounded(this.queue, this.arenas, this.service.storageMaxChunksUp)) {
      this.move(queued, 'on_disk');
    }
  }

  /** A chunk kept on disk only is read back before it is sent; false when its file went bad. */
  private bringUp(queued: QueuedChunk): boolean {
    if (queued.state !== 'on_disk' || this.storage === null) return true;
    if (this.storage.bringUp(queued.chunk, this.arenas)) {
      this.move(queued, 'queued');
      return true;
    }
    this.stats.storageCorruptChunks = this.storage.store.corrupt;
    this.log.error(`chunk '${queued.chunk.id}' could not be read back: ${queued.chunk.records} records dropped`);
    this.drop(queued, 'storage_corrupt');
    return false;
  }

  /**
   * Sends ready chunks while there is room in flight, in the order delivery-order.ts allows
   * (with one worker, strictly by id: a chunk waiting for its retry holds back the ones after it).
   */
  private dispatch(): void {
    if (!this.pool) return;
    const now = performance.now();
    let wakeAt = Infinity;
    for (let i = 0; i < this.queue.length && this.inflight < this.maxInflight;) {
      const queued = this.queue[i]!;
      const backoffOver = queued.notBefore <= now;
      const decision = this.order.decide(queued.chunk.id, queued.attempts > 0, backoffOver);
      if (!backoffOver) wakeAt = Math.min(wakeAt, queued.notBefore);
      if (decision === 'stop') break;
      if (decision === 'skip') {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      if (this.bringUp(queued)) this.send(queued);
    }
    if (this.dispatchTimer) clearTimeout(this.dispatchTimer);
    this.dispatchTimer = null;
    if (wakeAt !== Infinity) {
      this.dispatchTimer = setTimeout(() => this.dispatch(), Math.max(1, wakeAt - now));
    }
    if (this.queue.length === 0) this.earlySeal.sealIfQuiet();
  }

  private send(queued: QueuedChunk): void {
    const pool = this.pool!;
    const { chunk } = queued;
    const task: FlushTask = {
      chunkId: chunk.id,
      arena: chunk.arena as SharedArrayBuffer,
      byteLength: chunk.byteLength,
      sources: chunk.sources,
      attempt: queued.attempts,
      epoch: this.order.epoch,
    };
    this.move(queued, 'in_flight');
    this.order.dispatched(chunk.id);
    queued.attempts++;
    queued.sentAt = performance.now();
    if (this.trace) {
      this.log.trace(
        `chunk '${chunk.id}' in flight: attempt ${queued.attempts}, ${this.inflight} in flight, ` +
          `${this.queue.length} queued`,
      );
    }
    pool.run(task).then(
      (result) => this.onResult(queued, result),
      (error: unknown) => this.onWorkerLost(queued, error),
    );
  }

  private onResult(queued: QueuedChunk, result: FlushResult): void {
    this.order.settled(queued.chunk.id, result.status === 'not_sent' || result.status === 'failed');
    workerStats(this.stats, result.worker).pongsIgnored = result.pongsIgnored;
    if (result.status === 'held') {
      // Not an attempt: back in line, behind the retry of the chunk that failed before it.
      queued.attempts--;
      if (this.trace) this.log.trace(`chunk '${queued.chunk.id}' queued again: held behind an earlier chunk's retry`);
      this.requeue(queued, 'queued');
      this.settled();
      return;
    }
    // Every attempt parses the chunk again; its malformed lines are reported once.
    if (queued.attempts === 1) {
      for (const report of result.malformed) {
        const source = queued.chunk.sources[report.source];
        if (source) this.hooks.onMalformed(this.name, { source, count: report.count, sample: report.sample });
      }
    }
    if (result.status === 'flushed') {
      countFlushed(this.stats, result.worker, {
        records: result.records,
        bytes: result.bytes,
        sealedAt: queued.chunk.sealedAt,
        resent: queued.maybeDelivered,
      });
      if (this.debug) this.logFlushed(queued, result.records, result.bytes, result.worker);
      if (queued.attempts > 1) {
        this.log.info(
          `flush chunk '${queued.chunk.id}' succeeded at retry ${queued.attempts - 1}: ` +
            `${result.records} records, worker #${result.worker}`,
        );
      }
      this.release(queued);
    } else {
      countFailedAttempt(this.stats, result.worker);
      if (this.trace) {
        this.log.trace(
          `chunk '${queued.chunk.id}' failed: attempt ${queued.attempts}, ` +
            `${result.status === 'not_sent' ? 'not sent' : 'written, not confirmed'}: ${describe(result.failure)}`,
        );
      }
      this.retryOrDrop(queued, result.status, result.failure, result.worker);
    }
    this.settled();
  }

  private retryOrDrop(
    queued: QueuedChunk,
    status: 'not_sent' | 'failed',
    failure: DeliveryFailure,
    worker: number,
    dropReason: DropReason = 'retry_limit',
  ): void {
    countFailure(this.stats, failure);
    const reason = describe(failure);
    if (status === 'failed') queued.maybeDelivered = true;
    const retriesDone = queued.attempts - 1;
    if (retriesDone >= this.config.retryLimit) {
      this.stats.retriesFailed++;
      this.log.error(
        `chunk '${queued.chunk.id}' cannot be retried (Retry_Limit ${this.config.retryLimit}): ` +
          `${queued.chunk.records} records dropped; last error: ${reason}`,
      );
      this.drop(queued, dropReason);
      return;
    }
    const delay = retryDelaySeconds(
      queued.attempts,
      this.service.schedulerBaseSeconds,
      this.service.schedulerCapSeconds,
    );
    countRetry(this.stats, failure);
    // A connection opened since this attempt began (the worker reconnected on its own): the
    // backoff would only wait for something that has already happened.
    queued.notBefore = this.lastHandshakeAt > queued.sentAt ? 0 : performance.now() + delay * 1000;
    const when = queued.notBefore === 0 ? 'retrying now on a new connection' : `retry in ${delay} seconds`;
    this.log.warn(
      `failed to flush chunk '${queued.chunk.id}', ${when}: ` +
        `${reason} (worker #${worker}, ${queued.chunk.records} records)`,
    );
    if (this.debug) {
      const limit = this.config.retryLimit === Infinity ? 'no limit' : `Retry_Limit ${this.config.retryLimit}`;
      this.log.debug(
        `retry ${retriesDone + 1} scheduled for chunk '${queued.chunk.id}' (${limit}): ` +
          `${queued.notBefore === 0 ? 'now' : `in ${delay} s`}`,
      );
    }
    if (this.trace) this.log.trace(`chunk '${queued.chunk.id}' queued again: retry ${retriesDone + 1}`);
    this.requeue(queued, queued.notBefore === 0 ? 'queued' : 'backoff');
  }

  /** -v: Fluent Bit's debug shows every flush; this says what it took. */
  private logFlushed(queued: QueuedChunk, records: number, bytes: number, worker: number): void {
    const now = performance.now();
    const verb = this.config.delivery === 'confirm' ? 'confirmed' : 'written';
    this.log.debug(
      `flushed chunk '${queued.chunk.id}': ${records} records, ${bytes} bytes, ` +
        `${verb} in ${(now - queued.sentAt).toFixed(1)} ms (${(now - queued.chunk.sealedAt).toFixed(1)} ms since sealed), ` +
        `attempt ${queued.attempts}, worker #${worker}`,
    );
  }

  /** Back into the queue in id order, so retries keep their place. */
  private requeue(queued: QueuedChunk, state: 'queued' | 'backoff'): void {
    this.move(queued, state);
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.chunk.id > queued.chunk.id) i--;
    this.queue.splice(i, 0, queued);
  }

  /**
   * The thread died with the chunk in flight (Piscina starts another). The arena is shared, so
   * the chunk is still here: it is retried like a failed attempt (it may have been written).
   * A chunk that keeps killing workers is given up at Retry_Limit, counted as worker_crash.
   */
  private onWorkerLost(queued: QueuedChunk, error: unknown): void {
    this.order.settled(queued.chunk.id, this.pool !== null);
    if (this.pool === null) {
      // Shutdown destroyed the pool with this chunk in flight: its file (if any) stays for the
      // next start; without one it is given up like the rest of the queue.
      if (!queued.stored) this.drop(queued, 'shutdown');
      return;
    }
    const failure: DeliveryFailure = {
      code: 'WSR_DELIVERY_WORKER_LOST',
      detail: `worker thread lost: ${error instanceof Error ? error.message : String(error)}`,
    };
    queued.crashes = (queued.crashes ?? 0) + 1;
    if (queued.crashes >= CRASHES_BEFORE_DROP) {
      // Piscina rejects a task that threw the same way as one whose thread died: a chunk that
      // fails like this twice would fail forever (with no_limits), so it is given up.
      countFailure(this.stats, failure);
      this.log.error(
        `chunk '${queued.chunk.id}' failed ${queued.crashes} attempts in a worker thread: ` +
          `${queued.chunk.records} records dropped; last error: ${describe(failure)}`,
      );
      this.drop(queued, 'worker_crash');
    } else {
      this.retryOrDrop(queued, 'failed', failure, -1, 'worker_crash');
    }
    this.settled();
  }

  private drop(queued: QueuedChunk, reason: DropReason): void {
    this.stats.dropped[reason] += queued.chunk.records;
    if (this.trace) {
      this.log.trace(
        `chunk '${queued.chunk.id}' dropped (${reason}): ${queued.chunk.records} records, ` +
          `after ${queued.attempts} attempt(s)`,
      );
    }
    this.release(queued);
  }

  /** Flushed or given up: its memory and its file go. */
  private release(queued: QueuedChunk): void {
    this.queuedBytes -= queued.chunk.byteLength;
    if (queued.chunk.arena.byteLength > 0) this.arenas.give(queued.chunk.arena);
    if (queued.stored) this.storage!.store.remove(queued.chunk.id);
  }

  private settled(): void {
    this.updatePressure();
    this.dispatch();
    if (this.nothingWaits && this.inflight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  private updatePressure(): void {
    // With filesystem storage, memory is bounded by storage.max_chunks_up (chunks beyond it live
    // on disk) and by the writes still pending; the inputs pause when writing fails or the files
    // reach storage.total_limit_size.
    const full =
      this.storage === null
        ? this.bufferedBytes > this.config.memBufLimitBytes
        : this.storage.blocked || this.storage.writingBytes + this.builder.openBytes > this.config.memBufLimitBytes;
    if (full === this.full) return;
    this.full = full;
    if (full && this.storage?.blocked) {
      const why =
        this.storage.lastWriteError ?? `storage.total_limit_size ${this.config.storageTotalLimitBytes} reached`;
      this.log.warn(`filesystem storage cannot take more (${why}): pausing inputs`);
    } else if (full) {
      this.log.warn(
        `buffer full (${this.bufferedBytes} bytes > Mem_Buf_Limit ` +
          `${this.config.memBufLimitBytes}): pausing inputs`,
      );
    } else {
      this.log.info(`buffer drained: resuming inputs`);
    }
    this.hooks.onPressure(full);
  }

  private onHandshake(failure: DeliveryFailure | null, worker: number, startedAt: number): void {
    countHandshake(this.stats, worker, failure, startedAt);
    if (failure !== null) return;
    this.lastHandshakeAt = performance.now();
    this.retryNow();
  }

  /** A connection has just opened: chunks waiting out a backoff can go now. */
  private retryNow(): void {
    if (this.endBackoffs()) this.dispatch();
  }

  /** Ends every backoff; true if one was running. */
  private endBackoffs(): boolean {
    let ended = false;
    for (const queued of this.queue) {
      if (queued.notBefore === 0) continue;
      queued.notBefore = 0;
      if (queued.state === 'backoff') this.move(queued, 'queued');
      ended = true;
    }
    return ended;
  }

  private move(queued: QueuedChunk, to: ChunkState): void {
    const from = queued.state;
    if (!moveTo(queued, to)) {
      this.log.burst(
        'error',
        `chunk state ${this.name}`,
        `chunk '${queued.chunk.id}' moved from ${from} to ${to}, ` +
          `a move its state diagram does not have (a bug: please report it)`,
      );
    }
    if (this.trace) this.log.trace(`chunk '${queued.chunk.id}': ${from} → ${to}`);
  }
}
