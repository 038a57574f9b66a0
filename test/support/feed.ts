// Helpers for the websocket_server tests: a relay with a tcp input and the server output on
// 127.0.0.1 (ephemeral ports), clients that record every frame, and a raw client that
// completes the handshake and then never reads.
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { WebSocket, type ClientOptions, type RawData } from 'ws';
import type { WebSocketServerOutput } from '../../src/outputs/server/output.js';
import { startPipeline, type SectionSpec, type TestRelay } from './relay.js';

export interface FeedRelay extends TestRelay {
  readonly output: WebSocketServerOutput;
  /** `ws://127.0.0.1:<port>` (no path). */
  readonly base: string;
}

export async function startFeedRelay(
  output: Record<string, string> = {},
  input: Record<string, string> = {},
  extraInputs: SectionSpec[] = [],
): Promise<FeedRelay> {
  const relay = await startPipeline(
    [{ plugin: 'tcp', props: { listen: '127.0.0.1', port: '0', tag: 'foo.bar', ...input } }, ...extraInputs],
    [{ plugin: 'websocket_server', props: { listen: '127.0.0.1', port: '0', match: '*', ...output } }],
  );
  const server = relay.engine.outputs[0] as WebSocketServerOutput;
  return { ...relay, output: server, base: `ws://127.0.0.1:${server.port}` };
}

export interface Frame {
  readonly data: Buffer;
  readonly binary: boolean;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A connected client that keeps every frame it receives. */
export class FeedClient {
  readonly frames: Frame[] = [];
  closeCode: number | null = null;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: RawData, binary: boolean) => this.frames.push({ data: toBuffer(data), binary }));
    this.closed = new Promise((resolve) =>
      ws.on('close', (code: number) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
  }

  static open(url: string, options: ClientOptions = {}): Promise<FeedClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      const client = new FeedClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode ?? '?'}`)));
    });
  }

  /** Every JSON message received, each line of a json_lines frame being one. */
  json(): unknown[] {
    const out: unknown[] = [];
    for (const frame of this.frames) {
      for (const line of frame.data.toString('utf8').split('\n')) if (line !== '') out.push(JSON.parse(line));
    }
    return out;
  }

  /** The records (the element after tag/time) of JSON messages, in order. */
  records(recordIndex: number): Array<Record<string, unknown>> {
    return this.json().map((m) => (m as unknown[])[recordIndex] as Record<string, unknown>);
  }

  close(): Promise<number> {
    this.ws.close();
    return this.closed;
  }
}

export interface UpgradeAnswer {
  readonly status: number;
  readonly upgraded: boolean;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** A handshake by hand, to see exactly what the server answers (and that no upgrade happens). */
export function tryUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, upgraded: true, body: '', headers: res.headers });
    });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          upgraded: false,
          body: Buffer.concat(parts).toString('utf8'),
          headers: res.headers,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Completes a handshake over a raw socket and then never reads again (a stuck consumer). */
export function openStuckClient(port: number, path = '/'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
    });
    let head = '';
    const onData = (part: Buffer): void => {
      head += part.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      if (head.startsWith('HTTP/1.1 101')) resolve(socket);
      else reject(new Error(head.split('\r\n')[0]));
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

export function lines(from: number, count: number, extra: (seq: number) => string = () => ''): string[] {
  return Array.from(
    { length: count },
    (_, i) => `{"seq":${from + i}${extra(from + i)},"msg":"record number ${from + i}"}`,
  );
}
