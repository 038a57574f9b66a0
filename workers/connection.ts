// One worker's WebSocket connection: opened eagerly, reopened with a fresh handshake after
// every drop, probed with pings, and able to say when a message has really been received.
//
// Delivery confirmation: in `confirm` mode every message is followed by a ping whose payload
// is a sequence number. A WebSocket server answers pings in order, after the frames before
// them, so the pong for ping N proves every message sent before it was read. Messages not yet
// confirmed when the connection drops are reported failed, and the main thread sends them
// again: duplicates are possible, loss is not. In `write` mode a message counts when the
// socket accepted it (ws.send's callback).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { frameInPlace } from './client-frame.js';
import { WriteTurns } from './write-turns.js';
import type { WorkerSettings } from '../src/outputs/websocket/protocol.js';
import type { Logger } from '../src/log.js';
import { clientConnectOptions, explainTlsError } from '../src/tls/options.js';

export type SendOutcome =
  | { readonly status: 'flushed' }
  | { readonly status: 'held' }
  | { readonly status: 'not_sent' | 'failed'; readonly reason: string };

/** The connection's share of the worker settings (see WorkerSettings for each field). */
export type ConnectionOptions = Pick<WorkerSettings, 'url' | 'headers' | 'delivery' | 'connectTimeoutMs' |
  'pingIntervalMs' | 'pingTimeoutMs' | 'idleCloseMs' | 'compress' | 'tls'>;

export interface ConnectionEvents {
  onHandshake(ok: boolean, detail: string): void;
  onClosed(detail: string): void;
}

type State = 'idle' | 'connecting' | 'open' | 'backoff' | 'stopped';

interface InFlight {
  /** The ping that confirms this message (confirm mode), else 0. */
  pingSeq: number;
  settle(outcome: SendOutcome): void;
}

interface OutstandingPing {
  readonly seq: number;
  readonly sentAt: number;
}

const RECONNECT_BASE_MS = 500;
const RECONNECT_CAP_MS = 5_000;

export class Connection {
  private state: State = 'idle';
  private ws: WebSocket | null = null;
  /** The open connection's socket, for frames written by us (client-frame.ts). */
  private socket: Duplex | null = null;
  /** Whose turn it is to encode and write (write-turns.ts). */
  private readonly turns = new WriteTurns();
  private attempt: Promise<boolean> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectFailures = 0;
  private inflight: InFlight[] = [];
  private pings: OutstandingPing[] = [];
  private nextPingSeq = 1;
  private ticker: NodeJS.Timeout | null = null;
  private lastPongAt = 0;
  private lastSendAt = 0;
  private lastError = 'not connected yet';
  private warnedPongPayload = false;

  constructor(private readonly options: ConnectionOptions, private readonly log: Logger,
    private readonly events: ConnectionEvents) {}

