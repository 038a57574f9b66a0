// `null`: discards what it matches, counting it (Fluent Bit's null output). Useful beside a
// real output while testing routing, and to measure inputs alone.
import type { ChunkSource, SegmentKind } from '../../chunk/layout.js';
import type { NullOutputConfig } from '../../config/types.js';
import type { EventTime } from '../../encode/types.js';
import { newOutputStats } from '../../engine/stats.js';
import type { Logger } from '../../log.js';
import { MainThreadOutput } from '../main-thread-output.js';

export class NullOutput extends MainThreadOutput {
  constructor(config: NullOutputConfig, log: Logger) {
    super(config, newOutputStats('null'), log, 0); // 0: it fills no chunk
  }

  /**
   * Counted as it comes and kept nowhere: no chunk is ever filled, so its counts are current at
   * once and measuring an input alone costs it no copy. The Flush timer and drain find nothing.
   */
  override append(
    _source: ChunkSource,
    _kind: SegmentKind,
    _time: EventTime,
    _data: Buffer,
    start: number,
    end: number,
    records: number,
  ): void {
    this.stats.records += records;
    this.stats.bytes += end - start;
  }

  protected deliver(): void {
    // Never called: append fills no chunk.
  }
}
