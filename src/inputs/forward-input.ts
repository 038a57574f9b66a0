// The Fluentd forward protocol, so Fluent Bit, Fluentd, Docker's fluentd log driver and the
// fluent-logger libraries can send to us: Message, Forward, PackedForward and
// CompressedPackedForward modes, `chunk` acks sent once the records are buffered, and the
// optional shared-key handshake. A peer that sends garbage is logged and disconnected; it
// never affects the others. Every message is read from its bytes — the handshake
// (forward-handshake.ts), the message (forward-outline.ts), its entries (forward-entries.ts) —
// and nothing is decoded to objects on the main thread: what a message costs there is linear in
// its bytes (inflated, for a compressed one) whatever it holds.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { SegmentKind } from '../chunk/layout.js';
import type { ForwardInputConfig } from '../config/types.js';
import { containConnection } from '../engine/contain.js';
import type { InputPlugin, SegmentSink } from '../engine/plugins.js';
import type { Logger } from '../log.js';
import { eventTimeNow } from '../time.js';
import { SocketInput, SourceCache } from './listener.js';
import { storedBeforeAck } from '../storage/acks.js';
import { closeFor } from './connection-limits.js';
import { FrameScanner } from '../codec/msgpack-frame.js';
import { readEntries } from './forward-entries.js';
import { readForwardMessage, type ForwardMessage } from './forward-outline.js';
import { heloMessage, MAX_HANDSHAKE_BYTES, pingAuthenticates, pongMessage, readPing } from './forward-handshake.js';
import { ByteQueue } from './byte-queue.js';
import type { CloseReason } from '../engine/stats.js';

/** A message that closes its connection, and why. */
class Refused extends Error {
  constructor(
    readonly reason: CloseReason,
    message: string,
  ) {
    super(message);
  }
}

/** A CompressedPackedForward payload may decompress to this many times buffer_max_size. */
const GZIP_RATIO = 4;

/** {"ack": <the chunk option's value, as it came>}: fixmap 1, fixstr "ack". */
const ACK_HEAD = Buffer.from([0x81, 0xa3, 0x61, 0x63, 0x6b]);

export class ForwardInput extends SocketInput implements InputPlugin {
  readonly staticTag: string | null;
  private readonly sources: SourceCache;

  constructor(
    private readonly config: ForwardInputConfig,
    private readonly sink: SegmentSink,
    log: Logger,
  ) {
    // Reads share one buffer (listener.ts): a message is read and handled within its read (its
    // entries copied into the chunk, its ack built), and its unfinished tail is copied.
    super(config.name, config, `input:forward:${config.name}`, log.child(`input:forward:${config.name}`), true);
    this.staticTag = config.tag;
    this.sources = new SourceCache(config.name);
  }

  protected accept(socket: Socket, peer: string): void {
    // The start of a message still arriving.
    const pending = new ByteQueue();
    // With a shared key, nothing is accepted before a valid PING.
    const nonce = randomBytes(16);
    let authenticated = this.config.sharedKey === null;
    if (!authenticated) socket.write(heloMessage(nonce));

    const fail = (reason: CloseReason, detail: string): void => {
      closeFor(socket, reason, `closing connection from ${peer}: ${detail}`, this.stats, this.log, this.name);
    };
    // Frames are delimited from their headers first (msgpack-frame.ts): a header claiming
    // gigabytes or nesting past MAX_MSGPACK_DEPTH closes the connection at once. Before the
    // handshake, a message is a PING of a few hundred bytes.
    const scanner = new FrameScanner(this.config.bufferMaxSizeBytes);
    const handshakeScanner = new FrameScanner(Math.min(MAX_HANDSHAKE_BYTES, this.config.bufferMaxSizeBytes));
    const guard = { stats: this.stats, log: this.log, input: this.name };
    socket.on(
      'data',
      containConnection(
        guard,
        peer,
        () => socket.destroy(),
        (data: Buffer) => {
          const buffer: Buffer = pending.length > 0 ? pending.append(data) : data;
          this.stats.bytes += data.length;
          // Each message is handled as soon as it is framed, in order: a broken frame after good
          // ones closes the connection once those are buffered and acknowledged.
          let consumed = 0;
          let handled = 0;
          while (consumed < buffer.length) {
            const frame = (authenticated ? scanner : handshakeScanner).scan(buffer, consumed, buffer.length);
            if (frame.kind === 'incomplete') break;
            if (frame.kind === 'invalid') return fail(frame.tooLarge ? 'oversized' : 'protocol_error', frame.reason);
            try {
              if (authenticated) this.handleMessage(socket, buffer, consumed, frame.end, peer);
              else authenticated = this.handshake(socket, buffer, consumed, frame.end, nonce);
            } catch (error) {
              // A peer that sends garbage goes, not us.
              if (error instanceof Refused) return fail(error.reason, error.message);
              return fail('protocol_error', `bad message (${(error as Error).message})`);
            }
            consumed = frame.end;
            handled++;
          }
          // Copied out of a read: a view would keep the whole read alive for the sake of its tail.
          pending.keep(buffer, consumed);
          this.deadlines.progress(socket, pending.length > 0, handled > 0);
        },
      ),
    );
    socket.on('error', (error) => this.log.debug(`connection from ${peer}: ${error.message}`));
  }

