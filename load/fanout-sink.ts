// Fan-out sink (a child process of bench.ts, or run by hand): the clients of a relay in server
// mode (`-o websocket_server`).
//   node dist/load/fanout-sink.js --url ws://127.0.0.1:P/ --records N [--clients 100] [--slow 0]
//                                 [--validate-every 16]
// Opens `clients` WebSocket connections that read everything, and `slow` more that never read
// (their socket is paused as soon as they open: the relay must cut them off without the others
// noticing). Checks that every reading client got every seq exactly once, at a cost that does
// not grow with the number of clients: a broadcast sends the same frames in the same order to
// every client, so the first client to receive message #i keeps it as the reference, scanned
// once for seq and t (scan.ts; every K-th also fully decoded), and every other client's
// message #i is compared with it byte for byte (memcmp). A client whose message differs is
// "diverged": from then on it gets its own seq table (the reference messages it matched so far
// are scanned into it, then each of its own messages). The reference messages are kept for the
// whole run (~125 bytes per record): keep --records to a few hundred thousand.
// Frames must be json_lines (one message per line; a message may be [tag, time, record]).
// Reports over IPC like sink.ts (SinkMessage): connection, progress, stats (with `fanout`).
import { parseArgs } from 'node:util';
import { WebSocket, type RawData } from 'ws';
import { LatencyHistogram } from './histogram.js';
import { asSinkCommand, cpuSeconds, report, wallMs, type FanoutStats, type SinkStats } from './protocol.js';
import { scanJson } from './scan.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    records: { type: 'string', default: '200000' },
    clients: { type: 'string', default: '100' },
    slow: { type: 'string', default: '0' },
    'validate-every': { type: 'string', default: '16' },
  },
});
const n = Number(values.records);
const clientCount = Number(values.clients);
const slowCount = Number(values.slow);
const validateEvery = Number(values['validate-every']);
if (values.url === undefined || !(Number.isInteger(n) && n > 0 && clientCount >= 1 && slowCount >= 0)) {
  process.stderr.write('usage: fanout-sink --url ws://host:port/path --records N [--clients C] [--slow S]\n');
  process.exit(2);
}

interface Ref {
  readonly bytes: Buffer;
  readonly records: number;
  /** t (µs) of the message's first record, NaN when absent: the per-message latency. */
  readonly firstT: number;
}

/** Seq table: how many times each seq in [0, n) arrived. */
class SeqTable {
  readonly seen = new Uint8Array(n);
  received = 0;
  unique = 0;
  outOfRange = 0;
  bad = 0;
  firstT = NaN;

  /** Scans a json_lines (or json) message; returns the records found. */
  scan(buf: Buffer): number {
    const before = this.received + this.outOfRange + this.bad;
    this.firstT = NaN;
    scanJson(buf, (seq, t) => {
      if (Number.isNaN(seq)) this.bad++;
      else if (seq >= n) this.outOfRange++;
      else {
        this.received++;
        const c = this.seen[seq]!;
        if (c === 0) this.unique++;
        if (c < 255) this.seen[seq] = c + 1;
      }
      if (Number.isNaN(this.firstT)) this.firstT = t;
    });
    return this.received + this.outOfRange + this.bad - before;
  }
}

interface Reader {
  /** Messages received. */
  count: number;
  records: number;
  /** Its own table once it diverged from the reference stream. */
  own: SeqTable | null;
  complete: boolean;
}

const refs: Ref[] = [];
const stream = new SeqTable();
const readers: Reader[] = [];
const latency = new LatencyHistogram();
let connections = 0;
let messages = 0;
let bytes = 0;
let firstAt = 0;
let lastAt = 0;
let completeAt = 0;
let completeReaders = 0;
let validatedMessages = 0;
let invalidMessages = 0;
const slowSockets: WebSocket[] = [];
const closeCodes = new Map<string, number>();

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** The record of a message: [tag, time, record(, id)] with tag/time optional, or the object itself. */
function recordOf(item: unknown): unknown {
  return Array.isArray(item) ? item.find((x: unknown) => typeof x === 'object' && x !== null) : item;
}

/** Full decode of a reference message (JSON.parse per line): the seqs, in order, the scanner found? */
function validate(buf: Buffer): void {
  validatedMessages++;
  const scanned: number[] = [];
  scanJson(buf, (seq) => scanned.push(seq));
  const decoded: number[] = [];
  let bad = 0;
  for (const line of buf.toString('utf8').split('\n')) {
    if (line.length === 0) continue;
    try {
      const record = recordOf(JSON.parse(line));
      const seq = typeof record === 'object' && record !== null ? (record as { seq?: unknown }).seq : undefined;
      decoded.push(typeof seq === 'number' ? seq : NaN);
    } catch {
      bad++;
    }
  }
  if (bad > 0 || decoded.length !== scanned.length || decoded.some((s, i) => s !== scanned[i])) invalidMessages++;
}

