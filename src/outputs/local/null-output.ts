// `null`: discards what it matches, counting it (Fluent Bit's null output). Useful beside a
// real output while testing routing, and to measure inputs alone.
import type { NullOutputConfig } from '../../config/types.js';
import type { OutputPlugin, Undelivered } from '../../engine/plugins.js';
import { newOutputStats, type OutputBufferState, type OutputStats } from '../../engine/stats.js';

export class NullOutput implements OutputPlugin {
  readonly name: string;
  readonly stats: OutputStats = newOutputStats();
  readonly isFull = false;

  constructor(private readonly config: NullOutputConfig) {
    this.name = config.name;
  }

  get match(): string | null { return this.config.match; }
  get matchRegex(): string | null { return this.config.matchRegex; }

  start(): void {
    // Nothing to open: readiness (stats.failingSince) stays null.
  }

  append(_source: unknown, _kind: unknown, _time: unknown, data: Buffer, start: number, end: number, records: number): void {
    this.stats.records += records;
    this.stats.bytes += end - start;
    void data;
  }

  sealOpenChunk(): void {
    // Nothing is buffered.
  }

  drain(): Promise<Undelivered> {
    return Promise.resolve({ chunks: 0, records: 0 });
  }

  async stop(): Promise<void> {
    // Nothing to close.
  }

  bufferState(): OutputBufferState {
    return { bytes: 0, limitBytes: 0, chunksQueued: 0, chunksInFlight: 0, workers: 0, poolUtilization: 0, poolQueueSize: 0 };
  }
}
