// The Fluentd forward protocol, so Fluent Bit, Fluentd, Docker's fluentd log driver and the
// fluent-logger libraries can send to us: Message, Forward, PackedForward and
// CompressedPackedForward modes, `chunk` acks sent once the records are buffered, and the
// optional shared-key handshake. A peer that sends garbage is logged and disconnected; it
// never affects the others.
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Packr, Unpackr } from 'msgpackr';
import { SegmentKind } from '../chunk/layout.js';
import type { ForwardInputConfig } from '../config/types.js';
import { registerEventTimeExtension, toEventTime } from '../encode/event-time-ext.js';
import { createEncoder } from '../encode/index.js';
import type { Encoder, RecordBody, TimedRecord } from '../encode/types.js';
import type { InputPlugin, SegmentSink } from '../engine/plugins.js';
import type { Logger } from '../log.js';
import { eventTimeNow } from '../time.js';
import { SocketInput, SourceCache } from './listener.js';
import { storedBeforeAck } from '../storage/acks.js';
import { closeFor } from './connection-limits.js';
import { FrameScanner } from './msgpack-frame.js';
import { countPackedEntries } from './forward-entries.js';
import { outlineForwardMessage, type ForwardOutline } from './forward-outline.js';
import { ByteQueue } from './byte-queue.js';
import type { CloseReason } from '../engine/stats.js';

registerEventTimeExtension();
// 64-bit integers as numbers (rounded past 2^53, as JSON.parse does): a BigInt in a record
// killed the worker thread that wrote it as JSON, and the other records of its chunk with it.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
const packr = new Packr({ useRecords: false, variableMapSize: true });

class ProtocolError extends Error {}

/** A message read as bytes (forward-outline.ts); `bytes` is the whole message, for the fallback. */
class Outlined {
  constructor(readonly outline: ForwardOutline, readonly bytes: Buffer) {}
}

/** A CompressedPackedForward payload may decompress to this many times buffer_max_size. */
const GZIP_RATIO = 4;

interface Decoded {
  readonly tag: string;
  readonly entries: TimedRecord[];
  /** A PackedForward payload buffered as it is, and how many entries it holds (forward-entries.ts). */
  readonly packed?: { readonly bytes: Buffer; readonly count: number };
  readonly invalid: number;
  readonly chunk: unknown;
}

