// The ceiling: a relay that does nothing a relay has to do. Not shipped; bench.ts runs it to
// show what a Node process moving these bytes from TCP to one WebSocket can reach here.
//   node dist/load/noop-relay.js --port IN --sink-port OUT [--host 127.0.0.1]
// Connects to ws://host:OUT/ first, then listens on IN. Each read is cut at its last newline
// (the tail waits for the next read of the same connection); complete lines are forwarded
// unparsed, batched into TEXT messages of up to 1 MiB (sent at once when full, else at the end
// of the current I/O phase). Inputs are paused while more than 8 MiB wait in the WebSocket.
import net from 'node:net';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const MAX_MESSAGE = 1024 * 1024;
const HIGH_WATER = 8 * 1024 * 1024;

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    'sink-port': { type: 'string' },
  },
});

const ws = new WebSocket(`ws://${values.host}:${Number(values['sink-port'])}/`, { perMessageDeflate: false });
const sockets = new Set<net.Socket>();
let pending: Buffer[] = [];
let pendingBytes = 0;
let flushScheduled = false;
let paused = false;

function flush(): void {
  flushScheduled = false;
  if (pendingBytes === 0) return;
  const msg = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
  pending = [];
  pendingBytes = 0;
  ws.send(msg, { binary: false }, afterSend);
  if (!paused && ws.bufferedAmount > HIGH_WATER) {
    paused = true;
    for (const s of sockets) s.pause();
  }
}

function afterSend(err?: Error): void {
  if (err) fatal(`websocket send failed: ${err.message}`);
  if (paused && ws.bufferedAmount <= HIGH_WATER / 2) {
    paused = false;
    for (const s of sockets) s.resume();
  }
}

/** Queues bytes ending on a line boundary (the previous tail, if any, then the complete lines). */
function push(tail: Buffer | null, lines: Buffer): void {
  if (tail) {
    pending.push(tail);
    pendingBytes += tail.length;
  }
  pending.push(lines);
  pendingBytes += lines.length;
  if (pendingBytes >= MAX_MESSAGE) flush();
  else if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function onConnection(socket: net.Socket): void {
  sockets.add(socket);
  if (paused) socket.pause();
  let tail: Buffer | null = null;
  socket.on('data', (chunk: Buffer) => {
    const nl = chunk.lastIndexOf(10);
    if (nl < 0) {
      tail = tail ? Buffer.concat([tail, chunk]) : chunk;
      return;
    }
    push(tail, nl === chunk.length - 1 ? chunk : chunk.subarray(0, nl + 1));
    tail = nl < chunk.length - 1 ? chunk.subarray(nl + 1) : null;
  });
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => socket.destroy());
}

function fatal(message: string): never {
  process.stderr.write(`noop-relay: ${message}\n`);
  process.exit(1);
}

ws.on('error', (err) => fatal(`websocket: ${err.message}`));
ws.on('close', () => fatal('websocket closed'));
ws.on('open', () => {
  const server = net.createServer(onConnection);
  server.on('error', (err) => fatal(err.message));
  server.listen(Number(values.port), values.host);
});
