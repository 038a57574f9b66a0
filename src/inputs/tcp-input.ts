// Fluent Bit's tcp input: one record per separator-terminated line from any number of TCP
// connections. Each read is framed on the main thread (no parsing here) and appended to the
// chunks of every output its tag routes to; the workers parse and validate the records.
import type { Socket } from 'node:net';
import type { ChunkSource } from '../chunk/layout.js';
import { SegmentKind } from '../chunk/layout.js';
import type { TcpInputConfig } from '../config/types.js';
import type { EventTime } from '../encode/types.js';
import { containConnection } from '../engine/contain.js';
import type { InputPlugin, SegmentSink } from '../engine/plugins.js';
import type { Logger } from '../log.js';
import { eventTimeNow } from '../time.js';
import { LineFramer } from './line-framer.js';
import { SocketInput } from './listener.js';

export class TcpInput extends SocketInput implements InputPlugin {
  readonly staticTag: string;
  private readonly kind: SegmentKind;

  constructor(
    readonly config: TcpInputConfig,
    private readonly sink: SegmentSink,
    log: Logger,
  ) {
    // The framer copies the little it keeps of a read (a line's start), so reads can share a buffer.
    super(config.name, config, `input:tcp:${config.name}`, log.child(`input:tcp:${config.name}`), true);
    this.staticTag = config.tag;
    this.kind = config.format === 'none' ? SegmentKind.RawLines : SegmentKind.JsonLines;
  }

  protected accept(socket: Socket, peer: string): void {
    const source: ChunkSource = Object.freeze({
      input: this.name,
      tag: this.config.tag,
      peer,
      separator: this.config.separator,
    });
    const stats = this.stats;
    const framer = new LineFramer(this.config.separator, this.config.bufferSizeBytes, {
      onRun: (data, start, end, records) => {
        stats.records += records;
        this.sink.append(source, this.kind, this.readTime, data, start, end, records);
      },
      onOversized: (bytes) => {
        stats.oversized++;
        this.log.burst(
          'warn',
          `oversized ${this.name} ${peer}`,
          `record from ${peer} is longer than ` +
            `Buffer_Size (${bytes} > ${this.config.bufferSizeBytes} bytes): dropped`,
        );
      },
    });
    socket.setNoDelay(true);
    const guard = { stats, log: this.log, input: this.name };
    const close = (): void => {
      socket.destroy();
    };
    socket.on(
      'data',
      containConnection(guard, peer, close, (data: Buffer) => {
        stats.bytes += data.length;
        this.readTime = eventTimeNow();
        const ended = framer.linesEnded;
        framer.push(data);
        this.deadlines.progress(socket, framer.partial, framer.linesEnded !== ended);
      }),
    );
    socket.on(
      'end',
      containConnection(guard, peer, close, () => {
        this.readTime = eventTimeNow();
        framer.end();
      }),
    );
    socket.on('error', (error) => this.log.debug(`connection from ${peer}: ${error.message}`));
  }

  /** Arrival time of the read being framed: every line of one read shares it. */
  private readTime: EventTime = { sec: 0, nsec: 0 };
}