  /** The shared-key handshake (forward-handshake.ts): HELO (sent at connect) → PING → PONG. */
  private handshake(socket: Socket, b: Buffer, start: number, end: number, nonce: Buffer): boolean {
    const ping = readPing(b, start, end);
    if (typeof ping === 'string') throw new Refused('protocol_error', ping);
    const sharedKey = this.config.sharedKey!;
    const authenticated = pingAuthenticates(ping, nonce, sharedKey);
    socket.write(pongMessage(ping, authenticated, 'shared_key mismatch', this.config.selfHostname, nonce, sharedKey));
    if (!authenticated) throw new Refused('protocol_error', 'shared_key mismatch');
    return true;
  }

  /**
   * The forward message in b[start, end): its entries checked on their bytes and buffered, its
   * chunk acknowledged. Linear in the message's bytes (and the inflated ones), whatever it holds.
   */
  private handleMessage(socket: Socket, b: Buffer, start: number, end: number, peer: string): void {
    const message = readForwardMessage(b, start, end);
    if (typeof message === 'string') throw new Refused('protocol_error', message);
    const tag = this.config.tag ?? (this.config.tagPrefix ?? '') + message.tag;
    const count = message.signal === 0 ? this.buffer(message, tag, peer) : this.skipSignal(message.signal, peer);
    // Acknowledge only now that the records are buffered (with storage.type filesystem: written
    // to disk). No ack when they could not be stored: the client sends them again.
    if (message.chunk === null) return;
    const ack = Buffer.concat([ACK_HEAD, message.chunk]); // a copy: the read is reused
    const stored = count === 0 ? null : storedBeforeAck(this.config.storageType, this.sink, [tag]);
    if (stored === null) {
      socket.write(ack);
      return;
    }
    // Later, off the data handler's containment: a throw here must close this connection, not
    // become an unhandled rejection that ends the process.
    const guard = { stats: this.stats, log: this.log, input: this.name };
    stored.then(
      containConnection(
        guard,
        peer,
        () => socket.destroy(),
        () => {
          if (!socket.destroyed) socket.write(ack);
        },
      ),
      containConnection(
        guard,
        peer,
        () => socket.destroy(),
        (error: unknown) => {
          this.log.burst(
            'warn',
            `not stored ${this.name}`,
            `records from ${peer} not acknowledged: ${error instanceof Error ? error.message : String(error)}`,
          );
        },
      ),
    );
  }

  /** The message's entries, checked and into the chunk; how many records that was. */
  private buffer(message: ForwardMessage, tag: string, peer: string): number {
    const payload = message.compressed ? this.inflate(message.entries) : message.entries;
    const entries = readEntries(payload);
    if (entries.kind === 'refused') {
      throw new Refused(entries.oversized ? 'oversized' : 'protocol_error', `tag ${message.tag}: ${entries.reason}`);
    }
    if (entries.invalid > 0) {
      this.stats.malformed += entries.invalid;
      this.log.burst(
        'warn',
        `invalid ${this.name} ${peer}`,
        `${entries.invalid} entries from ${peer} are not [time, record]: skipped`,
      );
    }
    if (entries.count === 0) return 0;
    // Copied into the chunk: the entries may be a view of the read.
    this.sink.append(
      this.sources.get(tag, peer),
      SegmentKind.MsgpackEntries,
      eventTimeNow(),
      entries.bytes,
      0,
      entries.bytes.length,
      entries.count,
    );
    this.stats.records += entries.count;
    return entries.count;
  }

  /**
   * Fluent Bit's metrics or traces (fluent_signal 1 or 2: a cmetrics or ctraces blob, no
   * records): acknowledged and counted malformed, so that the sender does not retry them forever.
   */
  private skipSignal(signal: number, peer: string): number {
    this.stats.malformed++;
    this.log.burst(
      'warn',
      `signal ${this.name} ${peer}`,
      `a message of fluent_signal ${signal} (metrics or traces, not logs) from ${peer}: skipped`,
    );
    return 0;
  }

  /**
   * A CompressedPackedForward payload, inflated. Bounded: zlib stops and throws once the output
   * passes 4 × buffer_max_size (100 MB of zeros gzip to 100 KB).
   */
  private inflate(payload: Buffer): Buffer {
    const limit = this.config.bufferMaxSizeBytes * GZIP_RATIO;
    try {
      return gunzipSync(payload, { maxOutputLength: limit });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new Refused(
        'protocol_error',
        code === 'ERR_BUFFER_TOO_LARGE'
          ? `a gzip payload inflating past ${GZIP_RATIO} × buffer_max_size (${limit} bytes)`
          : `a gzip payload that does not inflate (${(error as Error).message})`,
      );
    }
  }
}
