// One connected client: its filter, its queue and what happens when it cannot keep up.
// Encoded bytes are shared by every client they go to; a client only holds references to
// them. Writes go straight to the client's socket (the one the upgrade came on; ws writes
// its own pings and close frames there too, always as whole frames, so nothing interleaves
// inside a frame) while the socket's own buffer is small; beyond that they wait in this queue,
// and the queue plus the socket buffer are bounded by max_client_queue:
//   close       → past the limit the client is disconnected with 1013 (Try Again Later: a
//                 temporary condition; it may reconnect with ?last_id= to resume).
//   drop_oldest → the oldest queued batches are dropped until it fits; it stays connected.
// Either way the loss is counted, and no other client waits for this one.
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { SlowClientPolicy } from '../../config/types.js';
import type { RecordFilter } from './filter.js';

/** Userland bytes a socket may hold before more waits in the queue (the kernel holds more). */
const SOCKET_HIGH_WATER = 256 * 1024;
/** After a close frame, how long a client has to answer before its socket is destroyed. */
const CLOSE_GRACE_MS = 2000;
export const CLOSE_SLOW_CLIENT = 1013;

export interface ClientHooks {
  /** Records this client will not get because of its queue limit. */
  dropped(records: number): void;
  /** Bytes handed to its socket. */
  written(bytes: number): void;
  /** A write to its socket completed: the client may be caught up. */
  settled(): void;
  /** The client is being cut off (logged once). */
  cutOff(client: Client, why: string): void;
}

interface Pending {
  readonly bytes: Buffer;
  readonly records: number;
}

export class Client {
  /** Cleared by each ping, set by its pong: false at the next ping means the client is gone. */
  alive = true;
  private queue: Pending[] = [];
  private head = 0;
  private queuedBytes = 0;
  /** Writes handed to the socket that have not completed (their callback has not run). */
  private writing = 0;
  private closing = false;
  private readonly wrote = (): void => {
    this.writing--;
    this.hooks.settled();
  };

  constructor(
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    readonly filter: RecordFilter | null,
    readonly peer: string,
    private readonly limitBytes: number,
    private readonly policy: SlowClientPolicy,
    private readonly hooks: ClientHooks,
  ) {
    socket.on('drain', () => this.pump());
    ws.on('pong', () => {
      this.alive = true;
    });
    // fluent-plugin-websocket's sample page sends text; clients may talk, the server ignores it.
    ws.on('message', () => {
      this.alive = true;
    });
  }

  /** Bytes waiting for this client: its queue and its socket's buffer. */
  get backlog(): number {
    return this.queuedBytes + this.socket.writableLength;
  }

  /**
   * Nothing queued and every write of ours completed. Unlike backlog, this leaves out the
   * control frames ws writes on the socket itself (pongs, close): no callback of ours says
   * when those are written, and they carry no records.
   */
  get caughtUp(): boolean {
    return this.writing === 0 && this.queue.length === this.head;
  }

  get open(): boolean {
    return !this.closing && this.ws.readyState === WebSocket.OPEN;
  }

  /** Queues whole frames (`records` messages) for this client. */
  send(bytes: Buffer, records: number): void {
    if (!this.open) return;
    if (this.policy === 'close' && this.backlog > this.limitBytes) {
      this.hooks.dropped(records);
      this.cutOff(CLOSE_SLOW_CLIENT, `slow client: more than ${this.limitBytes} bytes queued`);
      return;
    }
    this.queue.push({ bytes, records });
    this.queuedBytes += bytes.length;
    if (this.policy === 'drop_oldest') {
      // The newest batch always stays: the bound is the limit plus one batch.
      while (this.backlog > this.limitBytes && this.queue.length - this.head > 1) {
        const oldest = this.shift();
        this.hooks.dropped(oldest.records);
      }
    }
    this.pump();
  }

  /** Closes with a close frame, then destroys the socket if the client does not answer. */
  cutOff(code: number, why: string): void {
    if (this.closing) return;
    this.closing = true;
    this.hooks.cutOff(this, why);
    let lost = 0;
    while (this.queue.length - this.head > 0) lost += this.shift().records;
    if (lost > 0) this.hooks.dropped(lost);
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, why.slice(0, 120));
    const timer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    timer.unref();
    this.ws.once('close', () => clearTimeout(timer));
  }

  /** Destroys the connection at once (a client that stopped answering pings). */
  terminate(): void {
    this.closing = true;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.ws.terminate();
  }

  private shift(): Pending {
    const item = this.queue[this.head]!;
    this.head++;
    this.queuedBytes -= item.bytes.length;
    // Compact now and then instead of Array.shift on every item.
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  private pump(): void {
    const socket = this.socket;
    while (this.queue.length - this.head > 0 && socket.writableLength < SOCKET_HIGH_WATER) {
      if (!this.open || socket.destroyed) return;
      const item = this.shift();
      this.writing++;
      socket.write(item.bytes, this.wrote);
      this.hooks.written(item.bytes.length);
    }
  }
}
