// `stdout`: records as JSON lines (or a JSON array per chunk) on standard output, for debugging
// a pipeline. Runs on the main thread: it is for people reading a terminal, not for throughput.
import { hostname } from 'node:os';
import type { SealedChunk } from '../../chunk/chunk-builder.js';
import { decodeChunk } from '../../chunk/segments.js';
import type { StdoutOutputConfig } from '../../config/types.js';
import { createEncoder } from '../../encode/index.js';
import type { Encoder } from '../../encode/types.js';
import type { OutputHooks, Undelivered } from '../../engine/plugins.js';
import type { Logger } from '../../log.js';
import { newOutputStats, type OutputBufferState } from '../../engine/stats.js';
import { MainThreadOutput } from '../main-thread-output.js';

const CHUNK_BYTES = 256 * 1024;
const NEWLINE = Buffer.from('\n');

export type TextWriter = (text: Buffer, done: () => void) => void;

const writeStdout: TextWriter = (text, done) => {
  process.stdout.write(text, () => done());
};

export class StdoutOutput extends MainThreadOutput {
  private readonly encoder: Encoder;
  private pendingWrites = 0;

  constructor(
    private readonly config: StdoutOutputConfig,
    private readonly hooks: OutputHooks,
    log: Logger,
    private readonly write: TextWriter = writeStdout,
  ) {
    super(config, newOutputStats('stdout'), log, CHUNK_BYTES);
    this.encoder = createEncoder({
      format: config.format,
      dateKey: config.dateKey,
      dateFormat: config.dateFormat,
      hostname: hostname(),
      gelf: { shortMessageKey: null, fullMessageKey: null, timestampKey: null, hostKey: null, levelKey: null },
    });
  }

  override bufferState(): OutputBufferState {
    return { ...super.bufferState(), limitBytes: CHUNK_BYTES, chunksInFlight: this.pendingWrites };
  }

  protected override busy(): boolean {
    return this.pendingWrites > 0;
  }

  protected override undelivered(): Undelivered {
    return { chunks: this.pendingWrites, records: 0 };
  }

  protected deliver(chunk: SealedChunk): void {
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
      this.settled();
    });
  }
}
