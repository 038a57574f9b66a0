// Fluent Bit's cpu and mem inputs: a sample of /proc every Interval_Sec + Interval_NSec, one
// record per tick, entering the pipeline as a JSON line (like dummy). A tick whose sample
// cannot be taken is skipped and logged once per burst; a tick that finds the previous read
// still pending is skipped too, so a stalled /proc never piles up reads.
import { SegmentKind, type ChunkSource } from '../chunk/layout.js';
import type { CpuInputConfig, MemInputConfig } from '../config/types.js';
import type { InputPlugin, SegmentSink } from '../engine/plugins.js';
import { newInputStats, type InputStats } from '../engine/stats.js';
import type { Logger } from '../log.js';
import { eventTimeNow } from '../time.js';
import { MemSampler, ProcessCpuSampler, SystemCpuSampler, type ProcPaths, type Sampler } from './proc-samplers.js';

export class ProcInput implements InputPlugin {
  readonly name: string;
  readonly stats: InputStats = newInputStats();
  readonly staticTag: string;
  ready = false;
  private readonly log: Logger;
  private readonly source: ChunkSource;
  private readonly sampler: Sampler;
  private timer: NodeJS.Timeout | null = null;
  private pending: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly config: CpuInputConfig | MemInputConfig,
    private readonly sink: SegmentSink,
    log: Logger,
    proc?: ProcPaths,
  ) {
    this.name = config.name;
    this.staticTag = config.tag;
    this.log = log.child(`input:${config.plugin}:${config.name}`);
    this.source = Object.freeze({ input: config.name, tag: config.tag, peer: config.plugin, separator: '\n' });
    if (config.plugin === 'mem') {
      this.sampler = new MemSampler(config.pid, proc, (reason) => this.log.warn(reason));
    } else {
      this.sampler = config.pid === null ? new SystemCpuSampler(proc) : new ProcessCpuSampler(config.pid, proc);
    }
  }

  async start(): Promise<void> {
    // cpu: the first sample is the baseline of the first record's deltas, taken at start as
    // Fluent Bit's init takes it, so the first tick already has a record.
    if (this.config.plugin === 'cpu') await this.take();
    this.timer = setInterval(() => this.tick(), this.config.intervalMs);
    this.ready = true;
    const what = this.config.pid === null ? 'the machine' : `process ${this.config.pid}`;
    this.log.info(`sampling ${what} every ${this.config.intervalMs} ms`);
  }

  setPaused(paused: boolean): void {
    this.stats.paused = paused;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.pending;
  }

  private tick(): void {
    if (this.stats.paused || this.pending !== null) return;
    // A sampler's own failures are results; anything else that escapes skips the tick, logged,
    // rather than becoming an unhandled rejection that would end the process.
    this.pending = this.take()
      .catch((error: unknown) => {
        this.log.burst(
          'error',
          `${this.name} tick`,
          `tick failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      })
      .finally(() => {
        this.pending = null;
      });
  }

  private async take(): Promise<void> {
    const result = await this.sampler.sample();
    if ('skipped' in result) {
      this.log.burst('warn', `${this.name} sample`, `${result.skipped}: tick skipped`);
      return;
    }
    if (!('record' in result) || this.stopped) return; // the baseline, or stopped meanwhile
    const line = Buffer.from(`${JSON.stringify(result.record)}\n`);
    this.stats.records += 1;
    this.stats.bytes += line.length;
    this.sink.append(this.source, SegmentKind.JsonLines, eventTimeNow(), line, 0, line.length, 1);
  }
}
