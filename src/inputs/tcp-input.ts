// Fluent Bit's tcp input: one record per separator-terminated line from any number of TCP
// connections. Each read is framed on the main thread (no parsing here) and appended to the
// chunks of every output its tag routes to; the workers parse and validate the records.
import { createServer, type Server, type Socket } from 'node:net';
import type { ChunkSource } from '../chunk/layout.js';
import { SegmentKind } from '../chunk/layout.js';
import type { TcpInputConfig } from '../config/types.js';
import type { EventTime } from '../encode/types.js';
import type { InputPlugin, SegmentSink } from '../engine/plugins.js';
import type { Logger } from '../log.js';
import { eventTimeNow } from '../time.js';
import { newInputStats, type InputStats } from '../engine/stats.js';
import { LineFramer } from './line-framer.js';

export class TcpInput implements InputPlugin {
  readonly name: string;
  readonly stats: InputStats = newInputStats();
  private readonly log: Logger;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly kind: SegmentKind;

  constructor(readonly config: TcpInputConfig, private readonly sink: SegmentSink, log: Logger) {
    this.name = config.name;
    this.staticTag = config.tag;
    this.log = log.child(`input:tcp:${config.name}`);
    this.kind = config.format === 'none' ? SegmentKind.RawLines : SegmentKind.JsonLines;
    this.server = createServer((socket) => this.accept(socket));
  }

  readonly staticTag: string;
  ready = false;

  /** The port actually bound (differs from the config when it asked for 0). */
  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : this.config.port;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        const why = error.code === 'EADDRINUSE' ? 'address already in use' : error.message;
        reject(new Error(`[input:tcp:${this.name}] cannot listen on ${this.config.listen}:${this.config.port}: ${why}`));
      };
      this.server.once('error', onError);
      this.server.listen(this.config.port, this.config.listen, () => {
        this.server.off('error', onError);
        this.server.on('error', (error) => this.log.error(`server error: ${error.message}`));
        this.log.info(`listening on ${this.config.listen}:${this.port}`);
        this.ready = true;
        resolve();
      });
    });
  }

  /** Backpressure from the outputs: stop reading (the kernel then slows the senders). */
  setPaused(paused: boolean): void {
    if (paused === this.stats.paused) return;
    this.stats.paused = paused;
    const now = performance.now();
    if (paused) this.stats.pausedSince = now;
    else if (this.stats.pausedSince !== null) {
      this.stats.pausedMs += now - this.stats.pausedSince;
      this.stats.pausedSince = null;
    }
    for (const socket of this.sockets) {
      if (paused) socket.pause();
      else socket.resume();
    }
  }

  /** Stops accepting and closes every connection; what was read is already appended. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private accept(socket: Socket): void {
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const source: ChunkSource = Object.freeze({
      input: this.name, tag: this.config.tag, peer, separator: this.config.separator,
    });
    const stats = this.stats;
    const framer = new LineFramer(this.config.separator, this.config.bufferSizeBytes, {
      onRun: (data, start, end, records) => {
        stats.records += records;
        this.sink.append(source, this.kind, this.readTime, data, start, end, records);
      },
      onOversized: (bytes) => {
        stats.oversized++;
        this.log.burst('warn', `oversized ${this.name} ${peer}`, `record from ${peer} is longer than ` +
          `Buffer_Size (${bytes} > ${this.config.bufferSizeBytes} bytes): dropped`);
      },
    });
    this.sockets.add(socket);
    stats.connections++;
    socket.setNoDelay(true);
    if (stats.paused) socket.pause();
    socket.on('data', (data: Buffer) => {
      stats.bytes += data.length;
      this.readTime = eventTimeNow();
      framer.push(data);
    });
    socket.on('end', () => {
      this.readTime = eventTimeNow();
      framer.end();
    });
    socket.on('error', (error) => this.log.debug(`connection from ${peer}: ${error.message}`));
    socket.on('close', () => {
      this.sockets.delete(socket);
      stats.connections--;
    });
  }

  /** Arrival time of the read being framed: every line of one read shares it. */
  private readTime: EventTime = { sec: 0, nsec: 0 };
}
