// `wsrelay sink`: a small WebSocket server that counts (and optionally prints) what it
// receives, for trying the relay by hand and for the load harness. Understands every output
// format: TEXT messages are JSON lines/streams, a JSON array, or GELF lines; BINARY messages
// are a msgpack stream of [time, record] entries.
import { WebSocketServer, type RawData } from 'ws';
import { Unpackr } from 'msgpackr';
import { registerEventTimeExtension } from '../codec/event-time.js';
import type { Logger } from '../log.js';

// Fluentd's EventTime (ext type 0), printed as a double.
registerEventTimeExtension();
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' }); // BigInt has no JSON form

export interface SinkOptions {
  readonly listen: string;
  readonly port: number;
  readonly print: boolean;
  /** Where printed records go (stdout by default). */
  readonly out?: (line: string) => void;
}

export interface SinkCounts {
  connections: number;
  messages: number;
  records: number;
  bytes: number;
}

export interface RunningSink {
  readonly port: number;
  readonly counts: SinkCounts;
  /** Clients connected now. */
  readonly clients: number;
  /**
   * Closes every client with a close frame (1001 Going Away), waits for their answers (at most
   * CLOSE_WAIT_MS, then the stragglers are cut off) and stops listening.
   */
  close(): Promise<void>;
}

/** How long close() waits for clients to answer the close frame. */
export const CLOSE_WAIT_MS = 1000;

/** `wsrelay sink --help`. */
export function sinkHelpText(defaults: { readonly listen: string; readonly port: number }): string {
  return [
    'Usage: wsrelay sink [--port PORT] [--listen ADDR] [--print]',
    '',
    'A WebSocket server that counts what it receives (and with --print prints each record as a',
    'JSON line on stdout), to try the relay against. It understands every output format: TEXT',
    'messages of JSON lines, a JSON array or GELF; BINARY messages of msgpack [time, record].',
    'Every 5 s it logs the totals when they changed. On SIGINT/SIGTERM it closes each client',
    `with a close frame (1001 Going Away), waits up to ${CLOSE_WAIT_MS / 1000} s for them, and exits 0.`,
    '',
    'Options:',
    `  --port PORT     port to listen on (default ${defaults.port}; 0 picks a free one)`,
    `  --listen ADDR   address to listen on (default ${defaults.listen})`,
    '  --print         print every record received',
    '  -h, --help      print this help',
    '',
  ].join('\n');
}

/** The records of one message, as JSON text lines. */
export function recordsOf(data: Buffer, binary: boolean): string[] {
  if (binary) return unpackr.unpackMultiple(data).map((entry: unknown) => JSON.stringify(entry));
  const text = data.toString('utf8');
  if (text.startsWith('[')) return (JSON.parse(text) as unknown[]).map((record) => JSON.stringify(record));
  return text.split('\n').filter((line) => line.length > 0);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function closeServer(server: WebSocketServer): Promise<void> {
  const clients = [...server.clients];
  const answered = Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((done) => {
          if (client.readyState === client.CLOSED) {
            done();
            return;
          }
          client.once('close', () => done());
          client.close(1001, 'sink shutting down');
        }),
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((done) => {
    timer = setTimeout(done, CLOSE_WAIT_MS);
  });
  return Promise.race([answered, waited]).then(() => {
    clearTimeout(timer);
    for (const client of server.clients) client.terminate();
    return new Promise<void>((done) => server.close(() => done()));
  });
}

export function startSink(options: SinkOptions, log: Logger): Promise<RunningSink> {
  const counts: SinkCounts = { connections: 0, messages: 0, records: 0, bytes: 0 };
  const out =
    options.out ??
    ((line: string) => {
      process.stdout.write(`${line}\n`);
    });
  const server = new WebSocketServer({ host: options.listen, port: options.port, maxPayload: 256 << 20 });
  server.on('connection', (socket, request) => {
    counts.connections++;
    const peer = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    log.info(`connection from ${peer} on ${request.url ?? '/'}`);
    socket.on('message', (data, isBinary) => {
      const bytes = toBuffer(data);
      counts.messages++;
      counts.bytes += bytes.length;
      try {
        const records = recordsOf(bytes, isBinary);
        counts.records += records.length;
        if (options.print) for (const record of records) out(record);
      } catch (error) {
        log.warn(`undecodable ${isBinary ? 'binary' : 'text'} message from ${peer}: ${(error as Error).message}`);
      }
    });
    socket.on('close', (code) => log.info(`connection from ${peer} closed (code ${code})`));
    socket.on('error', (error) => log.warn(`connection from ${peer}: ${error.message}`));
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          `sink cannot listen on ${options.listen}:${options.port}: ${error.code === 'EADDRINUSE' ? 'address already in use' : error.message}`,
        ),
      );
    });
    server.once('listening', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      log.info(`listening on ws://${options.listen}:${port}/`);
      resolve({
        port,
        counts,
        get clients() {
          return server.clients.size;
        },
        close: () => closeServer(server),
      });
    });
  });
}
