// WebSocket sink (a child process of bench.ts, or run by hand):
//   node dist/load/sink.js --port P --records N [--host 127.0.0.1] [--decode scan|full]
//                          [--validate-every K]
// Accepts any number of connections, reads every record of every message, marks each record's
// seq in a byte-per-seq table (so it can tell missing from duplicated records) and records its
// latency (arrival − t) in a histogram. With --decode scan (default) records are read by the
// scanners of scan.ts, and every K-th message (default 16; 0 = never) is also fully decoded
// (JSON.parse / msgpackr, decode.ts) and must yield the same records; --decode full decodes
// every message fully (~1 µs/record more: the sink then caps the bench near 800k records/s on
// the 2-core bench machine). Reports to the parent (IPC, else JSON lines on stdout):
// listening, connection, progress every 200 ms, and stats when all N records have arrived
// (reason "complete") or when asked with {type:"report"} (reason "request").
import { parseArgs } from 'node:util';
import { WebSocketServer, type RawData } from 'ws';
import { decodeMsgpack, decodeText } from './decode.js';
import { scanJson, scanMsgpack } from './scan.js';
import { LatencyHistogram } from './histogram.js';
import { asSinkCommand, cpuSeconds, report, wallMs, type SinkStats } from './protocol.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    records: { type: 'string', default: '2000000' },
    decode: { type: 'string', default: 'scan' },
    'validate-every': { type: 'string', default: '16' },
  },
});
const fullDecode = values.decode === 'full';
const validateEvery = Number(values['validate-every']);
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
let validatedMessages = 0;
let invalidMessages = 0;
/** Arrival time of the message being decoded. */
let now = 0;

function onScanned(seq: number, t: number): void {
  if (Number.isNaN(seq)) {
    badRecords++;
    return;
  }
  if (seq >= n) {
    outOfRange++;
    return;
  }
  received++;
  const count = seen[seq];
  if (count === 0) {
    unique++;
    if (!Number.isNaN(t)) latency.record(now - t / 1000); // t is in microseconds
  }
  if (count < 255) seen[seq] = count + 1;
}

function onDecoded(body: unknown): void {
  const { seq, t } = (typeof body === 'object' && body !== null ? body : {}) as { seq?: unknown; t?: unknown };
  onScanned(typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 ? seq : NaN, typeof t === 'number' ? t : NaN);
}

/** Full decode of a message the scanner already counted: same seqs, in the same order? */
function validate(buf: Buffer, isBinary: boolean, scannedSeqs: number[]): void {
  validatedMessages++;
  const decoded: number[] = [];
  const collect = (body: unknown): void => {
    const seq = typeof body === 'object' && body !== null ? (body as { seq?: unknown }).seq : undefined;
    decoded.push(typeof seq === 'number' ? seq : NaN);
  };
  const bad = isBinary ? decodeMsgpack(buf, collect) : decodeText(buf, collect);
  const same =
    bad === 0 &&
    decoded.length === scannedSeqs.length &&
    decoded.every((s, i) => s === scannedSeqs[i] || (Number.isNaN(s) && Number.isNaN(scannedSeqs[i])));
  if (!same) invalidMessages++;
}

function stats(): SinkStats {
  return {
    received,
    unique,
    duplicates: received - unique,
    missing: n - unique,
    outOfRange,
    badRecords,
    messages,
    textMessages,
    binaryMessages,
    bytes,
    validatedMessages,
    invalidMessages,
    connections,
    firstAt,
    lastAt,
    completeAt,
    p50: latency.quantile(0.5),
    p99: latency.quantile(0.99),
    max: latency.max,
    cpuS: cpuSeconds(),
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
  if (isBinary) binaryMessages++;
  else textMessages++;
  if (fullDecode) {
    badRecords += isBinary ? decodeMsgpack(buf, onDecoded) : decodeText(buf, onDecoded);
  } else if (validateEvery > 0 && messages % validateEvery === 1 % validateEvery) {
    const seqs: number[] = [];
    const tap = (seq: number, t: number): void => {
      seqs.push(seq);
      onScanned(seq, t);
    };
    badRecords += isBinary ? scanMsgpack(buf, tap) : (scanJson(buf, tap), 0);
    validate(buf, isBinary, seqs);
  } else {
    badRecords += isBinary ? scanMsgpack(buf, onScanned) : (scanJson(buf, onScanned), 0);
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
