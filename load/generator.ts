// Load generator (a child process of bench.ts, or run by hand):
//   node dist/load/generator.js --port P [--host 127.0.0.1] [--connections 4] [--records 2000000] [--rate R]
// Opens C TCP connections and writes N JSON lines, each with a unique integer `seq` and a send
// time `t` (wall ms with fractions), split into contiguous seq ranges per connection. Without
// --rate it writes as fast as the receiver accepts (waiting for 'drain' whenever write() returns
// false); with --rate it writes R records/s in total. Every line is built before the first write,
// in batches of 1024 (~115 KiB per write), with a fixed-width placeholder for `t` that is
// overwritten with the current time just before the batch is written: writing costs ~0.05 µs
// per record, so the generator is never the bottleneck (the lines take ~115 MB per million).
// Reports to the parent (IPC, else JSON lines on stdout): connected, started, progress, done.
import net from 'node:net';
import { once } from 'node:events';
import { setImmediate as immediate } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { cpuSeconds, report, wallMs } from './protocol.js';

/** Every line is padded to this many bytes, newline included. */
const LINE_BYTES = 115;
const BATCH_RECORDS = 1024;
const LEVELS = ['info', 'info', 'info', 'warn', 'info', 'debug', 'info', 'error'] as const;
const PAD = 'x'.repeat(LINE_BYTES);

/**
 * `t` is the wall clock in integer microseconds: 16 digits until the year 2286. An integer keeps
 * the line canonical JSON, as a JSON logger writes it (a 17-digit fraction like 1795421327196.250
 * would not be: the relay would then parse and re-serialize every record — see PERFORMANCE.md).
 */
const T_WIDTH = 16;
const T_PLACEHOLDER = '0'.repeat(T_WIDTH);

/** One record line with the t placeholder; also returns where t starts in it. */
function recordLine(seq: number): { line: string; tAt: number } {
  const head = `{"seq":${seq},"t":`;
  const body = `${head}${T_PLACEHOLDER},"level":"${LEVELS[seq & 7]}","msg":"GET /api/v1/items 200","host":"web-0${seq & 7}","pad":"`;
  return { line: body + PAD.slice(0, Math.max(0, LINE_BYTES - body.length - 3)) + '"}\n', tAt: head.length };
}

interface Batch {
  readonly buf: Buffer;
  readonly count: number;
  /** Offset of each record's t placeholder in buf. */
  readonly tAt: Int32Array;
}

function buildBatch(from: number, count: number): Batch {
  const tAt = new Int32Array(count);
  let s = '';
  for (let i = 0; i < count; i++) {
    const r = recordLine(from + i);
    tAt[i] = s.length + r.tAt;
    s += r.line;
  }
  return { buf: Buffer.from(s, 'latin1'), count, tAt };
}

/** Stamps the current time into every record of the batch. */
function stamp(b: Batch): void {
  const t = Buffer.from(String(Math.round(wallMs() * 1000)), 'latin1');
  if (t.length !== T_WIDTH) return; // after 2286: keep the placeholder
  const buf = b.buf;
  for (let i = 0; i < b.count; i++) {
    const at = b.tAt[i];
    for (let k = 0; k < T_WIDTH; k++) buf[at + k] = t[k];
  }
}

interface Conn {
  readonly socket: net.Socket;
  readonly batches: Batch[];
  readonly total: number;
  /** Next batch to write. */
  next: number;
}

let recordsWritten = 0;
let bytesWritten = 0;
let started = false;
let cpuAtStart = 0;
/** Set once everything is written: errors after that (the relay resetting) do not matter. */
let finished = false;

/** Writes the connection's next batch; returns what socket.write returned. */
function write(conn: Conn): boolean {
  if (!started) {
    started = true;
    cpuAtStart = cpuSeconds();
    report({ type: 'started', at: wallMs() });
  }
  const b = conn.batches[conn.next]!;
  conn.batches[conn.next++] = EMPTY; // let it be collected once written
  stamp(b);
  recordsWritten += b.count;
  bytesWritten += b.buf.length;
  return conn.socket.write(b.buf);
}

