// Fluent Bit's dummy input: the same record, `Copies` times per event, `Rate` events a second,
// `Samples` events in all (0 = forever). For trying outputs and for the load harness.
import { SegmentKind, type ChunkSource } from '../chunk/layout.js';
import type { DummyInputConfig } from '../config/types.js';
import type { InputPlugin, SegmentSink } from '../engine/plugins.js';
import { newInputStats, type InputStats } from '../engine/stats.js';
import type { Logger } from '../log.js';
import { eventTimeNow } from '../time.js';

/** High rates are emitted in batches on a 10 ms tick rather than one timer per event. */
const TICK_MS = 10;

export class DummyInput implements InputPlugin {
  readonly name: string;
  readonly stats: InputStats = newInputStats();
  readonly staticTag: string;
  ready = false;
  private readonly log: Logger;
  private readonly source: ChunkSource;
  private readonly line: Buffer;
  private timer: NodeJS.Timeout | null = null;
  private events = 0;
  private owed = 0;
  private lastTick = 0;

  constructor(
    private readonly config: DummyInputConfig,
    private readonly sink: SegmentSink,
    log: Logger,
  ) {
    this.name = config.name;
    this.staticTag = config.tag;
    this.log = log.child(`input:dummy:${config.name}`);
    this.source = Object.freeze({ input: config.name, tag: config.tag, peer: 'dummy', separator: '\n' });
    this.line = Buffer.from(`${config.dummy}\n`);
  }

  start(): Promise<void> {
    const period = Math.max(TICK_MS, Math.min(1000, 1000 / this.config.rate));
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), period);
    this.ready = true;
    this.log.info(`generating ${this.config.rate} event(s)/s of ${this.config.copies} record(s)`);
    return Promise.resolve();
  }

  setPaused(paused: boolean): void {
    this.stats.paused = paused;
  }

  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return Promise.resolve();
  }

  private tick(): void {
    const now = performance.now();
    const elapsed = now - this.lastTick;
    this.lastTick = now;
    if (this.stats.paused) return; // what is not emitted while paused is not owed later
    this.owed += (elapsed / 1000) * this.config.rate;
    let due = Math.floor(this.owed);
    this.owed -= due;
    if (this.config.samples > 0) due = Math.min(due, this.config.samples - this.events);
    if (due <= 0) return;
    this.events += due;
    const records = due * this.config.copies;
    const batch = Buffer.alloc(this.line.length * records);
    for (let i = 0; i < records; i++) this.line.copy(batch, i * this.line.length);
    this.stats.records += records;
    this.stats.bytes += batch.length;
    this.sink.append(this.source, SegmentKind.JsonLines, eventTimeNow(), batch, 0, batch.length, records);
    if (this.config.samples > 0 && this.events >= this.config.samples) void this.stop();
  }
}