  get isOpen(): boolean {
    return this.state === 'open';
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
      return { status: 'not_sent', reason: this.lastError };
    }
    if (stillDue !== undefined && !stillDue()) {
      release?.();
      this.turns.done();
      return { status: 'held' };
    }
    const ws = this.ws!;
    const socket = this.socket;
    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const entry: InFlight = {
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
        if (error) entry.settle({ status: 'failed', reason: `write failed: ${error.message}` });
        else if (this.options.delivery === 'write') entry.settle({ status: 'flushed' });
      };
      if (release && socket && !this.options.compress) {
        // ws.send refuses the same way once a close frame has been sent or received.
        if (ws.readyState !== WebSocket.OPEN) written(new Error(`WebSocket is not open: readyState ${ws.readyState}`));
        else socket.write(frameInPlace(message, binary), written);
      }
      else ws.send(message, { binary, compress: this.options.compress }, written);
      this.turns.done();
      if (this.options.delivery === 'confirm') entry.pingSeq = this.ping(ws);
    });
  }

  /** Closes with a close frame (1000) and stops reconnecting. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    this.clearTimers();
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { ws.terminate(); resolve(); }, 2000);
      ws.once('close', () => { clearTimeout(timer); resolve(); });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'relay shutting down');
    });
  }

  private async ensureOpen(): Promise<boolean> {
    switch (this.state) {
      case 'open': return true;
      case 'connecting': return this.attempt!;
      case 'stopped': return false;
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
      this.ws = ws;
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
        this.pings = [];
        this.startTicker();
        this.log.info(`handshake with ${this.options.url} succeeded`);
        this.events.onHandshake(true, this.options.url);
        resolve(true);
      });
      ws.on('pong', (data: Buffer) => this.onPong(data));
      ws.on('error', (error: Error) => { this.lastError = explainTlsError(error); });
      ws.on('close', (code: number, reason: Buffer) => {
        if (!opened && this.state !== 'stopped') {
          this.log.burst('warn', `handshake ${this.options.url}`, `handshake with ${this.options.url} failed: ${this.lastError}`);
          this.events.onHandshake(false, this.lastError);
        }
        this.onClose(ws, opened, code, reason.toString());
        resolve(false);
      });
    });
    return this.attempt;
  }

  private onClose(ws: WebSocket, opened: boolean, code: number, reason: string): void {
    const detail = `connection closed (code ${code}${reason ? `, ${reason}` : ''})`;
    if (opened) this.events.onClosed(detail);
    if (this.ws !== ws) return; // an older connection, already replaced by a newer one
    this.ws = null;
    this.socket = null;
    this.turns.setSocket(null);
    this.clearTimers();
    if (opened) {
      this.lastError = detail;
      if (this.inflight.length > 0) this.log.warn(`${detail} with ${this.inflight.length} message(s) unconfirmed`);
      else this.log.info(detail);
    }
    const unconfirmed = this.inflight;
    this.inflight = [];
    for (const entry of unconfirmed) entry.settle({ status: 'failed', reason: this.lastError });
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
    this.reconnectTimer = setTimeout(() => { void this.connect(); }, delay);
  }

  /** Sends a ping carrying the next sequence number; returns that number. */
  private ping(ws: WebSocket): number {
    const seq = this.nextPingSeq++;
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(seq >>> 0, 0);
    this.pings.push({ seq, sentAt: performance.now() });
    ws.ping(payload);
    return seq;
  }

  private onPong(data: Buffer): void {
    this.lastPongAt = performance.now();
    if (data.length !== 4) {
      if (!this.warnedPongPayload) {
        this.warnedPongPayload = true;
        this.log.warn('the server answers pings without their payload: deliveries cannot be ' +
          'confirmed; set "delivery write" for this server');
      }
      return;
    }
    const seq = data.readUInt32BE(0);
    while (this.pings.length > 0 && this.pings[0]!.seq <= seq) this.pings.shift();
    if (this.options.delivery !== 'confirm') return;
    while (this.inflight.length > 0 && this.inflight[0]!.pingSeq !== 0 && this.inflight[0]!.pingSeq <= seq) {
      this.inflight[0]!.settle({ status: 'flushed' });
    }
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
      const ws = this.ws;
      if (!ws || this.state !== 'open') return;
      const now = performance.now();
      const oldest = this.pings[0];
      if (oldest && now - oldest.sentAt > pingTimeoutMs) {
        this.lastError = `no pong within ${pingTimeoutMs / 1000} s`;
        this.log.warn(`${this.lastError}: abandoning the connection and reconnecting`);
        ws.terminate();
        return;
      }
      if (!oldest && pingIntervalMs > 0 && now - this.lastPongAt >= pingIntervalMs) this.ping(ws);
      if (idleCloseMs > 0 && this.inflight.length === 0 && now - this.lastSendAt >= idleCloseMs) {
        this.closeIdle();
      }
    }, period);
  }

  /** Closes an idle connection on purpose; the next message opens a new one. */
  private closeIdle(): void {
    const ws = this.ws;
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
