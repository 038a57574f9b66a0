// The limits a network input puts on its clients (net.max_connections, net.io_timeout,
// net.record_timeout): a connection beyond the maximum is closed at accept, a silent one after
// the io timeout, and one whose begun record does not complete in time (slowloris: a byte now
// and then keeps an idle timeout from ever firing) after the record timeout. Every close is
// counted by reason and logged once per burst. Time spent paused by backpressure does not
// count: the relay, not the peer, is what stopped the record.
import { STATUS_CODES, type Server as HttpServer } from 'node:http';
import type { Server, Socket } from 'node:net';
import type { ListenerLimits } from '../config/net-limits.js';
import type { CloseReason, InputStats } from '../engine/stats.js';
import type { Logger } from '../log.js';

/** Counts a close, logs it once per burst (per input and reason) and destroys the socket. */
export function closeFor(
  socket: Socket | null,
  reason: CloseReason,
  detail: string,
  stats: InputStats,
  log: Logger,
  input: string,
): void {
  stats.closed[reason]++;
  log.burst('warn', `closed ${input} ${reason}`, detail);
  socket?.destroy();
}

/** net.max_connections on any listening server (tcp, TLS or HTTP): Node refuses the excess. */
export function limitConnections(
  server: Server | HttpServer,
  limits: ListenerLimits,
  stats: InputStats,
  log: Logger,
  input: string,
): void {
  if (limits.maxConnections <= 0) return;
  server.maxConnections = limits.maxConnections;
  server.on('drop', (peer?: { remoteAddress?: string; remotePort?: number }) => {
    closeFor(
      null,
      'max_connections',
      `refused a connection from ${peer?.remoteAddress ?? '?'}:${peer?.remotePort ?? '?'}: ` +
        `net.max_connections (${limits.maxConnections}) are open`,
      stats,
      log,
      input,
    );
  });
}

interface Deadline {
  readonly peer: string;
  /** Monotonic ms since when a record has been begun and not finished; 0 = none. */
  partialSince: number;
}

/** Idle and record timeouts of the connections of one socket input (tcp, forward). */
export class ConnectionDeadlines {
  private readonly open = new Map<Socket, Deadline>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly limits: ListenerLimits,
    private readonly stats: InputStats,
    private readonly log: Logger,
    private readonly input: string,
  ) {}

  watch(socket: Socket, peer: string): void {
    this.open.set(socket, { peer, partialSince: 0 });
    socket.once('close', () => this.open.delete(socket));
    if (this.limits.ioTimeoutMs > 0) {
      // A lasting listener: setTimeout(ms, callback) would listen once, and the re-armed timer
      // after a pause would then fire into the void.
      socket.on('timeout', () => {
        // Paused by backpressure: the silence is ours. Re-arm and wait.
        if (this.stats.paused) socket.setTimeout(this.limits.ioTimeoutMs);
        else
          closeFor(
            socket,
            'io_timeout',
            `closed ${peer}: nothing received for net.io_timeout ` + `(${this.limits.ioTimeoutMs / 1000} s)`,
            this.stats,
            this.log,
            this.input,
          );
      });
      socket.setTimeout(this.limits.ioTimeoutMs);
    }
    // One sweep per input rather than a timer per connection: the data path only stores a number.
    this.sweeper ??= setInterval(() => this.sweep(), Math.min(1000, Math.max(10, this.limits.recordTimeoutMs / 4)));
    this.sweeper.unref();
  }

  /**
   * After a read: `partial` says a record is begun and unfinished, `completed` that at least one
   * record ended in this read (the clock of the record now pending starts afresh).
   */
  progress(socket: Socket, partial: boolean, completed: boolean): void {
    const deadline = this.open.get(socket);
    if (!deadline) return;
    if (!partial) deadline.partialSince = 0;
    else if (completed || deadline.partialSince === 0) deadline.partialSince = performance.now();
  }

  /** Reading resumes after a pause: pending records get their full time again. */
  resumed(): void {
    const now = performance.now();
    for (const deadline of this.open.values()) if (deadline.partialSince !== 0) deadline.partialSince = now;
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  private sweep(): void {
    if (this.stats.paused) return;
    const expired = performance.now() - this.limits.recordTimeoutMs;
    for (const [socket, deadline] of this.open) {
      if (deadline.partialSince !== 0 && deadline.partialSince < expired) {
        this.open.delete(socket);
        closeFor(
          socket,
          'record_timeout',
          `closed ${deadline.peer}: a record begun ${this.limits.recordTimeoutMs / 1000} s ago ` +
            'is still incomplete (net.record_timeout)',
          this.stats,
          this.log,
          this.input,
        );
      }
    }
  }
}

/** What Node's HTTP parser reports, as a status and a close reason. */
function httpClientError(code: string): readonly [number, CloseReason] {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'record_timeout'];
  if (code === 'HPE_HEADER_OVERFLOW') return [431, 'oversized'];
  return [400, 'protocol_error'];
}

/**
 * The same limits on an HTTP(S) server, through Node's own: the request timeout is
 * net.record_timeout (headers and body, so a slowloris request is answered 408 and closed),
 * the socket timeout net.io_timeout (idle keep-alive connections still close after Node's 5 s).
 * `connectionsCheckingInterval` must be given to createServer: see httpServerOptions.
 */
export function limitHttp(
  server: HttpServer,
  limits: ListenerLimits,
  stats: InputStats,
  log: Logger,
  input: string,
): void {
  limitConnections(server, limits, stats, log, input);
  server.headersTimeout = Math.min(60_000, limits.recordTimeoutMs);
  server.requestTimeout = limits.recordTimeoutMs;
  server.timeout = limits.ioTimeoutMs;
  server.on('timeout', (socket: Socket) => {
    closeFor(
      socket,
      'io_timeout',
      `closed ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}: nothing received ` +
        `for net.io_timeout (${limits.ioTimeoutMs / 1000} s)`,
      stats,
      log,
      input,
    );
  });
  // With a listener here Node no longer answers bad requests itself: do what it does, counted.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason] = httpClientError(error.code ?? '');
    closeFor(
      null,
      reason,
      `closed ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}: ${status} ` +
        `${STATUS_CODES[status] ?? ''} (${error.code ?? error.message})`,
      stats,
      log,
      input,
    );
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
}

/** createServer options the limits need: Node checks request timeouts only this often (30 s by default). */
export function httpServerOptions(limits: ListenerLimits): { connectionsCheckingInterval: number } {
  return { connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(limits.recordTimeoutMs / 4))) };
}
