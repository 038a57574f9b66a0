// Wires a resolved pipeline together: inputs frame records and the router appends them to the
// chunks of every matching output; a Flush timer seals open chunks; backpressure from an
// output pauses the inputs that feed it; shutdown drains within Grace seconds.
import type { ChunkSource, SegmentKind } from '../chunk/layout.js';
import type { PipelineConfig } from '../config/types.js';
import type { EventTime } from '../encode/types.js';
import type { Logger } from '../log.js';
import { TcpInput, type SegmentSink } from '../inputs/tcp-input.js';
import { WebSocketOutput, type MalformedNotice } from '../outputs/websocket/output.js';
import { Router } from './router.js';
import type { InputStats, OutputBufferState, OutputStats } from './stats.js';

export interface EngineStats {
  readonly inputs: Record<string, InputStats>;
  readonly outputs: Record<string, OutputStats>;
  readonly buffers: Record<string, OutputBufferState>;
}

export interface ShutdownReport {
  readonly undeliveredRecords: number;
  readonly undeliveredChunks: number;
}

export class Engine implements SegmentSink {
  readonly inputs: TcpInput[];
  readonly outputs: WebSocketOutput[];
  private readonly router: Router<WebSocketOutput>;
  private readonly log: Logger;
  private flushTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<ShutdownReport> | null = null;

  constructor(private readonly config: PipelineConfig, log: Logger) {
    this.log = log.child('engine');
    this.outputs = config.outputs.map((outputConfig) => new WebSocketOutput(outputConfig, config.service, log, {
      onPressure: () => this.applyBackpressure(),
      onMalformed: (notice) => this.reportMalformed(notice),
    }));
    this.router = new Router(this.outputs);
    this.inputs = config.inputs.map((inputConfig) => new TcpInput(inputConfig, this, log));
  }

  async start(): Promise<void> {
    this.log.info(`started (pid=${process.pid})`);
    for (const output of this.outputs) output.start();
    try {
      for (const input of this.inputs) await input.start();
    } catch (error) {
      await Promise.allSettled(this.inputs.map((input) => input.stop()));
      await Promise.allSettled(this.outputs.map((output) => output.stop()));
      throw error;
    }
    for (const input of this.inputs) {
      if (this.router.route(input.tag).length === 0) {
        this.log.warn(`no output matches tag '${input.tag}' of ${input.name}: its records are discarded`);
      }
    }
    this.flushTimer = setInterval(() => {
      for (const output of this.outputs) output.sealOpenChunk();
    }, this.config.service.flushSeconds * 1000);
  }

  append(source: ChunkSource, kind: SegmentKind, time: EventTime,
    data: Buffer, start: number, end: number, records: number): void {
    const outputs = this.router.route(source.tag);
    for (let i = 0; i < outputs.length; i++) outputs[i]!.append(source, kind, time, data, start, end, records);
  }

  stats(): EngineStats {
    return {
      inputs: Object.fromEntries(this.inputs.map((input) => [input.name, input.stats])),
      outputs: Object.fromEntries(this.outputs.map((output) => [output.name, output.stats])),
      buffers: Object.fromEntries(this.outputs.map((output) => [output.name, output.bufferState()])),
    };
  }

  /** Stops inputs, delivers what is buffered within Grace seconds, closes connections. */
  shutdown(): Promise<ShutdownReport> {
    this.stopping ??= this.runShutdown();
    return this.stopping;
  }

  private async runShutdown(): Promise<ShutdownReport> {
    const grace = this.config.service.graceSeconds;
    this.log.warn(`service will stop in ${grace} seconds`);
    if (this.flushTimer) clearInterval(this.flushTimer);
    await Promise.all(this.inputs.map((input) => input.stop()));
    const deadline = grace * 1000;
    const left = await Promise.all(this.outputs.map((output) => output.drain(deadline)));
    await Promise.all(this.outputs.map((output) => output.stop()));
    const report = {
      undeliveredRecords: left.reduce((sum, l) => sum + l.records, 0),
      undeliveredChunks: left.reduce((sum, l) => sum + l.chunks, 0),
    };
    if (report.undeliveredRecords > 0 || report.undeliveredChunks > 0) {
      this.log.error(`${report.undeliveredRecords} records in ${report.undeliveredChunks} chunks ` +
        `were not delivered within Grace (${grace} s)`);
    }
    this.log.info('service stopped');
    this.log.flushBursts();
    return report;
  }

  /** An input pauses while any output its tag routes to is over its Mem_Buf_Limit. */
  private applyBackpressure(): void {
    for (const input of this.inputs) {
      const full = this.router.route(input.tag).some((output) => output.isFull);
      if (full !== input.stats.paused) {
        this.log.info(`${full ? 'pausing' : 'resuming'} ${input.name}`);
        input.setPaused(full);
      }
    }
  }

  private reportMalformed(notice: MalformedNotice): void {
    const input = this.inputs.find((candidate) => candidate.name === notice.source.input);
    if (input) input.stats.malformed += notice.count;
    this.log.burst('warn', `malformed ${notice.source.input} ${notice.source.peer}`,
      `[input:tcp:${notice.source.input}] ${notice.count} invalid JSON message(s) from ` +
      `${notice.source.peer} skipped; first: ${notice.sample}`);
  }
}
