// The shell of an output that runs on the main thread (stdout, null, websocket_server): what the
// engine asks of every output, the chunk being filled, and shutdown's wait. A subclass says
// what it does with a sealed chunk (deliver) and, when that goes on after deliver returns (a
// write to finish, clients to read their queues), whether it is still busy and when that may
// have changed (settled).
import { ArenaPool, ChunkBuilder, type SealedChunk } from '../chunk/chunk-builder.js';
import type { ChunkSource, SegmentKind } from '../chunk/layout.js';
import type { EventTime } from '../encode/types.js';
import { containChunk } from '../engine/contain.js';
import type { OutputPlugin, Undelivered } from '../engine/plugins.js';
import type { OutputBufferState, OutputKind, OutputStats } from '../engine/stats.js';
import type { Logger } from '../log.js';

/** What names an output and picks its records: every output section has these. */
export interface OutputIdentity {
  readonly plugin: OutputKind;
  readonly name: string;
  readonly match: string | null;
  readonly matchRegex: string | null;
}

const NOTHING_LEFT: Undelivered = { chunks: 0, records: 0 };

export abstract class MainThreadOutput<S extends OutputStats = OutputStats> implements OutputPlugin {
  readonly name: string;
  /**
   * No Mem_Buf_Limit, so inputs never pause for these outputs: each sealed chunk is handed on
   * at once (written, broadcast), and what websocket_server's clients cannot take falls under
   * their queue policy.
   */
  readonly isFull = false;
  /** `output:<plugin>:<name>`, the prefix of everything this output logs. */
  protected readonly label: string;
  protected readonly log: Logger;
  private readonly builder: ChunkBuilder;
  private drainWaiters: Array<() => void> = [];

  protected constructor(
    private readonly identity: OutputIdentity,
    readonly stats: S,
    log: Logger,
    chunkBytes: number,
  ) {
    this.name = identity.name;
    this.label = `output:${identity.plugin}:${identity.name}`;
    this.log = log.child(this.label);
    this.builder = new ChunkBuilder(
      chunkBytes,
      new ArenaPool(chunkBytes, 2),
      containChunk(this.label, stats, this.log, (chunk) => this.deliver(chunk)),
    );
  }

  get match(): string | null {
    return this.identity.match;
  }
  get matchRegex(): string | null {
    return this.identity.matchRegex;
  }

  /** What this output does with a sealed chunk; a throw drops that chunk, counted as output_error. */
  protected abstract deliver(chunk: SealedChunk): void;

  /** Something handed on is still under way: drain waits until this turns false (or its timeout). */
  protected busy(): boolean {
    return false;
  }

  /** What drain reports as not delivered when it gives up (after its timeout, or at once). */
  protected undelivered(): Undelivered {
    return NOTHING_LEFT;
  }

  /** Called by the subclass when busy() may have turned false: a drain waiting for it looks again. */
  protected settled(): void {
    if (this.drainWaiters.length === 0 || this.busy()) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  start(): void | Promise<void> {
    // Nothing to open.
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
  }

  sealOpenChunk(): void {
    this.builder.seal();
  }

  /** Hands on what is buffered, then waits until nothing is under way, or timeoutMs. */
  async drain(timeoutMs: number): Promise<Undelivered> {
    this.builder.seal();
    if (this.busy()) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          this.drainWaiters = this.drainWaiters.filter((waiter) => waiter !== wake);
          resolve();
        }, timeoutMs);
        this.drainWaiters.push(wake);
      });
    }
    return this.undelivered();
  }

  stop(): Promise<void> {
    return Promise.resolve(); // nothing to close
  }

  /** The open chunk; a subclass adds what it holds after deliver. */
  bufferState(): OutputBufferState {
    return {
      bytes: this.builder.openBytes,
      limitBytes: 0,
      chunksQueued: 0,
      chunksInFlight: 0,
      workers: 0,
      poolUtilization: 0,
      poolQueueSize: 0,
    };
  }
}