function checkComplete(r: Reader): void {
  if (r.complete) return;
  const done = r.own ? r.own.unique === n : stream.unique === n && r.count === refs.length;
  if (!done) return;
  r.complete = true;
  completeReaders++;
  if (completeReaders === readers.length && completeAt === 0) {
    completeAt = lastAt;
    report({ type: 'stats', reason: 'complete', stats: stats() });
  }
}

function onMessage(r: Reader, data: RawData): void {
  const now = wallMs();
  const buf = toBuffer(data);
  messages++;
  bytes += buf.length;
  const i = r.count++;
  let ref = refs[i];
  if (ref === undefined) {
    const records = stream.scan(buf);
    ref = { bytes: buf, records, firstT: stream.firstT };
    refs.push(ref);
    if (validateEvery > 0 && i % validateEvery === 0) validate(buf);
  } else if (r.own === null && !ref.bytes.equals(buf)) {
    r.own = new SeqTable();
    for (let k = 0; k < i; k++) r.own.scan(refs[k]!.bytes);
  }
  const records = r.own ? r.own.scan(buf) : ref.records;
  r.records += records;
  if (!Number.isNaN(ref.firstT)) latency.record(now - ref.firstT / 1000, records);
  if (records > 0) {
    if (firstAt === 0) firstAt = now;
    lastAt = now;
  }
  checkComplete(r);
}

/** The seq table of a reader that did not diverge but stopped short of the stream's end. */
function prefixTable(r: Reader): SeqTable {
  const t = new SeqTable();
  for (let k = 0; k < r.count; k++) t.scan(refs[k]!.bytes);
  return t;
}

function stats(): SinkStats & { fanout: FanoutStats } {
  // The worst reader decides missing and duplicates; received counts every delivery.
  let missing = 0;
  let duplicates = stream.received - stream.unique;
  let minUnique = n;
  let deliveries = 0;
  let diverged = 0;
  for (const r of readers) {
    deliveries += r.records;
    if (r.own) diverged++;
    const table = r.own ?? (r.count === refs.length ? stream : prefixTable(r));
    missing = Math.max(missing, n - table.unique);
    duplicates = Math.max(duplicates, table.received - table.unique);
    minUnique = Math.min(minUnique, table.unique);
  }
  return {
    received: deliveries,
    unique: minUnique,
    duplicates,
    missing,
    outOfRange: stream.outOfRange,
    badRecords: stream.bad,
    messages,
    textMessages: messages,
    binaryMessages: 0,
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
    fanout: {
      clients: readers.length,
      completeClients: completeReaders,
      divergedClients: diverged,
      deliveries,
      slowClients: slowSockets.length,
      closeCodes: [...closeCodes].map(([k, v]) => `${v}× ${k}`).join(', '),
    },
  };
}

function open(slow: boolean): void {
  const ws = new WebSocket(values.url!, {
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
    skipUTF8Validation: true,
  });
  const reader: Reader = { count: 0, records: 0, own: null, complete: false };
  ws.on('open', () => {
    connections++;
    if (slow) {
      ws.pause(); // never reads: the relay's max_client_queue must cut it off
      slowSockets.push(ws);
    } else {
      readers.push(reader);
    }
    report({ type: 'connection', connections });
  });
  if (!slow) ws.on('message', (data: RawData) => onMessage(reader, data));
  ws.on('close', (code: number) => {
    const key = `${slow ? 'slow' : 'reader'} ${code}`;
    closeCodes.set(key, (closeCodes.get(key) ?? 0) + 1);
  });
  ws.on('error', (err: Error) => {
    if (!slow) process.stderr.write(`fanout-sink: ${err.message}\n`);
  });
}

for (let i = 0; i < clientCount; i++) open(false);
for (let i = 0; i < slowCount; i++) open(true);

let lastProgress = -1;
setInterval(() => {
  let least = Infinity;
  for (const r of readers) least = Math.min(least, r.records);
  const unique = Math.min(n, Number.isFinite(least) ? least : 0);
  const total = readers.reduce((a, r) => a + r.records, 0);
  if (total === lastProgress) return;
  lastProgress = total;
  report({ type: 'progress', received: total, unique, at: wallMs() });
}, 200).unref();

process.on('message', (msg: unknown) => {
  if (!asSinkCommand(msg)) return;
  // The slow clients read now, to see how the relay ended their connection.
  for (const ws of slowSockets) ws.resume();
  setTimeout(() => report({ type: 'stats', reason: 'request', stats: stats() }), slowSockets.length > 0 ? 500 : 0);
});
process.on('SIGINT', () => {
  process.stdout.write(JSON.stringify(stats()) + '\n');
  process.exit(0);
});
