// Fluentd's in_http and Fluent Bit's http input: POST /<tag path> with a JSON object or array,
// newline-delimited JSON, a `json=` form field, or msgpack. A request is all or nothing: every
// record is checked before any is buffered, and the 2xx answer is sent only after they are.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { SegmentKind } from '../chunk/layout.js';
import type { HttpInputConfig } from '../config/types.js';
import { containConnection, type Containment } from '../engine/contain.js';
import type { InputPlugin, SegmentSink } from '../engine/plugins.js';
import { newInputStats, type InputStats } from '../engine/stats.js';
import type { Logger } from '../log.js';
import { eventTimeNow } from '../time.js';
import { logConnection, markPaused, SourceCache } from './listener.js';
import { boundPort, listen } from '../net/listen.js';
import { serverOptions, watchHandshakes } from '../tls/options.js';
import { storedBeforeAck } from '../storage/acks.js';
import { BadBody, bodyLines, countNdjsonRecords, isNdjson, mediaType, type Segment, type TagOf } from './http-body.js';
import { closeFor, httpServerOptions, limitHttp } from './connection-limits.js';

function peerOf(request: IncomingMessage): string {
  return `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
}

/** `/foo/bar` → `foo.bar`, keeping only the characters Fluent Bit keeps in a tag. */
export function tagFromPath(url: string): string {
  const raw = url.split('?')[0] ?? '';
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    // A malformed escape (`/%E0%A4%A`) throws, and out of the request handler it would end the
    // process: keep the path as sent; the filter below drops the `%`.
    path = raw;
  }
  return path
    .split('/')
    .filter((part) => part !== '')
    .join('.')
    .replace(/[^A-Za-z0-9_.-]/g, '');
}

export class HttpInput implements InputPlugin {
  readonly name: string;
  readonly stats: InputStats = newInputStats();
  /** Tags come from the URL. */
  readonly staticTag = null;
  ready = false;
  private readonly log: Logger;
  private readonly server: Server;
  private readonly sources: SourceCache;
  /** tag_key: a record's tag from its line, when the key holds a non-empty string. */
  private readonly tagOf: TagOf | null;
  /** What a handler that throws is counted and logged under (contain.ts). */
  private readonly guard: Containment;

  constructor(
    private readonly config: HttpInputConfig,
    private readonly sink: SegmentSink,
    log: Logger,
  ) {
    this.name = config.name;
    this.log = log.child(`input:http:${config.name}`);
    this.sources = new SourceCache(config.name);
    this.guard = { stats: this.stats, log: this.log, input: this.name };
    const tagKey = config.tagKey;
    this.tagOf =
      tagKey === null
        ? null
        : (line) => {
            const value = (JSON.parse(line.toString('utf8')) as Record<string, unknown>)[tagKey];
            return typeof value === 'string' && value !== '' ? value : null;
          };
    // What a client sends must never end the relay: a handler that throws costs that request
    // (a 500, the connection closed, counted as internal_error).
    const handler = (request: IncomingMessage, response: ServerResponse): void => {
      containConnection(
        this.guard,
        peerOf(request),
        () => this.failRequest(response),
        () => this.handle(request, response),
      )();
    };
    if (config.tls === null) {
      this.server = createServer({ keepAlive: true, ...httpServerOptions(config.limits) }, handler);
    } else {
      const server = createHttpsServer(
        { ...serverOptions(config.tls), keepAlive: true, ...httpServerOptions(config.limits) },
        handler,
      );
      watchHandshakes(server, this.log, () => {
        this.stats.tlsHandshakeFailures++;
      });
      this.server = server;
    }
    limitHttp(this.server, config.limits, this.stats, this.log, config.name);
    if (this.log.enabled('debug')) {
      this.server.on('connection', (socket: Socket) => {
        logConnection(this.log, socket, `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`);
      });
    }
  }

  get port(): number {
    return boundPort(this.server, this.config.port);
  }

  async start(): Promise<void> {
    await listen(this.server, this.config, `input:http:${this.name}`, this.log);
    this.ready = true;
  }

  setPaused(paused: boolean): void {
    // Requests are refused with 503 per tag (sink.accepts) rather than by pausing sockets.
    markPaused(this.stats, paused);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private reply(response: ServerResponse, status: number, error?: string, headers: Record<string, string> = {}): void {
    if (error === undefined) {
      response.writeHead(status, headers).end();
      return;
    }
    response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ error }));
  }

  private failRequest(response: ServerResponse): void {
    if (response.headersSent) response.destroy();
    else this.reply(response, 500, 'internal error', { connection: 'close' });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const peer = peerOf(request);
    if (request.method !== 'POST') {
      this.reply(response, 405, 'only POST is accepted', { allow: 'POST' });
      request.resume();
      return;
    }
    const tooLarge = (): void => {
      const detail = `body larger than buffer_max_size (${this.config.bufferMaxSizeBytes} bytes)`;
      this.stats.oversized++;
      this.reply(response, 413, detail, { connection: 'close' });
      closeFor(request.socket, 'oversized', `request from ${peer}: ${detail}`, this.stats, this.log, this.name);
    };
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > this.config.bufferMaxSizeBytes) return tooLarge();
    const parts: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (part: Buffer) => {
      size += part.length;
      if (size > this.config.bufferMaxSizeBytes && !refused) {
        refused = true;
        tooLarge();
      } else if (!refused) {
        parts.push(part);
      }
    });
    request.on(
      'end',
      containConnection(
        this.guard,
        peer,
        () => this.failRequest(response),
        () => {
          if (!refused) this.accept(request, response, Buffer.concat(parts), peer);
        },
      ),
    );
    request.on('error', () => undefined);
  }

  private accept(request: IncomingMessage, response: ServerResponse, body: Buffer, peer: string): void {
    const tag = tagFromPath(request.url ?? '/') || this.config.tag;
    const contentType = request.headers['content-type'] ?? 'application/json';
    // The fast path: the body's lines are the records (without tag_key, all under one tag).
    if (this.config.tagKey === null && isNdjson(mediaType(contentType))) {
      const count = countNdjsonRecords(body);
      if (count !== null) {
        this.buffer(response, peer, body.length, new Map(count > 0 ? [[tag, { lines: body, count }]] : []));
        return;
      }
    }
    let segments: Map<string, Segment>;
    try {
      segments = bodyLines(body, contentType, tag, this.tagOf);
    } catch (error) {
      if (!(error instanceof BadBody)) throw error;
      this.stats.malformed++;
      this.log.burst('warn', `bad body ${this.name} ${peer}`, `bad request from ${peer}: ${error.message}`);
      this.reply(response, 400, error.message);
      return;
    }
    this.buffer(response, peer, body.length, segments);
  }

  /** Buffers every segment, or none (503 while a tag's outputs are full), then answers. */
  private buffer(response: ServerResponse, peer: string, bodyBytes: number, segments: Map<string, Segment>): void {
    for (const recordTag of segments.keys()) {
      if (!this.sink.accepts(recordTag)) {
        this.reply(response, 503, 'buffer full, retry later', { 'retry-after': '1' });
        return;
      }
    }
    const time = eventTimeNow();
    let records = 0;
    for (const [recordTag, { lines, count }] of segments) {
      this.sink.append(this.sources.get(recordTag, peer), SegmentKind.JsonLines, time, lines, 0, lines.length, count);
      records += count;
    }
    this.stats.records += records;
    this.stats.bytes += bodyBytes;
    // storage.type filesystem: 2xx only once the records are in chunk files; 503 if they could
    // not be written (the client retries; the records may then arrive twice, never zero times).
    const stored = storedBeforeAck(this.config.storageType, this.sink, segments.keys());
    if (stored === null) {
      this.reply(response, this.config.successfulResponseCode);
      return;
    }
    // Later, off the request handler's containment: a throw here must fail this request, not
    // become an unhandled rejection that ends the process.
    const fail = (): void => this.failRequest(response);
    stored.then(
      containConnection(this.guard, peer, fail, () => this.reply(response, this.config.successfulResponseCode)),
      containConnection(this.guard, peer, fail, (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.log.burst('warn', `not stored ${this.name}`, `records from ${peer} not acknowledged: ${message}`);
        this.reply(response, 503, `${message}, retry later`, { 'retry-after': '1' });
      }),
    );
  }
}
