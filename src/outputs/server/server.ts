// The listening side of websocket_server: an HTTP or HTTPS server whose upgrade requests are
// checked (path, Origin, token, client limit) before ws completes any handshake, so a refused
// client gets an HTTP status and a closed connection, never an open socket. Plain GET / serves
// the live-tail page.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WebSocketServerOutputConfig } from '../../config/types.js';
import type { ConnectionOutputStats } from '../../engine/stats.js';
import { boundPort, listen } from '../../net/listen.js';
import type { Logger } from '../../log.js';
import { serverOptions, watchHandshakes } from '../../tls/options.js';
import { describeError } from '../../engine/contain.js';
import { requestTarget } from '../../request-target.js';
import { TokenCheck, offeredToken, originAllowed } from './auth.js';
import { filterFromQuery } from './filter.js';
import type { Hub } from './hub.js';
import { PAGE_CSP, livePage } from './page.js';

/** Clients may talk (the plugin's sample page does); nothing they send is used, so keep it small. */
const MAX_CLIENT_MESSAGE = 64 * 1024;
/** At shutdown, how long clients have to answer the close frame before their sockets are destroyed. */
const CLOSE_WAIT_MS = 1000;

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  503: 'Service Unavailable',
};

export class FeedServer {
  private server: Server | null = null;
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_CLIENT_MESSAGE,
    clientTracking: false,
  });
  private readonly paths: ReadonlySet<string>;
  private readonly token: TokenCheck | null;
  private readonly page: string;
  private pingTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: WebSocketServerOutputConfig,
    private readonly hub: Hub,
    private readonly stats: ConnectionOutputStats,
    private readonly log: Logger,
  ) {
    this.paths = new Set(config.paths);
    this.token = config.token === null ? null : new TokenCheck(config.token);
    this.page = livePage({
      path: config.paths[0] ?? '/',
      addTag: config.addTag,
      addTime: config.addTime,
      withIds: hub.withIds,
      msgpack: config.useMsgpack,
      lines: config.format === 'json_lines',
    });
  }

  get port(): number {
    return this.server ? boundPort(this.server, this.config.port) : this.config.port;
  }

  async start(label: string): Promise<void> {
    const tls = this.config.tls;
    let server: Server;
    if (tls === null) {
      server = createHttpServer();
    } else {
      const https = createHttpsServer(serverOptions(tls));
      watchHandshakes(https, this.log, () => {
        this.stats.handshakesFailed++;
      });
      server = https;
    }
    // What a client sends must never end the relay: a handler that throws costs that request.
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      try {
        this.request(request, response);
      } catch (error) {
        this.failed(`${request.method ?? '?'} request`, error, () => {
          if (response.headersSent) response.destroy();
          else response.writeHead(500, { 'Content-Type': 'text/plain', Connection: 'close' }).end('internal error\n');
        });
      }
    });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        this.upgrade(request, socket, head);
      } catch (error) {
        this.stats.handshakesFailed++;
        this.failed('upgrade', error, () => socket.destroy());
      }
    });
    server.on('clientError', (_error, socket: Duplex) => socket.destroy());
    this.server = server;
    await listen(server, this.config, label, this.log);
    const scheme = tls === null ? 'ws' : 'wss';
    this.log.info(
      `serving ${this.config.paths.map((p) => `${scheme}://${this.config.listen}:${this.port}${p}`).join(', ')}`,
    );
    if (this.config.pingIntervalSeconds > 0) {
      this.pingTimer = setInterval(() => this.hub.ping(), this.config.pingIntervalSeconds * 1000);
      this.pingTimer.unref();
    }
  }

  /** Stops listening, says goodbye (1001 Going Away) and destroys whatever is still open. */
  async stop(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const clients = [...this.hub.clients];
    for (const client of clients) if (client.open) client.ws.close(1001, 'relay shutting down');
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (this.hub.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const client of clients) client.ws.terminate();
    server.closeAllConnections();
    await closed;
  }

  private failed(what: string, error: unknown, close: () => void): void {
    this.log.burst('error', `${this.config.name} handler`, `a client's ${what} failed: ${describeError(error)}`);
    try {
      close();
    } catch {
      // Already gone.
    }
  }

  private request(request: IncomingMessage, response: ServerResponse): void {
    const target = requestTarget(request.url);
    if (target === null) {
      response.writeHead(400, { 'Content-Type': 'text/plain', Connection: 'close' }).end('bad request target\n');
      return;
    }
    const path = target.path;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
    } else if (path === '/' && this.config.liveTail) {
      response.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': PAGE_CSP,
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'no-store',
        'Referrer-Policy': 'no-referrer',
      });
      response.end(request.method === 'HEAD' ? undefined : this.page);
    } else if (this.paths.has(path)) {
      response
        .writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain' })
        .end('this path serves WebSocket clients\n');
    } else {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    }
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Until ws takes the socket over, an error on it (a client resetting) must not be unhandled.
    socket.on('error', () => socket.destroy());
    const target = requestTarget(request.url);
    if (target === null) return this.refuse(socket, 400, 'bad request target');
    const params = target.params;
    if (!this.paths.has(target.path)) return this.refuse(socket, 404, 'no WebSocket feed on this path');
    if (!originAllowed(request, this.config.allowedOrigins)) return this.refuse(socket, 403, 'origin not allowed');
    if (this.token && !this.token.accepts(offeredToken(request, params))) {
      return this.refuse(socket, 401, 'a valid token is required (?token= or Authorization: Bearer)', {
        'WWW-Authenticate': 'Bearer',
      });
    }
    if (this.config.maxClients > 0 && this.hub.clients.size >= this.config.maxClients) {
      return this.refuse(socket, 503, `too many clients (max_clients ${this.config.maxClients})`, {
        'Retry-After': '5',
      });
    }
    const lastIdText = params.get('last_id');
    if (lastIdText !== null && !/^\d{1,16}$/.test(lastIdText))
      return this.refuse(socket, 400, 'last_id must be an id received earlier');
    const lastId = lastIdText === null ? null : Number(lastIdText);
    const filter = filterFromQuery(params);
    this.wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      const peer = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
      const client = this.hub.createClient(ws, socket, filter, peer);
      this.stats.handshakesOk++;
      ws.on('error', (error: Error) => this.log.debug(`client ${peer}: ${error.message}`));
      ws.on('close', () => {
        this.hub.remove(client);
        this.log.debug(`client ${peer} disconnected (${this.hub.clients.size} left)`);
      });
      this.hub.add(client, lastId);
      this.log.debug(
        `client ${peer} connected${filter ? ` with filter ${filter.key}` : ''} (${this.hub.clients.size} now)`,
      );
    });
  }

  /** An HTTP error answer on the upgrade socket, then the socket is closed: no upgrade happens. */
  private refuse(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
    this.stats.handshakesFailed++;
    const body = `${message}\n`;
    const lines = [
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
      'Connection: close',
      'Content-Type: text/plain',
      `Content-Length: ${Buffer.byteLength(body)}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
    this.log.debug(`refused an upgrade with ${status}: ${message}`);
  }
}
