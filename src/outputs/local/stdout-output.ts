// `stdout`: records as JSON lines (or a JSON array per chunk) on standard output, for debugging
// a pipeline. Runs on the main thread: it is for people reading a terminal, not for throughput.
import { hostname } from 'node:os';
import { ArenaPool, ChunkBuilder, type SealedChunk } from '../../chunk/chunk-builder.js';
import { decodeChunk } from '../../chunk/segments.js';
import type { ChunkSource, SegmentKind } from '../../chunk/layout.js';
import type { StdoutOutputConfig } from '../../config/types.js';
import { createEncoder } from '../../encode/index.js';
import type { Encoder, EventTime } from '../../encode/types.js';
import type { OutputHooks, OutputPlugin, Undelivered } from '../../engine/plugins.js';
import { containChunk } from '../../engine/contain.js';
import type { Logger } from '../../log.js';
import { newOutputStats, type OutputBufferState, type OutputStats } from '../../engine/stats.js';

const CHUNK_BYTES = 256 * 1024;
const NEWLINE = Buffer.from('\n');

export type TextWriter = (text: Buffer, done: () => void) => void;

const writeStdout: TextWriter = (text, done) => { process.stdout.write(text, () => done()); };

export class StdoutOutput implements OutputPlugin {
  readonly name: string;
  readonly stats: OutputStats = newOutputStats();
  readonly isFull = false;
  private readonly encoder: Encoder;
  private readonly builder: ChunkBuilder;
  private pendingWrites = 0;
  private idle: Array<() => void> = [];

  constructor(private readonly config: StdoutOutputConfig, private readonly hooks: OutputHooks,
    log: Logger, private readonly write: TextWriter = writeStdout) {
    this.name = config.name;
    this.encoder = createEncoder({
      format: config.format, dateKey: config.dateKey, dateFormat: config.dateFormat, hostname: hostname(),
      gelf: { shortMessageKey: null, fullMessageKey: null, timestampKey: null, hostKey: null, levelKey: null },
    });
    this.builder = new ChunkBuilder(CHUNK_BYTES, new ArenaPool(CHUNK_BYTES, 2),
      containChunk(`output:stdout:${config.name}`, this.stats, log.child(`output:stdout:${config.name}`), (chunk) => this.flush(chunk)));
  }

  get match(): string | null { return this.config.match; }
  get matchRegex(): string | null { return this.config.matchRegex; }

  start(): void {
    // Nothing to open: readiness (stats.failingSince) stays null.
  }

  append(source: ChunkSource, kind: SegmentKind, time: EventTime,
    data: Buffer, start: number, end: number, records: number): void {
    this.builder.append(source, kind, time, data, start, end, records);
  }

  sealOpenChunk(): void {
    this.builder.seal();
  }

  async drain(timeoutMs: number): Promise<Undelivered> {
    this.builder.seal();
    if (this.pendingWrites > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.idle.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return { chunks: this.pendingWrites, records: 0 };
  }

  async stop(): Promise<void> {
    // Nothing to close: standard output belongs to the process.
  }

  bufferState(): OutputBufferState {
    return {
      bytes: this.builder.openBytes, limitBytes: CHUNK_BYTES, chunksQueued: 0, chunksInFlight: this.pendingWrites,
      workers: 0, poolUtilization: 0, poolQueueSize: 0,
    };
  }

  private flush(chunk: SealedChunk): void {
    const decoded = decodeChunk(chunk.arena, chunk.byteLength, chunk.sources);
    for (const report of decoded.malformed) {
      const source = chunk.sources[report.source];
      if (source) this.hooks.onMalformed(this.name, { source, count: report.count, sample: report.sample });
    }
    if (decoded.records.length === 0) return;
    const text = this.encoder.encode(decoded.records);
    const sealedAt = chunk.sealedAt;
    this.pendingWrites++;
    // A json array has no newline of its own; a terminal wants one after each chunk.
    const payload = this.config.format === 'json' ? Buffer.concat([text, NEWLINE]) : text;
    this.write(payload, () => {
      this.pendingWrites--;
      this.stats.chunksFlushed++;
      this.stats.records += decoded.records.length;
      this.stats.bytes += text.length;
      this.stats.flushSeconds.observe((performance.now() - sealedAt) / 1000);
      this.stats.chunkRecords.observe(decoded.records.length);
      this.stats.chunkBytes.observe(text.length);
      if (this.pendingWrites === 0) {
        const waiters = this.idle;
        this.idle = [];
        for (const wake of waiters) wake();
      }
    });
  }
}
