// `websocket_server`: the relay as a WebSocket server broadcasting records to whoever is
// connected (fluent-plugin-websocket's model, eKuiper's server mode), without the plugin's
// defects: refused clients get HTTP 401/403 before any upgrade, filters compare by type,
// replays go only to the new client, slow clients are bounded, losses are counted.
//
// Records are buffered in a chunk like every output and broadcast when it is sealed (at
// chunk size or on the Flush timer). A broadcast never waits for anyone: this output never
// applies backpressure to the inputs, and what a client cannot take falls under its queue
// policy. With no client connected, records are discarded, as the reference does, but
// counted (dropped, reason no_clients) — still kept for replay when buffered_messages is set.
import type { SealedChunk } from '../../chunk/chunk-builder.js';
import type { WebSocketServerOutputConfig } from '../../config/types.js';
import type { OutputHooks } from '../../engine/plugins.js';
import { newConnectionOutputStats, type ConnectionOutputStats, type OutputBufferState } from '../../engine/stats.js';
import type { Logger } from '../../log.js';
import { MainThreadOutput } from '../main-thread-output.js';
import { Hub } from './hub.js';
import { MessageEncoder } from './messages.js';
import { decodeTagged } from './records.js';
import { FeedServer } from './server.js';

/**
 * A chunk is sealed at this size: the unit of one socket write per client. Big enough that
 * a hundred clients cost a hundred writes per ~2,000 records, small enough that a json_lines
 * frame stays well under a megabyte.
 */
const CHUNK_BYTES = 256 * 1024;

export class WebSocketServerOutput extends MainThreadOutput<ConnectionOutputStats> {
  private readonly hub: Hub;
  private readonly encoder: MessageEncoder;
  private readonly server: FeedServer;

  constructor(
    config: WebSocketServerOutputConfig,
    log: Logger,
    private readonly hooks: OutputHooks,
  ) {
    super(config, newConnectionOutputStats('websocket_server'), log, CHUNK_BYTES);
    this.hub = new Hub(
      {
        format: config.format,
        bufferedMessages: config.bufferedMessages,
        maxClientQueueBytes: config.maxClientQueueBytes,
        slowClientPolicy: config.slowClientPolicy,
      },
      this.stats,
      this.log,
      () => this.settled(),
    );
    this.encoder = new MessageEncoder({
      useMsgpack: config.useMsgpack,
      addTag: config.addTag,
      addTime: config.addTime,
      withIds: this.hub.withIds,
      lines: config.format === 'json_lines',
    });
    this.server = new FeedServer(config, this.hub, this.stats, this.log);
  }

  /** The port actually bound (differs from the config when it asked for 0). */
  get port(): number {
    return this.server.port;
  }

  /** Clients connected now. */
  get clientCount(): number {
    return this.hub.clients.size;
  }

  /** Listens; rejects (port in use, unreadable TLS files) so the relay stops with the reason. */
  override async start(): Promise<void> {
    await this.server.start(this.label);
  }

  override async stop(): Promise<void> {
    await this.server.stop();
  }

  override bufferState(): OutputBufferState {
    // No limit: this output never pauses inputs (what clients cannot take is their queues' affair).
    const state = super.bufferState();
    return { ...state, bytes: state.bytes + this.hub.backlog };
  }

  /** At shutdown, clients have until the timeout to be written what was broadcast to them. */
  protected override busy(): boolean {
    return !this.hub.caughtUp;
  }

  protected deliver(chunk: SealedChunk): void {
    const decoded = decodeTagged(chunk.arena, chunk.byteLength, chunk.sources);
    for (const report of decoded.malformed) {
      this.hooks.onMalformed(this.name, { source: report.source, count: report.count, sample: report.sample });
    }
    const records = decoded.records;
    if (records.length === 0) return;
    const firstId = this.hub.withIds ? this.hub.takeIds(records.length) : 0;
    const encoded = this.encoder.encode(records, firstId);
    this.hub.publish(encoded);
    this.stats.chunksFlushed++;
    this.stats.flushSeconds.observe((performance.now() - chunk.sealedAt) / 1000);
    this.stats.chunkRecords.observe(records.length);
    this.stats.chunkBytes.observe(encoded.block.length);
  }
}
