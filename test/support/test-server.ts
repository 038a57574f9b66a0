// A real WebSocket server on 127.0.0.1 for the tests, with the faults they need: stop and
// restart on the same port, drop a connection right after reading a message, close it with
// 1011 instead of handling a message, never answer pings, never read.
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';

export interface ReceivedMessage {
  readonly data: Buffer;
  readonly binary: boolean;
  readonly connection: number;
}

export interface UpgradeRequest {
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  /** TLS servers: the SNI name the client sent (false when none). */
  readonly servername?: string | false;
  /** TLS servers: the CN of the client certificate, '' when none was presented. */
  readonly clientCert?: string;
}

/** Serve wss:// (PEM text); with `ca`, client certificates signed by it are required (mTLS). */
export interface TestServerTls {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
}

export interface TestServerOptions {
  /** Answer pings (ws does by default); false simulates a server that never pongs. */
  readonly autoPong?: boolean;
  /**
   * Called for each message before it is recorded; return 'drop' to close the TCP connection
   * at once without recording it (the frame was read, then the server died), or 'error' to
   * close it with 1011 (Internal Error) without recording it (the server failed to handle it).
   */
  readonly onMessage?: (message: ReceivedMessage, index: number) => 'keep' | 'drop' | 'error';
  /** Start not reading (see setReading): connections complete the handshake, then never read. */
  readonly reading?: boolean;
  readonly tls?: TestServerTls;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export class TestServer {
  readonly messages: ReceivedMessage[] = [];
  readonly requests: UpgradeRequest[] = [];
  readonly closeCodes: number[] = [];
  private server: WebSocketServer | null = null;
  private https: HttpsServer | null = null;
  /** TLS servers: every TCP connection accepted, handshaking or not, for stop() to end. */
  private readonly sockets = new Set<Socket>();
  /** TLS servers: handshakes that failed (untrusted or missing client certificate...). */
  tlsFailures = 0;
  private seen = 0;
  private connectionCount = 0;
  private reading: boolean;

  private constructor(
    public port: number,
    private readonly options: TestServerOptions,
  ) {
    this.reading = options.reading ?? true;
  }

  static async start(options: TestServerOptions = {}, port = 0): Promise<TestServer> {
    const server = new TestServer(port, options);
    await server.listen();
    return server;
  }

  get connections(): number {
    return this.connectionCount;
  }

  get openConnections(): number {
    return this.server ? this.server.clients.size : 0;
  }

  async listen(): Promise<void> {
    const common = { autoPong: this.options.autoPong ?? true, maxPayload: 64 << 20 };
    const tls = this.options.tls;
    let server: WebSocketServer;
    if (tls) {
      const mtls = tls.ca !== undefined;
      const https = createHttpsServer({ ...tls, requestCert: mtls, rejectUnauthorized: mtls });
      https.on('tlsClientError', () => {
        this.tlsFailures++;
      });
      https.on('connection', (socket: Socket) => {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        https.once('error', reject);
        https.listen(this.port, '127.0.0.1', () => resolve());
      });
      this.https = https;
      server = new WebSocketServer({ ...common, server: https });
    } else {
      server = new WebSocketServer({ ...common, host: '127.0.0.1', port: this.port });
      await new Promise<void>((resolve, reject) => {
        server.once('listening', resolve);
        server.once('error', reject);
      });
    }
    this.port = (server.address() as AddressInfo).port;
    server.on('connection', (socket: WebSocket, request: IncomingMessage) => this.accept(socket, request));
    this.server = server;
  }

  /**
   * Stops (or resumes) reading every open connection, and connections opened later: the
   * client's frames back up.
   */
  setReading(reading: boolean): void {
    this.reading = reading;
    for (const client of this.server?.clients ?? []) TestServer.read(client, reading);
  }

  private static read(client: WebSocket, reading: boolean): void {
    const socket = (client as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    if (reading) socket.resume();
    else socket.pause();
  }

  /** Kills every connection (no close frame) and stops listening. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const https = this.https;
    this.https = null;
    if (https) {
      // Every socket, not closeAllConnections(): a connection still in its TLS handshake, or
      // accepted after the WebSocket server stopped, would send an upgrade nothing answers and
      // keep close() waiting until the client gives up (Connect_Timeout).
      const closed = new Promise<void>((resolve) => https.close(() => resolve()));
      for (const socket of this.sockets) socket.destroy();
      await closed;
    }
  }

  /** Every record of every text message, parsed (json_lines / json_stream / json). */
  jsonRecords(): Array<Record<string, unknown>> {
    const records: Array<Record<string, unknown>> = [];
    for (const message of this.messages) {
      const text = message.data.toString('utf8');
      if (text.startsWith('[')) records.push(...(JSON.parse(text) as Array<Record<string, unknown>>));
      else for (const line of text.split('\n')) if (line) records.push(JSON.parse(line) as Record<string, unknown>);
    }
    return records;
  }

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const connection = ++this.connectionCount;
    const tls = this.options.tls ? (request.socket as TLSSocket) : null;
    this.requests.push({
      url: request.url ?? '',
      headers: request.headers,
      ...(tls
        ? { servername: tls.servername ?? false, clientCert: String(tls.getPeerCertificate().subject?.CN ?? '') }
        : {}),
    });
    if (!this.reading) TestServer.read(socket, false);
    let dropped = false;
    socket.on('message', (data: RawData, binary: boolean) => {
      // Frames parsed from the same read after a drop never reached the "application".
      if (dropped) return;
      const message = { data: toBuffer(data), binary, connection };
      const verdict = this.options.onMessage?.(message, this.seen++) ?? 'keep';
      if (verdict === 'drop') {
        dropped = true;
        socket.terminate();
        return;
      }
      if (verdict === 'error') {
        // Neither this message nor later ones on this connection are handled; no pong follows.
        dropped = true;
        socket.close(1011, 'internal error');
        return;
      }
      this.messages.push(message);
    });
    socket.on('close', (code: number) => this.closeCodes.push(code));
    socket.on('error', () => undefined);
  }
}
