// Load generator (a child process of bench.ts, or run by hand):
//   node dist/load/generator.js --port P [--host 127.0.0.1] [--connections 4] [--records 2000000]
//                               [--rate R] [--protocol tcp|http|forward] [--tag bench]
// Opens C connections and sends N records, each with a unique integer `seq` and a send time `t`
// (wall clock, integer µs), split into contiguous seq ranges per connection (batches.ts):
//   tcp      JSON lines, 1,024 per write (~115 KiB);
//   forward  one PackedForward message per 1,024 records, over TCP (no ack requested);
//   http     one POST /<tag> per 1,024 records, body ndjson (application/x-ndjson), on C
//            keep-alive connections, each waiting for the answer before its next POST (as a
//            Fluent Bit or Vector http output does); a 503 (buffer full) is retried after 20 ms.
// Without --rate it sends as fast as the receiver accepts (tcp/forward: waiting for 'drain'
// whenever write() returns false); with --rate (tcp and forward) it writes R records/s in total.
// Every batch is built before the first write, with a fixed-width placeholder for `t` that is
// overwritten with the current time just before the batch is written: writing costs ~0.05 µs
// per record, so the generator is never the bottleneck (the lines take ~115 MB per million).
// Reports to the parent (IPC, else JSON lines on stdout): connected, started, progress, done.
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { setImmediate as immediate } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { EMPTY_BATCH, buildBatch, stamp, type Batch, type BatchKind } from './batches.js';
import { cpuSeconds, report, wallMs } from './protocol.js';

const BATCH_RECORDS = 1024;
type Protocol = 'tcp' | 'http' | 'forward';

/** One connection's share of the records. */
interface Queue {
  readonly batches: Batch[];
  readonly total: number;
  /** Next batch to write. */
  next: number;
}

interface Conn extends Queue {
  readonly socket: net.Socket;
}

let recordsWritten = 0;
let bytesWritten = 0;
let started = false;
let cpuAtStart = 0;
/** Set once everything is written: errors after that (the relay resetting) do not matter. */
let finished = false;

/** Takes the connection's next batch, stamped and counted. */
function take(conn: Queue): Batch {
  if (!started) {
    started = true;
    cpuAtStart = cpuSeconds();
    report({ type: 'started', at: wallMs() });
  }
  const b = conn.batches[conn.next]!;
  conn.batches[conn.next++] = EMPTY_BATCH; // let it be collected once written
  stamp(b, Math.round(wallMs() * 1000));
  recordsWritten += b.count;
  bytesWritten += b.buf.length;
  return b;
}

/** Writes the connection's next batch; returns what socket.write returned. */
function write(conn: Conn): boolean {
  return conn.socket.write(take(conn).buf);
}

/** Records per batch: BATCH_RECORDS, or ~1 ms worth per connection in paced mode. */
let batchSize = BATCH_RECORDS;

function prebuild(kind: BatchKind, tag: string, from: number, to: number): Batch[] {
  const out: Batch[] = [];
  for (let seq = from; seq < to; seq += batchSize) out.push(buildBatch(kind, seq, Math.min(batchSize, to - seq), tag));
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

/** POSTs the queue's batches one after the other on a keep-alive connection of `agent`. */
async function post(q: Queue, agent: http.Agent, host: string, port: number, path: string): Promise<void> {
  while (q.next < q.batches.length) {
    const b = take(q);
    for (;;) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            host,
            port,
            path,
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/x-ndjson', 'content-length': b.buf.length },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(b.buf);
      });
      if (status >= 200 && status < 300) break;
      if (status !== 503) throw new Error(`http input answered ${status}`);
      await new Promise((r) => setTimeout(r, 20)); // buffer full: retry the same batch
    }
  }
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
      protocol: { type: 'string', default: 'tcp' },
      tag: { type: 'string', default: 'bench' },
    },
  });
  const protocol = values.protocol as Protocol;
  const port = Number(values.port);
  const c = Number(values.connections);
  const n = Number(values.records);
  const rate = values.rate === undefined ? 0 : Number(values.rate);
  if (!Number.isInteger(port) || port <= 0) fail('--port is required');
  if (!(c >= 1 && n >= 1 && rate >= 0)) fail('bad --connections, --records or --rate');
  if (!['tcp', 'http', 'forward'].includes(protocol)) fail('--protocol must be tcp, http or forward');
  if (protocol === 'http' && rate > 0) fail('--rate works with tcp and forward only');

  // Paced: batches of ~1 ms of records per connection (so `t` is at most ~1 ms early).
  batchSize = rate > 0 ? Math.max(1, Math.min(BATCH_RECORDS, Math.round(rate / c / 1000))) : BATCH_RECORDS;
  const ranges = Array.from({ length: c }, (_, i) => [Math.floor((i * n) / c), Math.floor(((i + 1) * n) / c)] as const);
  const kind: BatchKind = protocol === 'forward' ? 'forward' : 'lines';
  const built = ranges.map(([from, to]) => prebuild(kind, values.tag, from, to));
  const ticker = setInterval(() => report({ type: 'progress', records: recordsWritten, at: wallMs() }), 250);
  ticker.unref();
  if (protocol === 'http') {
    const agent = new http.Agent({ keepAlive: true, maxSockets: c });
    report({ type: 'connected', at: wallMs() });
    const queues: Queue[] = built.map((batches, i) => ({ batches, total: ranges[i]![1] - ranges[i]![0], next: 0 }));
    await Promise.all(queues.map((q) => post(q, agent, values.host, port, `/${values.tag}`)));
    agent.destroy();
  } else {
    await sendOverTcp(values.host, port, built, ranges, rate);
  }
  clearInterval(ticker);
  finished = true;
  const cpu = cpuSeconds();
  report({
    type: 'done',
    at: wallMs(),
    records: recordsWritten,
    bytes: bytesWritten,
    cpuS: cpu - cpuAtStart,
    cpuTotalS: cpu,
  });
}

async function sendOverTcp(
  host: string,
  port: number,
  built: Batch[][],
  ranges: ReadonlyArray<readonly [number, number]>,
  rate: number,
): Promise<void> {
  const c = built.length;
  const sockets = await Promise.all(Array.from({ length: c }, () => connect(host, port)));
  const conns: Conn[] = sockets.map((socket, i) => ({
    socket,
    batches: built[i]!,
    total: ranges[i]![1] - ranges[i]![0],
    next: 0,
  }));
  report({ type: 'connected', at: wallMs() });
  if (rate > 0) await paced(conns, rate);
  else await Promise.all(conns.map(pump));
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
