// The fan-out ceiling: a WebSocket server doing nothing a relay has to do. Not shipped; bench.ts
// runs it to show what a Node process can broadcast here, under the same harness as the relay's
// server mode (`-o websocket_server`): a pure `ws` broadcast of pre-built frames.
//   node dist/load/noop-fanout.js --port IN --ws-port OUT [--host 127.0.0.1] [--path /]
// Listens on IN for TCP lines and on OUT for WebSocket clients. Each read is cut at its last
// newline; complete lines are collected into TEXT frames of up to 64 KiB (framed once, unmasked,
// as a server sends them) and the same frame is written to every client's socket. Inputs are
// paused while any client has more than 8 MiB waiting, so the slowest client sets the pace (this
// ceiling has no slow-client policy: run it without never-reading clients).
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { OPCODE_TEXT, frameOf } from '../src/outputs/server/frames.js';

const MAX_FRAME = 64 * 1024;
const HIGH_WATER = 8 * 1024 * 1024;

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    'ws-port': { type: 'string' },
    path: { type: 'string', default: '/' },
  },
});

const inputs = new Set<net.Socket>();
const clients = new Set<Duplex>();
let pending: Buffer[] = [];
let pendingBytes = 0;
let flushScheduled = false;
let paused = false;

function setPaused(p: boolean): void {
  if (p === paused) return;
  paused = p;
  for (const s of inputs) {
    if (p) s.pause();
    else s.resume();
  }
}

function flush(): void {
  flushScheduled = false;
  if (pendingBytes === 0) return;
  const frame = frameOf(OPCODE_TEXT, pending, pendingBytes);
  pending = [];
  pendingBytes = 0;
  let full = false;
  for (const socket of clients) {
    socket.write(frame);
    if (socket.writableLength > HIGH_WATER) full = true;
  }
  if (full) setPaused(true);
}

function onDrain(): void {
  if (!paused) return;
  for (const socket of clients) if (socket.writableLength > HIGH_WATER / 2) return;
  setPaused(false);
}

/** Queues bytes ending on a line boundary (the previous tail, if any, then the complete lines). */
function push(tail: Buffer | null, lines: Buffer): void {
  for (const part of tail ? [tail, lines] : [lines]) {
    // Cut at the line boundary before MAX_FRAME so frames stay at most 64 KiB.
    let rest = part;
    while (pendingBytes + rest.length > MAX_FRAME) {
      const cut = rest.lastIndexOf(10, MAX_FRAME - pendingBytes - 1);
      if (cut < 0) {
        if (pendingBytes === 0) break; // one line longer than a frame: it gets a frame of its own
        flush();
        continue;
      }
      pending.push(rest.subarray(0, cut + 1));
      pendingBytes += cut + 1;
      rest = rest.subarray(cut + 1);
      flush();
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes >= MAX_FRAME) flush();
  else if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function onInput(socket: net.Socket): void {
  inputs.add(socket);
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
  socket.on('close', () => inputs.delete(socket));
  socket.on('error', () => socket.destroy());
}

function fatal(message: string): never {
  process.stderr.write(`noop-fanout: ${message}\n`);
  process.exit(1);
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
const server = http.createServer((_req, res) => res.writeHead(426).end());
server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
  if (new URL(req.url ?? '/', 'http://x').pathname !== values.path) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    clients.add(socket);
    socket.on('drain', onDrain);
    ws.on('close', () => {
      clients.delete(socket);
      onDrain();
    });
    ws.on('error', () => undefined);
  });
});
server.on('error', (err) => fatal(err.message));
server.listen(Number(values['ws-port']), values.host, () => {
  const input = net.createServer(onInput);
  input.on('error', (err) => fatal(err.message));
  input.listen(Number(values.port), values.host);
});