const EMPTY: Batch = { buf: Buffer.alloc(0), count: 0, tAt: new Int32Array(0) };

/** Records per batch: BATCH_RECORDS, or ~1 ms worth per connection in paced mode. */
let batchSize = BATCH_RECORDS;

function prebuild(from: number, to: number): Batch[] {
  const out: Batch[] = [];
  for (let seq = from; seq < to; seq += batchSize) out.push(buildBatch(seq, Math.min(batchSize, to - seq)));
  return out;
}

async function finish(conn: Conn): Promise<void> {
  await new Promise<void>((resolve) => conn.socket.end(resolve));
}

/** As fast as the receiver accepts. */
async function pump(conn: Conn): Promise<void> {
  while (conn.next < conn.batches.length) {
    if (write(conn)) await immediate();
    else await once(conn.socket, 'drain');
  }
  await finish(conn);
}

/** A fixed total rate, spread evenly over the connections; never waits for 'drain'. Lines
 *  were prebuilt in batches of 1 ms worth of records, so each tick writes whole batches. */
async function paced(conns: readonly Conn[], rate: number): Promise<void> {
  const perConn = rate / conns.length;
  const t0 = performance.now();
  let open = conns.length;
  while (open > 0) {
    const elapsedS = (performance.now() - t0) / 1000;
    open = 0;
    for (const c of conns) {
      const due = Math.min(c.total, Math.floor(perConn * elapsedS));
      let sent = c.next * batchSize;
      while (c.next < c.batches.length && sent < due) {
        write(c);
        sent = c.next * batchSize;
      }
      if (c.next < c.batches.length) open++;
      if (c.socket.writableLength > 256 * 1024 * 1024) throw new Error('receiver too slow: 256 MiB queued');
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(conns.map(finish));
}

async function connect(host: string, port: number): Promise<net.Socket> {
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  socket.on('error', (err) => {
    if (!finished) fail(`connection error: ${err.message}`);
  });
  return socket;
}

function fail(message: string): never {
  report({ type: 'error', message });
  process.exit(1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      connections: { type: 'string', default: '4' },
      records: { type: 'string', default: '2000000' },
      rate: { type: 'string' },
    },
  });
  const port = Number(values.port);
  const c = Number(values.connections);
  const n = Number(values.records);
  const rate = values.rate === undefined ? 0 : Number(values.rate);
  if (!Number.isInteger(port) || port <= 0) fail('--port is required');
  if (!(c >= 1 && n >= 1 && rate >= 0)) fail('bad --connections, --records or --rate');

  // Paced: batches of ~1 ms of records per connection (so `t` is at most ~1 ms early).
  batchSize = rate > 0 ? Math.max(1, Math.min(BATCH_RECORDS, Math.round(rate / c / 1000))) : BATCH_RECORDS;
  const ranges = Array.from({ length: c }, (_, i) => [Math.floor((i * n) / c), Math.floor(((i + 1) * n) / c)] as const);
  const built = ranges.map(([from, to]) => prebuild(from, to));
  const sockets = await Promise.all(Array.from({ length: c }, () => connect(values.host, port)));
  const conns: Conn[] = sockets.map((socket, i) => ({
    socket, batches: built[i]!, total: ranges[i]![1] - ranges[i]![0], next: 0,
  }));
  report({ type: 'connected', at: wallMs() });
  const ticker = setInterval(() => report({ type: 'progress', records: recordsWritten, at: wallMs() }), 250);
  ticker.unref();
  if (rate > 0) await paced(conns, rate);
  else await Promise.all(conns.map(pump));
  clearInterval(ticker);
  finished = true;
  const cpu = cpuSeconds();
  report({ type: 'done', at: wallMs(), records: recordsWritten, bytes: bytesWritten, cpuS: cpu - cpuAtStart, cpuTotalS: cpu });
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
