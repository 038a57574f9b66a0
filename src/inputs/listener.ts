// What the network inputs (tcp, http, forward) share: the set of open connections and their
// pausing, pause-time accounting, and one source object per tag and peer (a chunk's source
// table must stay small). Binding a listener is src/net/listen.ts: outputs and the metrics
// server bind too.
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { BoundedCache } from '../bounded-cache.js';
import type { ChunkSource } from '../chunk/layout.js';
import { newInputStats, type InputStats } from '../engine/stats.js';
import type { Logger } from '../log.js';
import type { ServerTls } from '../tls/config.js';
import { serverOptions, watchHandshakes } from '../tls/options.js';
import type { ListenerLimits } from '../config/net-limits.js';
import { boundPort, listen } from '../net/listen.js';
import { ConnectionDeadlines, limitConnections } from './connection-limits.js';
import { adoptWithReusedReads } from './reused-reads.js';

/** Bytes of one read: what a net.Socket reads at most per callback. */
const READ_BUFFER_BYTES = 64 * 1024;

/** Records a pause or resume, accumulating the time spent paused. */
export function markPaused(stats: InputStats, paused: boolean): boolean {
  if (paused === stats.paused) return false;
  stats.paused = paused;
  const now = performance.now();
  if (paused) stats.pausedSince = now;
  else if (stats.pausedSince !== null) {
    stats.pausedMs += now - stats.pausedSince;
    stats.pausedSince = null;
  }
  return true;
}

/** Open connections of one input: counted, paused together, destroyed at stop. */
export class Connections {
  private readonly sockets = new Set<Socket>();

  constructor(private readonly stats: InputStats) {}

  add(socket: Socket): string {
    this.sockets.add(socket);
    this.stats.connections++;
    if (this.stats.paused) socket.pause();
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.stats.connections--;
    });
    return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  }

  setPaused(paused: boolean): void {
    if (!markPaused(this.stats, paused)) return;
    for (const socket of this.sockets) {
      if (paused) socket.pause();
      else socket.resume();
    }
  }

  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}

/**
 * -v: a line when a client connection is accepted and one when it closes, with what it sent
 * (called only when debug is on: nothing is built otherwise).
 */
export function logConnection(log: Logger, socket: Socket, peer: string, open?: () => number): void {
  const count = (): string => (open ? ` (${open()} open)` : '');
  log.debug(`connection from ${peer} accepted${count()}`);
  socket.once('close', () => {
    log.debug(`connection from ${peer} closed: ${socket.bytesRead} bytes read${count()}`);
  });
}

/** Stops listening and drops every connection; what was read is already appended. */
export async function closeServer(server: Server, connections: Connections): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  connections.destroyAll();
  await closed;
}

export class SourceCache {
  private readonly sources = new BoundedCache<ChunkSource>(10_000);
  private lastTag = '';
  private lastPeer = '';
  private last: ChunkSource | null = null;

  constructor(
    private readonly input: string,
    private readonly separator = '\n',
  ) {}

  get(tag: string, peer: string): ChunkSource {
    // The same tag and peer as last time, most often (one record per forward Message): no key.
    if (tag === this.lastTag && peer === this.lastPeer && this.last !== null) return this.last;
    const source = this.lookUp(tag, peer);
    this.lastTag = tag;
    this.lastPeer = peer;
    this.last = source;
    return source;
  }

  private lookUp(tag: string, peer: string): ChunkSource {
    const key = `${tag}\u0000${peer}`;
    let source = this.sources.get(key);
    if (!source) {
      source = Object.freeze({ input: this.input, tag, peer, separator: this.separator });
      this.sources.set(key, source);
    }
    return source;
  }
}

/**
 * A TCP-socket input (tcp, forward): listening, the port, pausing and stopping are the same;
 * a subclass says what a connection does. With `reusedReads`, a plain TCP connection's reads
 * land in one buffer of the input's (reused-reads.ts): its 'data' listener must copy what it
 * keeps past the call. TLS connections read fresh buffers either way.
 */
export abstract class SocketInput {
  readonly stats: InputStats = newInputStats();
  ready = false;
  protected readonly server: Server;
  protected readonly connections: Connections;
  /** Idle and record timeouts; a subclass reports each read's progress to it. */
  protected readonly deadlines: ConnectionDeadlines;

  constructor(
    readonly name: string,
    private readonly address: { listen: string; port: number; tls: ServerTls | null; limits: ListenerLimits },
    private readonly label: string,
    protected readonly log: Logger,
    reusedReads = false,
  ) {
    const debug = log.enabled('debug');
    const onConnection = (socket: Socket): void => {
      const peer = this.connections.add(socket);
      if (debug) logConnection(log, socket, peer, () => this.stats.connections);
      this.deadlines.watch(socket, peer);
      this.accept(socket, peer);
    };
    if (address.tls === null && reusedReads) {
      const readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
      this.server = createServer({ pauseOnConnect: true }, (accepted) => {
        const socket = adoptWithReusedReads(accepted, readBuffer);
        onConnection(socket);
        socket.resume(); // accepted paused; a connection with no 'data' listener still reads its end
      });
    } else if (address.tls === null) {
      this.server = createServer(onConnection);
    } else {
      // A TLS connection reaches accept() only once its handshake (and client certificate) passed.
      const server = createTlsServer(serverOptions(address.tls), onConnection);
      watchHandshakes(server, log, () => {
        this.stats.tlsHandshakeFailures++;
      });
      this.server = server;
    }
    this.connections = new Connections(this.stats);
    this.deadlines = new ConnectionDeadlines(address.limits, this.stats, log, name);
    limitConnections(this.server, address.limits, this.stats, log, name);
  }

  /** The port actually bound (differs from the config when it asked for 0). */
  get port(): number {
    return boundPort(this.server, this.address.port);
  }

  async start(): Promise<void> {
    await listen(this.server, this.address, this.label, this.log);
    this.ready = true;
  }

  /** Backpressure from the outputs: stop reading (the kernel then slows the senders). */
  setPaused(paused: boolean): void {
    const wasPaused = this.stats.paused;
    this.connections.setPaused(paused);
    if (wasPaused && !paused) this.deadlines.resumed();
  }

  async stop(): Promise<void> {
    this.deadlines.stop();
    await closeServer(this.server, this.connections);
  }

  protected abstract accept(socket: Socket, peer: string): void;
}
