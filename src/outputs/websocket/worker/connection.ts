// One worker's WebSocket connection: opened eagerly, reopened with a fresh handshake after
// every drop, probed with pings, and able to say when a message has really been received.
//
// Delivery confirmation: in `confirm` mode every message is followed by a ping whose payload
// is this connection's random prefix and a sequence number. A WebSocket server answers pings in
// order, after the frames before them, so the pong echoing ping N proves every message sent
// before it was read. Only such an echo counts: RFC 6455 §5.5.3 allows unsolicited pongs
// (heartbeats), and a pong that merely looked like a sequence number would confirm messages
// the server never read. A pong confirms only if its payload is exactly this connection's
// prefix (8 random bytes drawn at connect: a heartbeat, a guess or a previous connection's
// pong does not have it) and a sequence number sent on this connection and still unanswered;
// any other pong is ignored and counted. Messages not yet confirmed when the connection drops
// are reported failed, and the main thread sends them again: duplicates are possible, loss is
// not. In `write` mode a message counts when the socket accepted it (ws.send's callback).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { frameInPlace } from './client-frame.js';
import { WriteTurns } from './write-turns.js';
import type { DeliveryFailure, WorkerSettings } from '../protocol.js';
import type { Logger } from '../../../log.js';
import { clientConnectOptions } from '../../../tls/options.js';
import { closedFailure, connectionFailure, handshakeFailure, pongTimeout, STOPPED, writeFailure } from './failures.js';

export type SendOutcome =
  | { readonly status: 'flushed' }
  | { readonly status: 'held' }
  | { readonly status: 'not_sent' | 'failed'; readonly failure: DeliveryFailure };

/** The connection's share of the worker settings (see WorkerSettings for each field). */
export type ConnectionOptions = Pick<
  WorkerSettings,
  | 'url'
  | 'headers'
  | 'delivery'
  | 'connectTimeoutMs'
  | 'pingIntervalMs'
  | 'pingTimeoutMs'
  | 'idleCloseMs'
  | 'compress'
  | 'tls'
>;

export interface ConnectionEvents {
  /** failure: null when it succeeded; elapsedMs: from the start of the attempt to its outcome. */
  onHandshake(failure: DeliveryFailure | null, elapsedMs: number): void;
  onClosed(failure: DeliveryFailure): void;
}

type State = 'idle' | 'connecting' | 'open' | 'backoff' | 'stopped';

interface InFlight {
  /** The connection the message was written to: only its pongs can confirm it. */
  readonly link: Link;
  /** The ping that confirms this message (confirm mode), else 0. */
  pingSeq: number;
  settle(outcome: SendOutcome): void;
}

interface OutstandingPing {
  readonly seq: number;
  readonly sentAt: number;
}

/**
 * One WebSocket connection (one handshake). Its pings carry its own random prefix and its own
 * sequence numbers, from 1: nothing another connection sent or received can match them.
 */
interface Link {
  readonly ws: WebSocket;
  /** The random prefix of every ping payload, as two big-endian words (compared per pong). */
  readonly prefixHigh: number;
  readonly prefixLow: number;
  nextSeq: number;
  /** Pings sent and not answered yet, oldest first (consecutive sequence numbers). */
  readonly pings: OutstandingPing[];
  /** Pongs received on this connection that answered none of its outstanding pings. */
  ignoredPongs: number;
  /** What ended (or is ending) it, when we know more than its close code: an error, a pong timeout. */
  failure: DeliveryFailure | null;
}

/** Ping payload: 8 bytes of prefix, then the sequence number in 8 bytes (high, low word). */
const PING_PREFIX_BYTES = 8;
const PING_PAYLOAD_BYTES = PING_PREFIX_BYTES + 8;
const WORD = 0x1_0000_0000;
/** At most one debug line about ignored pongs per this many ms (a heartbeat may pong every ms). */
const IGNORED_PONG_LOG_MS = 10_000;

const RECONNECT_BASE_MS = 500;
const RECONNECT_CAP_MS = 5_000;

