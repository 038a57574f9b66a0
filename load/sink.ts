// WebSocket sink (a child process of bench.ts, or run by hand):
//   node dist/load/sink.js --port P --records N [--host 127.0.0.1]
// Accepts any number of connections, decodes every message (see decode.ts), marks each record's
// seq in a byte-per-seq table (so it can tell missing from duplicated records) and records its
// latency (arrival − t) in a histogram. Reports to the parent (IPC, else JSON lines on stdout):
// listening, connection, progress every 200 ms, and stats when all N records have arrived
// (reason "complete") or when asked with {type:"report"} (reason "request").
import { parseArgs } from 'node:util';
import { WebSocketServer, type RawData } from 'ws';
import { decodeMsgpack, decodeText } from './decode.js';
import { LatencyHistogram } from './histogram.js';
import { asSinkCommand, report, wallMs, type SinkStats } from './protocol.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    records: { type: 'string', default: '2000000' },
  },
});
const n = Number(values.records);
if (!Number.isInteger(n) || n < 1) throw new Error('bad --records');

const seen = new Uint8Array(n);
const latency = new LatencyHistogram();
let received = 0;
let unique = 0;
let outOfRange = 0;
let badRecords = 0;
let messages = 0;
let textMessages = 0;
let binaryMessages = 0;
let bytes = 0;
let connections = 0;
let firstAt = 0;
let lastAt = 0;
let completeAt = 0;
/** Arrival time of the message being decoded. */
let now = 0;

function onRecord(body: unknown): void {
  if (typeof body !== 'object' || body === null) {
    badRecords++;
    return;
  }
  const { seq, t } = body as { seq?: unknown; t?: unknown };
  if (typeof seq !== 'number') {
    badRecords++;
    return;
  }
  if (!Number.isInteger(seq) || seq < 0 || seq >= n) {
    outOfRange++;
    return;
  }
  received++;
  const count = seen[seq];
  if (count === 0) {
    unique++;
    if (typeof t === 'number') latency.record(now - t);
  }
  if (count < 255) seen[seq] = count + 1;
}

function stats(): SinkStats {
  return {
    received, unique, duplicates: received - unique, missing: n - unique, outOfRange, badRecords,
    messages, textMessages, binaryMessages, bytes, connections, firstAt, lastAt, completeAt,
    p50: latency.quantile(0.5), p99: latency.quantile(0.99), max: latency.max,
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

function onMessage(data: RawData, isBinary: boolean): void {
  now = wallMs();
  const buf = toBuffer(data);
  messages++;
  bytes += buf.length;
  const before = received + badRecords + outOfRange;
  if (isBinary) {
    binaryMessages++;
    badRecords += decodeMsgpack(buf, onRecord);
  } else {
    textMessages++;
    badRecords += decodeText(buf, onRecord);
  }
  if (received + badRecords + outOfRange !== before) {
    if (firstAt === 0) firstAt = now;
    lastAt = now;
  }
  if (unique === n && completeAt === 0) {
    completeAt = now;
    report({ type: 'stats', reason: 'complete', stats: stats() });
  }
}

const server = new WebSocketServer({
  host: values.host,
  port: Number(values.port),
  perMessageDeflate: false,
  maxPayload: 64 * 1024 * 1024,
});
server.on('connection', (ws) => {
  connections++;
  report({ type: 'connection', connections });
  ws.on('message', onMessage);
  ws.on('error', (err) => process.stderr.write(`sink: connection error: ${err.message}\n`));
});
server.on('listening', () => {
  const addr = server.address();
  report({ type: 'listening', port: typeof addr === 'object' && addr !== null ? addr.port : 0 });
});
server.on('error', (err) => {
  process.stderr.write(`sink: ${err.message}\n`);
  process.exit(1);
});

let lastProgress = -1;
setInterval(() => {
  if (received + badRecords + outOfRange === lastProgress) return;
  lastProgress = received + badRecords + outOfRange;
  report({ type: 'progress', received, unique, at: wallMs() });
}, 200).unref();

process.on('message', (msg: unknown) => {
  if (asSinkCommand(msg)) report({ type: 'stats', reason: 'request', stats: stats() });
});
// Without IPC (run by hand): print the stats on SIGINT.
process.on('SIGINT', () => {
  process.stdout.write(JSON.stringify(stats()) + '\n');
  process.exit(0);
});
