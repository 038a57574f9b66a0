// What the engine needs from an input and from an output, whatever the plugin.
import type { ChunkSource, SegmentKind } from '../chunk/layout.js';
import type { EventTime } from '../encode/types.js';
import type { InputStats, OutputBufferState, OutputStats } from './stats.js';

/** Where inputs put what they read: the engine routes it by tag to every matching output. */
export interface SegmentSink {
  append(
    source: ChunkSource,
    kind: SegmentKind,
    time: EventTime,
    data: Buffer,
    start: number,
    end: number,
    records: number,
  ): void;
  /** False while an output this tag routes to is over its Mem_Buf_Limit (http answers 503). */
  accepts(tag: string): boolean;
  /**
   * Filesystem inputs, before acknowledging: resolves once what was appended for this tag is
   * written under storage.path, rejects if it could not be; null when no output stores it.
   */
  stored(tag: string): Promise<void> | null;
}

export interface InputPlugin {
  readonly name: string;
  readonly stats: InputStats;
  /** The one tag it emits, or null when tags come with the data (http paths, forward). */
  readonly staticTag: string | null;
  /** True once listening (or running, for inputs without a socket). */
  readonly ready: boolean;
  start(): Promise<void>;
  /** Backpressure: stop reading (sockets pause, generators wait) until false again. */
  setPaused(paused: boolean): void;
  stop(): Promise<void>;
}

export interface Undelivered {
  readonly chunks: number;
  readonly records: number;
}

export interface MalformedNotice {
  readonly source: ChunkSource;
  readonly count: number;
  readonly sample: string;
}

export interface OutputHooks {
  /** Buffered bytes crossed the Mem_Buf_Limit (true) or fell back under it (false). */
  onPressure(full: boolean): void;
  onMalformed(output: string, notice: MalformedNotice): void;
}

export interface OutputPlugin {
  readonly name: string;
  readonly match: string | null;
  readonly matchRegex: string | null;
  readonly stats: OutputStats;
  readonly isFull: boolean;
  /** May return a promise (an output that listens): the engine awaits it before starting inputs. */
  start(): void | Promise<void>;
  append(
    source: ChunkSource,
    kind: SegmentKind,
    time: EventTime,
    data: Buffer,
    start: number,
    end: number,
    records: number,
  ): void;
  /** The Flush timer: seal what is buffered and send it. */
  sealOpenChunk(): void;
  /** Filesystem storage: resolves once what was appended is in chunk files (absent or null: memory). */
  whenStored?(): Promise<void> | null;
  /** Delivers what is buffered, or gives up after timeoutMs. */
  drain(timeoutMs: number): Promise<Undelivered>;
  stop(): Promise<void>;
  bufferState(): OutputBufferState;
}