function isRecord(value: unknown): value is RecordBody {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** The entries of a PackedForward payload, each framed (size and depth checked) before decoding. */
function unpackEntries(packed: Buffer, maxBytes: number): unknown[] {
  const scanner = new FrameScanner(maxBytes);
  const entries: unknown[] = [];
  let pos = 0;
  while (pos < packed.length) {
    const frame = scanner.scan(packed, pos, packed.length);
    if (frame.kind === 'incomplete') throw new ProtocolError('PackedForward entries end in the middle of one');
    if (frame.kind === 'invalid') throw new ProtocolError(`PackedForward entry: ${frame.reason}`);
    entries.push(unpackr.unpack(packed.subarray(pos, frame.end)));
    pos = frame.end;
  }
  return entries;
}

/** The `chunk` option, to be answered with an ack. */
function chunkOf(option: unknown): unknown {
  return isRecord(option) ? option['chunk'] : undefined;
}

function sha512Hex(...parts: Array<string | Uint8Array>): string {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

export class ForwardInput extends SocketInput implements InputPlugin {
  readonly staticTag: string | null;
  private readonly sources: SourceCache;
  private readonly encoder: Encoder;

  constructor(private readonly config: ForwardInputConfig, private readonly sink: SegmentSink, log: Logger) {
    // Reads share one buffer (listener.ts): a message is decoded and handled within its read
    // (records re-packed, PackedForward payloads copied), and its unfinished tail is copied.
    super(config.name, config, `input:forward:${config.name}`, log.child(`input:forward:${config.name}`), true);
    this.staticTag = config.tag;
    this.sources = new SourceCache(config.name);
    this.encoder = createEncoder({
      format: 'msgpack', dateKey: null, dateFormat: 'double', hostname: config.selfHostname,
      gelf: { shortMessageKey: null, fullMessageKey: null, timestampKey: null, hostKey: null, levelKey: null },
    });
  }

  protected accept(socket: Socket, peer: string): void {
    // The start of a message still arriving (msgpackr's values are used before it changes).
    const pending = new ByteQueue();
    // With a shared key, nothing is accepted before a valid PING.
    const nonce = randomBytes(16);
    let authenticated = this.config.sharedKey === null;
    if (!authenticated) socket.write(packr.pack(['HELO', { nonce, auth: '', keepalive: true }]));

    const fail = (reason: CloseReason, detail: string): void => {
      closeFor(socket, reason, `closing connection from ${peer}: ${detail}`, this.stats, this.log, this.name);
    };
    // Frames are delimited from their headers before msgpackr decodes them (msgpack-frame.ts):
    // a header claiming gigabytes or nesting past MAX_MSGPACK_DEPTH closes the connection at once.
    const scanner = new FrameScanner(this.config.bufferMaxSizeBytes);
    socket.on('data', (data: Buffer) => {
      const buffer: Buffer = pending.length > 0 ? pending.append(data) : data;
      this.stats.bytes += data.length;
      // Messages are decoded first and handled after: handling one may decode again
      // (PackedForward entries), and a broken frame must not lose the good ones before it.
      const messages: unknown[] = [];
      let consumed = 0;
      let broken: { reason: CloseReason; detail: string } | null = null;
      while (consumed < buffer.length) {
        const frame = scanner.scan(buffer, consumed, buffer.length);
        if (frame.kind === 'incomplete') break;
        if (frame.kind === 'invalid') {
          broken = { reason: frame.tooLarge ? 'oversized' : 'protocol_error', detail: frame.reason };
          break;
        }
        // Once authenticated, messages are read as bytes where they can be (forward-outline.ts);
        // they are handled within this read, while its bytes are still there.
        const outline = authenticated ? outlineForwardMessage(buffer, consumed, frame.end) : null;
        try {
          messages.push(outline !== null ? new Outlined(outline, buffer.subarray(consumed, frame.end))
            : unpackr.unpack(buffer.subarray(consumed, frame.end)));
        } catch (error) {
          broken = { reason: 'protocol_error', detail: `undecodable msgpack (${(error as Error).message})` };
          break;
        }
        consumed = frame.end;
      }
      try {
        for (const message of messages) {
          if (authenticated) this.handleMessage(socket, message, peer);
          else authenticated = this.handshake(socket, message, nonce);
        }
      } catch (error) {
        // A bad PackedForward payload or gzip stream lands here too: that peer goes, not us.
        return fail('protocol_error', error instanceof ProtocolError ? error.message : `bad message (${(error as Error).message})`);
      }
      if (broken !== null) return fail(broken.reason, broken.detail);
      // Copied out of a read: a view would keep the whole read alive for the sake of its tail.
      pending.keep(buffer, consumed);
      this.deadlines.progress(socket, pending.length > 0, messages.length > 0);
    });
    socket.on('error', (error) => this.log.debug(`connection from ${peer}: ${error.message}`));
  }

  /** The shared-key handshake: HELO (sent at connect) → PING from the client → PONG. */
  private handshake(socket: Socket, message: unknown, nonce: Buffer): boolean {
    if (!Array.isArray(message) || message[0] !== 'PING' || message.length < 4) {
      throw new ProtocolError('expected a PING (shared_key is set)');
    }
    const [, clientHostname, salt, digest] = message as [string, string, string | Uint8Array, string];
    const sharedKey = this.config.sharedKey!;
    const expected = sha512Hex(salt, String(clientHostname), nonce, sharedKey);
    if (expected !== String(digest)) {
      socket.write(packr.pack(['PONG', false, 'shared_key mismatch', '', '']));
      throw new ProtocolError('shared_key mismatch');
    }
    const answer = sha512Hex(salt, this.config.selfHostname, nonce, sharedKey);
    socket.write(packr.pack(['PONG', true, '', this.config.selfHostname, answer]));
    return true;
  }

  private handleMessage(socket: Socket, message: unknown, peer: string): void {
    const decoded = message instanceof Outlined ? this.fromOutline(message) : this.decode(message);
    const tag = this.config.tag ?? (this.config.tagPrefix ?? '') + decoded.tag;
    if (decoded.invalid > 0) {
      this.stats.malformed += decoded.invalid;
      this.log.burst('warn', `invalid ${this.name} ${peer}`, `${decoded.invalid} entries from ${peer} are not [time, record]: skipped`);
    }
    // Entries already in the shape the workers read are buffered as they came; others re-packed.
    const payload = decoded.packed?.bytes ?? (decoded.entries.length > 0 ? this.encoder.encode(decoded.entries) : null);
    const count = decoded.packed?.count ?? decoded.entries.length;
    if (payload !== null && count > 0) {
      this.sink.append(this.sources.get(tag, peer), SegmentKind.MsgpackEntries, eventTimeNow(), payload, 0,
        payload.length, count);
      this.stats.records += count;
    }
    // Acknowledge only now that the records are buffered (with storage.type filesystem: written
    // to disk). No ack when they could not be stored: the client sends them again.
    if (decoded.chunk === undefined) return;
    const ack = packr.pack({ ack: decoded.chunk });
    const stored = count === 0 ? null : storedBeforeAck(this.config.storageType, this.sink, [tag]);
    if (stored === null) {
      socket.write(ack);
      return;
    }
    stored.then(() => { if (!socket.destroyed) socket.write(ack); }, (error: Error) => {
      this.log.burst('warn', `not stored ${this.name}`, `records from ${peer} not acknowledged: ${error.message}`);
    });
  }

  /** A message read as bytes: its entries buffered as they are, else decoded after all. */
  private fromOutline({ outline, bytes }: Outlined): Decoded {
    const option: unknown = outline.option === null ? undefined : unpackr.unpack(outline.option);
    let entries = outline.entries;
    if (outline.packed && isRecord(option) && option['compressed'] === 'gzip') {
      entries = gunzipSync(entries, { maxOutputLength: this.config.bufferMaxSizeBytes * GZIP_RATIO });
    }
    const count = countPackedEntries(entries, this.config.bufferMaxSizeBytes * GZIP_RATIO);
    if (count === null) return this.decode(unpackr.unpack(bytes));
    return { tag: outline.tag, entries: [], packed: { bytes: entries, count }, invalid: 0, chunk: chunkOf(option) };
  }

  /** Message, Forward, PackedForward or CompressedPackedForward → entries. */
  private decode(message: unknown): Decoded {
    if (!Array.isArray(message) || typeof message[0] !== 'string') {
      throw new ProtocolError('a forward message must be an array starting with a tag');
    }
    const [tag, second] = message as [string, unknown];
    const entries: TimedRecord[] = [];
    let invalid = 0;
    const add = (time: unknown, record: unknown): void => {
      const eventTime = toEventTime(time) ?? (time === undefined ? null : eventTimeNow());
      if (eventTime && isRecord(record)) entries.push({ time: eventTime, body: record });
      else invalid++;
    };
    let option: unknown;
    if (Array.isArray(second)) {
      for (const entry of second) {
        if (Array.isArray(entry)) add(entry[0], entry[1]);
        else invalid++;
      }
      option = message[2];
    } else if (second instanceof Uint8Array || typeof second === 'string') {
      option = message[2];
      // A view of the read, not a copy: the entries are copied into the chunk before the read
      // is reused (and a copy per message was garbage the main thread's GC had to chase).
      let packed = typeof second === 'string' ? Buffer.from(second, 'binary')
        : Buffer.from(second.buffer, second.byteOffset, second.byteLength);
      if (isRecord(option) && option['compressed'] === 'gzip') {
        // Bounded: 100 MB of zeros gzip to 100 KB, and each zero would be an entry to count.
        packed = gunzipSync(packed, { maxOutputLength: this.config.bufferMaxSizeBytes * GZIP_RATIO });
      }
      const count = countPackedEntries(packed, this.config.bufferMaxSizeBytes * GZIP_RATIO);
      if (count !== null) return { tag, entries, packed: { bytes: packed, count }, invalid, chunk: chunkOf(option) };
      for (const entry of unpackEntries(packed, this.config.bufferMaxSizeBytes * GZIP_RATIO)) {
        if (Array.isArray(entry)) add(entry[0], entry[1]);
        else invalid++;
      }
    } else {
      add(second, message[2]);
      option = message[3];
    }
    return { tag, entries, invalid, chunk: chunkOf(option) };
  }
}
