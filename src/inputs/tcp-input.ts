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
import { boundPort, closeServer, Connections, listen } from './listener.js';

export class TcpInput implements InputPlugin {
  readonly name: string;
  readonly stats: InputStats = newInputStats();
  private readonly log: Logger;
  private readonly server: Server;
  private readonly connections: Connections;
  private readonly kind: SegmentKind;

  constructor(readonly config: TcpInputConfig, private readonly sink: SegmentSink, log: Logger) {
    this.name = config.name;
    this.staticTag = config.tag;
    this.log = log.child(`input:tcp:${config.name}`);
    this.kind = config.format === 'none' ? SegmentKind.RawLines : SegmentKind.JsonLines;
    this.server = createServer((socket) => this.accept(socket));
    this.connections = new Connections(this.stats);
  }

  readonly staticTag: string;
  ready = false;

  /** The port actually bound (differs from the config when it asked for 0). */
  get port(): number {
    return boundPort(this.server, this.config.port);
  }

  async start(): Promise<void> {
    await listen(this.server, this.config, `input:tcp:${this.name}`, this.log);
    this.ready = true;
  }

  /** Backpressure from the outputs: stop reading (the kernel then slows the senders). */
  setPaused(paused: boolean): void {
    this.connections.setPaused(paused);
  }

  async stop(): Promise<void> {
    await closeServer(this.server, this.connections);
  }

  private accept(socket: Socket): void {
    const peer = this.connections.add(socket);
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
    socket.setNoDelay(true);
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
  }

  /** Arrival time of the read being framed: every line of one read shares it. */
  private readTime: EventTime = { sec: 0, nsec: 0 };
}