export class Connection {
  private state: State = 'idle';
  /** The current connection (open or opening), null when there is none. */
  private link: Link | null = null;
  /** The open connection's socket, for frames written by us (client-frame.ts). */
  private socket: Duplex | null = null;
  /** Whose turn it is to encode and write (write-turns.ts). */
  private readonly turns = new WriteTurns();
  private attempt: Promise<boolean> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectFailures = 0;
  private inflight: InFlight[] = [];
  private ticker: NodeJS.Timeout | null = null;
  /** When a pong last answered one of our pings (unsolicited pongs prove nothing). */
  private lastPongAt = 0;
  private lastSendAt = 0;
  /** Why the last connection or attempt ended: what a message that cannot be sent is told. */
  private lastFailure: DeliveryFailure = STOPPED;
  private ignoredPongs = 0;
  private ignoredPongsLogged = 0;
  private ignoredPongLogAt = -Infinity;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly log: Logger,
    private readonly events: ConnectionEvents,
  ) {}

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Pongs ignored so far, on every connection: unsolicited, guessed, or not (or no longer) ours. */
  get pongsIgnored(): number {
    return this.ignoredPongs;
  }

  /** Connects now, and keeps reconnecting in the background until stop(). */
  start(): void {
    void this.connect();
  }

  /** Waits for the caller's turn to encode and write a message: send() or skipTurn() ends it. */
  takeTurn(): Promise<void> {
    return this.turns.take();
  }

  /** Ends a turn that sends nothing. */
  skipTurn(): void {
    this.turns.done();
  }

  /**
   * Sends one message, ending the caller's turn (takeTurn) once it is handed to the socket;
   * resolves when it is confirmed (or written, in write mode) or fails.
   * With `release`, the message is in a pooled buffer with room for the frame header before it
   * (see client-frame.ts): it is framed and masked in place, and release() is called once the
   * socket no longer needs it (also when it was never sent).
   * `stillDue` is asked once the connection is open, right before writing: false means the
   * message must not go now (it is `held`, not written).
   */
  async send(message: Buffer, binary: boolean, release?: () => void, stillDue?: () => boolean): Promise<SendOutcome> {
    if (!(await this.ensureOpen())) {
      release?.();
      this.turns.done();
      return { status: 'not_sent', failure: this.state === 'stopped' ? STOPPED : this.lastFailure };
    }
    if (stillDue !== undefined && !stillDue()) {
      release?.();
      this.turns.done();
      return { status: 'held' };
    }
    const link = this.link!;
    const ws = link.ws;
    const socket = this.socket;
    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const entry: InFlight = {
        link,
        pingSeq: 0,
        settle: (outcome) => {
          if (settled) return;
          settled = true;
          this.forget(entry);
          resolve(outcome);
        },
      };
      this.inflight.push(entry);
      this.lastSendAt = performance.now();
      const written = (error?: Error | null): void => {
        release?.();
        if (error) entry.settle({ status: 'failed', failure: writeFailure(error) });
        else if (this.options.delivery === 'write') entry.settle({ status: 'flushed' });
      };
      if (release && socket && !this.options.compress) {
        // ws.send refuses the same way once a close frame has been sent or received.
        if (ws.readyState !== WebSocket.OPEN) written(new Error(`WebSocket is not open: readyState ${ws.readyState}`));
        else socket.write(frameInPlace(message, binary), written);
      } else ws.send(message, { binary, compress: this.options.compress }, written);
      this.turns.done();
      if (this.options.delivery === 'confirm') entry.pingSeq = this.ping(link);
    });
  }

  /** Closes with a close frame (1000) and stops reconnecting. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    this.clearTimers();
    const ws = this.link?.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'relay shutting down');
    });
  }

  private async ensureOpen(): Promise<boolean> {
    switch (this.state) {
      case 'open':
        return true;
      case 'connecting':
        return this.attempt!;
      case 'stopped':
        return false;
      case 'idle':
      case 'backoff':
        // Data is waiting: try now rather than at the end of the reconnect backoff.
        return this.connect();
    }
  }

  private connect(): Promise<boolean> {
    if (this.state === 'stopped') return Promise.resolve(false);
    if (this.state === 'connecting') return this.attempt!;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.state = 'connecting';
    const startedAt = performance.now();
    this.attempt = new Promise<boolean>((resolve) => {
      const ws = new WebSocket(this.options.url, {
        ...(this.options.tls === null ? {} : clientConnectOptions(this.options.tls)),
        headers: this.options.headers,
        handshakeTimeout: this.options.connectTimeoutMs,
        perMessageDeflate: this.options.compress,
        followRedirects: false,
        // We never expect big messages from the server; refuse them rather than buffer them.
        maxPayload: 1 << 20,
      });
      const prefix = randomBytes(PING_PREFIX_BYTES);
      const link: Link = {
        ws,
        prefixHigh: prefix.readUInt32BE(0),
        prefixLow: prefix.readUInt32BE(4),
        nextSeq: 1,
        pings: [],
        ignoredPongs: 0,
        failure: null,
      };
      this.link = link;
      this.socket = null;
      this.turns.setSocket(null);
      let opened = false;
      // The upgrade response's socket is the one ws goes on using for the connection.
      ws.on('upgrade', (response: IncomingMessage) => {
        this.socket = response.socket;
        this.turns.setSocket(response.socket);
      });
      ws.on('open', () => {
        opened = true;
        this.state = 'open';
        this.reconnectFailures = 0;
        this.lastPongAt = performance.now();
        this.lastSendAt = this.lastPongAt;
        this.startTicker();
        this.log.info(`handshake with ${this.options.url} succeeded`);
        this.events.onHandshake(null, performance.now() - startedAt);
        resolve(true);
      });
      ws.on('pong', (data: Buffer) => this.onPong(link, data));
      ws.on('error', (error: Error) => {
        link.failure ??= opened ? connectionFailure(error) : handshakeFailure(error);
      });
      ws.on('close', (code: number, reason: Buffer) => {
        if (!opened && this.state !== 'stopped') {
          const failure = link.failure ?? closedFailure(code, reason.toString());
          this.lastFailure = failure;
          this.log.burst(
            'warn',
            `handshake ${this.options.url}`,
            `handshake with ${this.options.url} failed: ${failure.detail}`,
          );
          this.events.onHandshake(failure, performance.now() - startedAt);
        }
        this.onClose(link, opened, code, reason.toString());
        resolve(false);
      });
    });
    return this.attempt;
  }

  private onClose(link: Link, opened: boolean, code: number, reason: string): void {
    const closed = closedFailure(code, reason);
    const detail = closed.detail;
    if (opened) this.events.onClosed(link.failure ?? closed);
    // What was written to this connection can no longer be confirmed, by it or by another.
    const unconfirmed = this.inflight.filter((entry) => entry.link === link);
    if (unconfirmed.length > 0) this.inflight = this.inflight.filter((entry) => entry.link !== link);
    if (this.link !== link) {
      // An older connection, already replaced by a newer one.
      for (const entry of unconfirmed) entry.settle({ status: 'failed', failure: link.failure ?? closed });
      return;
    }
    this.link = null;
    this.socket = null;
    this.turns.setSocket(null);
    this.clearTimers();
    if (opened) {
      this.lastFailure = link.failure ?? closed;
      const ignored =
        link.ignoredPongs > 0 ? ` (${link.ignoredPongs} pong(s) that echoed none of our pings ignored)` : '';
      if (unconfirmed.length > 0)
        this.log.warn(`${detail} with ${unconfirmed.length} message(s) unconfirmed${ignored}`);
      else this.log.info(`${detail}${ignored}`);
    }
    for (const entry of unconfirmed) entry.settle({ status: 'failed', failure: this.lastFailure });
    if (this.state === 'stopped' || this.state === 'idle') return; // idle: reopened on demand
    this.state = 'backoff';
    // A connection that was working is retried at once (servers restart); then with backoff.
    if (opened) void this.connect();
    else this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** this.reconnectFailures);
    this.reconnectFailures = Math.min(this.reconnectFailures + 1, 30);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => {
      void this.connect();
    }, delay);
  }

  /** Sends a ping carrying the connection's prefix and next sequence number; returns that number. */
  private ping(link: Link): number {
    const seq = link.nextSeq++;
    const payload = Buffer.allocUnsafe(PING_PAYLOAD_BYTES);
    payload.writeUInt32BE(link.prefixHigh, 0);
    payload.writeUInt32BE(link.prefixLow, 4);
    payload.writeUInt32BE(Math.floor(seq / WORD), 8);
    payload.writeUInt32BE(seq >>> 0, 12);
    link.pings.push({ seq, sentAt: performance.now() });
    link.ws.ping(payload);
    return seq;
  }

  /**
   * A pong answers our pings only if it echoes one exactly: this connection's prefix and the
   * sequence number of a ping still outstanding on it (not one already answered, not one not yet
   * sent). It then answers every ping up to that one (a server may answer only the latest of
   * several, §5.5.3) and confirms the messages written before it. Anything else is ignored.
   */
  private onPong(link: Link, data: Buffer): void {
    const pings = link.pings;
    if (
      link !== this.link ||
      data.length !== PING_PAYLOAD_BYTES ||
      pings.length === 0 ||
      data.readUInt32BE(0) !== link.prefixHigh ||
      data.readUInt32BE(4) !== link.prefixLow
    ) {
      this.ignorePong(link, data);
      return;
    }
    const seq = data.readUInt32BE(8) * WORD + data.readUInt32BE(12);
    if (seq < pings[0]!.seq || seq > pings[pings.length - 1]!.seq) {
      this.ignorePong(link, data);
      return;
    }
    this.lastPongAt = performance.now();
    while (pings.length > 0 && pings[0]!.seq <= seq) pings.shift();
    if (this.options.delivery !== 'confirm') return;
    const inflight = this.inflight;
    while (
      inflight.length > 0 &&
      inflight[0]!.link === link &&
      inflight[0]!.pingSeq !== 0 &&
      inflight[0]!.pingSeq <= seq
    ) {
      inflight[0]!.settle({ status: 'flushed' });
    }
  }

  /** Counts a pong that answers nothing; a debug line at most every 10 s says how many. */
  private ignorePong(link: Link, data: Buffer): void {
    this.ignoredPongs++;
    link.ignoredPongs++;
    if (!this.log.enabled('debug')) return;
    const now = performance.now();
    if (now - this.ignoredPongLogAt < IGNORED_PONG_LOG_MS) return;
    this.ignoredPongLogAt = now;
    const since = this.ignoredPongs - this.ignoredPongsLogged;
    this.ignoredPongsLogged = this.ignoredPongs;
    this.log.debug(
      `pong of ${data.length} byte(s) ignored: it answers no outstanding ping of this connection ` +
        `(${since} ignored since the last such line, ${this.ignoredPongs} in all)`,
    );
  }

  private forget(entry: InFlight): void {
    if (this.inflight[0] === entry) this.inflight.shift();
    else this.inflight = this.inflight.filter((other) => other !== entry);
    if (this.inflight.length === 0 && this.options.idleCloseMs < 0) this.closeIdle();
  }

  /** Checks pong deadlines, sends keepalive pings and closes idle connections. */
  private startTicker(): void {
    const { pingIntervalMs, pingTimeoutMs, idleCloseMs } = this.options;
    const period = Math.max(50, Math.min(1000, pingTimeoutMs / 4, pingIntervalMs > 0 ? pingIntervalMs / 2 : 1000));
    this.ticker = setInterval(() => {
      const link = this.link;
      if (!link || this.state !== 'open') return;
      const now = performance.now();
      const oldest = link.pings[0];
      if (oldest && now - oldest.sentAt > pingTimeoutMs) {
        link.failure = pongTimeout(pingTimeoutMs);
        const ignored =
          link.ignoredPongs > 0 ? ` (${link.ignoredPongs} pong(s) that echoed none of our pings ignored)` : '';
        this.log.warn(`${link.failure.detail}${ignored}: abandoning the connection and reconnecting`);
        link.ws.terminate();
        return;
      }
      if (!oldest && pingIntervalMs > 0 && now - this.lastPongAt >= pingIntervalMs) this.ping(link);
      if (idleCloseMs > 0 && this.inflight.length === 0 && now - this.lastSendAt >= idleCloseMs) {
        this.closeIdle();
      }
    }, period);
  }

  /** Closes an idle connection on purpose; the next message opens a new one. */
  private closeIdle(): void {
    const ws = this.link?.ws;
    if (!ws || this.state !== 'open') return;
    this.state = 'idle';
    this.clearTimers();
    ws.close(1000, 'idle');
  }

  private clearTimers(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }
}
