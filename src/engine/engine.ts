// Wires a resolved pipeline together: inputs frame records and the router appends them to the
// chunks of every matching output (each output has its own buffer and, for websocket, its own
// pool); a Flush timer seals open chunks; backpressure from an output pauses the inputs that
// feed it; shutdown drains within Grace seconds.
import type { ChunkSource, SegmentKind } from '../chunk/layout.js';
import type { InputConfig, OutputConfig, PipelineConfig } from '../config/types.js';
import type { EventTime } from '../encode/types.js';
import type { Logger } from '../log.js';
import { DummyInput } from '../inputs/dummy-input.js';
import { ProcInput } from '../inputs/proc-input.js';
import { ForwardInput } from '../inputs/forward-input.js';
import { HttpInput } from '../inputs/http-input.js';
import { TcpInput } from '../inputs/tcp-input.js';
import { NullOutput } from '../outputs/local/null-output.js';
import { StdoutOutput } from '../outputs/local/stdout-output.js';
import { WebSocketOutput } from '../outputs/websocket/main/output.js';
import { WebSocketServerOutput } from '../outputs/server/output.js';
import type { InputPlugin, MalformedNotice, OutputHooks, OutputPlugin, SegmentSink } from './plugins.js';
import type { EngineStats, MetricsSource } from './stats.js';
import { describeError } from './contain.js';
import { Router } from './router.js';
import { storageDirFor } from '../storage/output-storage.js';

export interface ShutdownReport {
  readonly undeliveredRecords: number;
  readonly undeliveredChunks: number;
}

function createOutput(config: OutputConfig, pipeline: PipelineConfig, log: Logger, hooks: OutputHooks): OutputPlugin {
  switch (config.plugin) {
    case 'websocket':
      return new WebSocketOutput(config, pipeline.service, log, hooks, storageDirFor(config, pipeline));
    case 'stdout':
      return new StdoutOutput(config, hooks, log);
    case 'null':
      return new NullOutput(config, log);
    case 'websocket_server':
      return new WebSocketServerOutput(config, log, hooks);
  }
}

function createInput(config: InputConfig, sink: SegmentSink, log: Logger): InputPlugin {
  switch (config.plugin) {
    case 'tcp':
      return new TcpInput(config, sink, log);
    case 'http':
      return new HttpInput(config, sink, log);
    case 'forward':
      return new ForwardInput(config, sink, log);
    case 'dummy':
      return new DummyInput(config, sink, log);
    case 'cpu':
    case 'mem':
      return new ProcInput(config, sink, log);
  }
}

export class Engine implements SegmentSink, MetricsSource {
  readonly inputs: InputPlugin[];
  readonly outputs: OutputPlugin[];
  private readonly router: Router<OutputPlugin>;
  private readonly log: Logger;
  private flushTimer: NodeJS.Timeout | null = null;
  private stopping: Promise<ShutdownReport> | null = null;

  constructor(
    private readonly config: PipelineConfig,
    log: Logger,
  ) {
    this.log = log.child('engine');
    const hooks: OutputHooks = {
      onPressure: () => this.applyBackpressure(),
      onMalformed: (output, notice) => this.reportMalformed(output, notice),
    };
    this.outputs = config.outputs.map((outputConfig) => createOutput(outputConfig, config, log, hooks));
    this.router = new Router(this.outputs);
    this.inputs = config.inputs.map((inputConfig) => createInput(inputConfig, this, log));
  }

  /** Starts every output, then every input; `started` is logged only once all of them listen. */
  async start(): Promise<void> {
    try {
      // Inside the try: an output that listens (websocket_server) can fail to start too.
      for (const output of this.outputs) await output.start();
      for (const input of this.inputs) await input.start();
    } catch (error) {
      await Promise.allSettled(this.inputs.map((input) => input.stop()));
      await Promise.allSettled(this.outputs.map((output) => output.stop()));
      throw error;
    }
    this.log.info(`started (pid=${process.pid})`);
    for (const input of this.inputs) {
      if (input.staticTag !== null && this.router.route(input.staticTag).length === 0) {
        this.log.warn(`no output matches tag '${input.staticTag}' of ${input.name}: its records are discarded`);
      }
    }
    this.flushTimer = setInterval(() => {
      for (const output of this.outputs) {
        try {
          output.sealOpenChunk();
        } catch (error) {
          // Sealed chunks are contained by each output (contain.ts); this is the timer's own last guard.
          this.log.burst('error', `flush ${output.name}`, `flushing ${output.name} failed: ${describeError(error)}`);
        }
      }
    }, this.config.service.flushSeconds * 1000);
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
    const outputs = this.router.route(source.tag);
    for (let i = 0; i < outputs.length; i++) outputs[i]!.append(source, kind, time, data, start, end, records);
  }

  /** Filesystem storage: resolves once what was appended for this tag is in chunk files. */
  stored(tag: string): Promise<void> | null {
    let waits: Array<Promise<void>> | null = null;
    for (const output of this.router.route(tag)) {
      const stored = output.whenStored?.() ?? null;
      if (stored !== null) (waits ??= []).push(stored);
    }
    if (waits === null) return null;
    return waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
  }

  accepts(tag: string): boolean {
    return !this.router.route(tag).some((output) => output.isFull);
  }

  /** Every input is listening (or running): the readiness probe's first half. */
  inputsListening(): boolean {
    return this.inputs.every((input) => input.ready);
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
    const left = await Promise.all(this.outputs.map((output) => output.drain(grace * 1000)));
    await Promise.all(this.outputs.map((output) => output.stop()));
    const report = {
      undeliveredRecords: left.reduce((sum, l) => sum + l.records, 0),
      undeliveredChunks: left.reduce((sum, l) => sum + l.chunks, 0),
    };
    if (report.undeliveredRecords > 0 || report.undeliveredChunks > 0) {
      this.log.error(
        `${report.undeliveredRecords} records in ${report.undeliveredChunks} chunks ` +
          `were not delivered within Grace (${grace} s)`,
      );
    }
    this.log.info('service stopped');
    this.log.flushBursts();
    return report;
  }

  /**
   * An input pauses while any output its tag routes to is over its Mem_Buf_Limit; an input whose
   * tags come with the data pauses while any output is.
   */
  private applyBackpressure(): void {
    const anyFull = this.outputs.some((output) => output.isFull);
    for (const input of this.inputs) {
      const full = input.staticTag === null ? anyFull : !this.accepts(input.staticTag);
      if (full !== input.stats.paused) {
        this.log.info(`${full ? 'pausing' : 'resuming'} ${input.name}`);
        input.setPaused(full);
      }
    }
  }

  /**
   * Every output that parses a chunk finds the same malformed lines: count and log them once,
   * from the first output the tag routes to.
   */
  private reportMalformed(output: string, notice: MalformedNotice): void {
    if (this.router.route(notice.source.tag)[0]?.name !== output) return;
    const input = this.inputs.find((candidate) => candidate.name === notice.source.input);
    if (input) input.stats.malformed += notice.count;
    this.log.burst(
      'warn',
      `malformed ${notice.source.input} ${notice.source.peer}`,
      `[input:${notice.source.input}] ${notice.count} invalid record(s) from ` +
        `${notice.source.peer} skipped; first: ${notice.sample}`,
    );
  }
}
