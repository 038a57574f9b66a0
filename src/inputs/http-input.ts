// Fluentd's in_http and Fluent Bit's http input: POST /<tag path> with a JSON object or array,
// newline-delimited JSON, a `json=` form field, or msgpack. A request is all or nothing: every
// record is checked before any is buffered, and the 2xx answer is sent only after they are.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Unpackr } from 'msgpackr';
import { ScanVerdict, scanJsonObject, type ScanResult } from '../chunk/json-scan.js';
import { SegmentKind } from '../chunk/layout.js';
import type { HttpInputConfig } from '../config/types.js';
import type { RecordBody } from '../encode/types.js';
import type { InputPlugin, SegmentSink } from '../engine/plugins.js';
import { newInputStats, type InputStats } from '../engine/stats.js';
import type { Logger } from '../log.js';
import { eventTimeNow } from '../time.js';
import { boundPort, listen, markPaused, SourceCache } from './listener.js';
import { serverOptions, watchHandshakes } from '../tls/options.js';
import { storedBeforeAck } from '../storage/acks.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.js';
import { frameEnd } from './msgpack-frame.js';
import { closeFor, httpServerOptions, limitHttp } from './connection-limits.js';

class BadBody extends Error {}

/** JSON lines to buffer under one tag, and how many records they hold. */
interface Segment {
  readonly lines: Buffer;
  readonly count: number;
}

// 64-bit integers as numbers, as JSON bodies get them: a BigInt cannot be written as JSON (it
// threw out of the request handler and crashed the relay).
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

function isRecord(value: unknown): value is RecordBody {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asRecords(value: unknown): RecordBody[] {
  const list = Array.isArray(value) ? value : [value];
  list.forEach((item, i) => {
    if (!isRecord(item)) throw new BadBody(`record ${i} is not a JSON object`);
  });
  return list as RecordBody[];
}

function parseJson(text: string): unknown {
  if (nestsDeeperThan(text)) throw new BadBody(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadBody(`invalid JSON: ${(error as Error).message}`);
  }
}

function mediaType(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

function isNdjson(type: string): boolean {
  return type === 'application/x-ndjson' || type === 'application/jsonl' || type === 'application/json-seq';
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const ndjsonScan: ScanResult = { verdict: ScanVerdict.Invalid, hasKey: false };

/**
 * The records of an NDJSON body whose every line is a JSON object, checked on its bytes by
 * json-scan (the check the workers make): such a body is buffered as it is, a JSON-lines
 * segment like a tcp read, without a JSON.parse and a JSON.stringify per record on the main
 * thread (5–7 µs per record). null when a line is not a JSON object, or blank but not empty:
 * parseBody then takes the body and says what is wrong with it, or skips the blank line.
 */
export function countNdjsonRecords(body: Buffer): number | null {
  let records = 0;
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(NEWLINE, start);
    if (end < 0) end = body.length;
    const next = end + 1;
    if (end > start && body[end - 1] === CR) end--;
    if (end > start) {
      if (scanJsonObject(body, start, end, null, ndjsonScan).verdict === ScanVerdict.Invalid) return null;
      records++;
    }
    start = next;
  }
  return records;
}

/** The records of a body, by its content type (JSON when none is given, as Fluentd does). */
export function parseBody(body: Buffer, contentType: string): RecordBody[] {
  const type = mediaType(contentType);
  if (type === 'application/msgpack' || type === 'application/x-msgpack') {
    const frame = frameEnd(body, 0, body.length, body.length + 1);
    if (frame.kind === 'invalid') throw new BadBody(`invalid msgpack: ${frame.reason}`);
    try {
      return asRecords(unpackr.unpack(body));
    } catch (error) {
      if (error instanceof BadBody) throw error;
      throw new BadBody(`invalid msgpack: ${(error as Error).message}`);
    }
  }
  const text = body.toString('utf8');
  if (type === 'application/x-www-form-urlencoded') {
    const json = new URLSearchParams(text).get('json');
    if (json === null) throw new BadBody("form body without a 'json' field");
    return asRecords(parseJson(json));
  }
  if (isNdjson(type)) {
    return text.split('\n').filter((line) => line.trim() !== '').flatMap((line) => asRecords(parseJson(line)));
  }
  return asRecords(parseJson(text));
}

/** `/foo/bar` → `foo.bar`, keeping only the characters Fluent Bit keeps in a tag. */
export function tagFromPath(url: string): string {
  const raw = url.split('?')[0] ?? '';
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    // A malformed escape (`/%E0%A4%A`) threw out of the request handler and crashed the relay:
    // keep the path as sent; the filter below drops the `%`.
    path = raw;
  }
  return path.split('/').filter((part) => part !== '').join('.').replace(/[^A-Za-z0-9_.-]/g, '');
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

  constructor(private readonly config: HttpInputConfig, private readonly sink: SegmentSink, log: Logger) {
    this.name = config.name;
    this.log = log.child(`input:http:${config.name}`);
    this.sources = new SourceCache(config.name);
    const handler = (request: IncomingMessage, response: ServerResponse): void => this.handle(request, response);
    if (config.tls === null) {
      this.server = createServer({ keepAlive: true, ...httpServerOptions(config.limits) }, handler);
    } else {
      const server = createHttpsServer({ ...serverOptions(config.tls), keepAlive: true, ...httpServerOptions(config.limits) }, handler);
      watchHandshakes(server, this.log, () => { this.stats.tlsHandshakeFailures++; });
      this.server = server;
    }
    limitHttp(this.server, config.limits, this.stats, this.log, config.name);
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

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const peer = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
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
    request.on('end', () => {
      if (!refused) this.accept(request, response, Buffer.concat(parts), peer);
    });
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
    let records: RecordBody[];
    try {
      records = parseBody(body, contentType);
    } catch (error) {
      if (!(error instanceof BadBody)) throw error;
      this.stats.malformed++;
      this.log.burst('warn', `bad body ${this.name} ${peer}`, `bad request from ${peer}: ${error.message}`);
      this.reply(response, 400, error.message);
      return;
    }
    const segments = new Map<string, Segment>();
    for (const [recordTag, group] of this.groupByTag(tag, records)) {
      segments.set(recordTag, { lines: Buffer.from(group.map((record) => `${JSON.stringify(record)}\n`).join('')), count: group.length });
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
    stored.then(() => this.reply(response, this.config.successfulResponseCode), (error: Error) => {
      this.log.burst('warn', `not stored ${this.name}`, `records from ${peer} not acknowledged: ${error.message}`);
      this.reply(response, 503, `${error.message}, retry later`, { 'retry-after': '1' });
    });
  }

  private groupByTag(tag: string, records: RecordBody[]): Map<string, RecordBody[]> {
    const groups = new Map<string, RecordBody[]>();
    for (const record of records) {
      const key = this.config.tagKey === null ? undefined : record[this.config.tagKey];
      const recordTag = typeof key === 'string' && key !== '' ? key : tag;
      const group = groups.get(recordTag);
      if (group) group.push(record);
      else groups.set(recordTag, [record]);
    }
    return groups;
  }
}
