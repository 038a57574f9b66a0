// Load generator (a child process of bench.ts, or run by hand):
//   node dist/load/generator.js --port P [--host 127.0.0.1] [--connections 4] [--records 2000000] [--rate R]
// Opens C TCP connections and writes N JSON lines, each with a unique integer `seq` and a send
// time `t` (wall ms with fractions), split into contiguous seq ranges per connection. Without
// --rate it writes as fast as the receiver accepts (waiting for 'drain' whenever write() returns
// false); with --rate it writes R records/s in total, `t` taken at write time. Lines are built in
// batches of 1024 (~115 KiB per write) so the generator is never the bottleneck.
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

/** One record line; `t` is pre-formatted (toFixed(3)) so a whole batch shares one conversion. */
function recordLine(seq: number, t: string): string {
  const head = `{"seq":${seq},"t":${t},"level":"${LEVELS[seq & 7]}","msg":"GET /api/v1/items 200","host":"web-0${seq & 7}","pad":"`;
  return head + PAD.slice(0, Math.max(0, LINE_BYTES - head.length - 3)) + '"}\n';
}

function batch(from: number, count: number): Buffer {
  const t = wallMs().toFixed(3);
  let s = '';
  for (let seq = from; seq < from + count; seq++) s += recordLine(seq, t);
  return Buffer.from(s, 'latin1');
}

interface Conn {
  readonly socket: net.Socket;
  readonly from: number;
  readonly to: number;
  next: number;
}

let recordsWritten = 0;
let bytesWritten = 0;
let started = false;

function write(conn: Conn, count: number): boolean {
  if (!started) {
    started = true;
    report({ type: 'started', at: wallMs() });
  }
  const buf = batch(conn.next, count);
  conn.next += count;
  recordsWritten += count;
  bytesWritten += buf.length;
  return conn.socket.write(buf);
}

async function finish(conn: Conn): Promise<void> {
  await new Promise<void>((resolve) => conn.socket.end(resolve));
}

/** As fast as the receiver accepts. */
async function pump(conn: Conn): Promise<void> {
  while (conn.next < conn.to) {
    if (write(conn, Math.min(BATCH_RECORDS, conn.to - conn.next))) await immediate();
    else await once(conn.socket, 'drain');
  }
  await finish(conn);
}

/** A fixed total rate, spread evenly over the connections; never waits for 'drain'. */
async function paced(conns: readonly Conn[], rate: number): Promise<void> {
  const perConn = rate / conns.length;
  const t0 = performance.now();
  let open = conns.length;
  while (open > 0) {
    const elapsedS = (performance.now() - t0) / 1000;
    open = 0;
    for (const c of conns) {
      const due = Math.min(c.to, c.from + Math.floor(perConn * elapsedS)) - c.next;
      for (let left = due; left > 0; ) {
        const n = Math.min(BATCH_RECORDS, left);
        write(c, n);
        left -= n;
      }
      if (c.next < c.to) open++;
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
  socket.on('error', (err) => fail(`connection error: ${err.message}`));
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

  const sockets = await Promise.all(Array.from({ length: c }, () => connect(values.host, port)));
  const conns: Conn[] = sockets.map((socket, i) => {
    const from = Math.floor((i * n) / c);
    return { socket, from, to: Math.floor(((i + 1) * n) / c), next: from };
  });
  report({ type: 'connected', at: wallMs() });
  const ticker = setInterval(() => report({ type: 'progress', records: recordsWritten, at: wallMs() }), 250);
  ticker.unref();
  if (rate > 0) await paced(conns, rate);
  else await Promise.all(conns.map(pump));
  clearInterval(ticker);
  report({ type: 'done', at: wallMs(), records: recordsWritten, bytes: bytesWritten, cpuS: cpuSeconds() });
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
