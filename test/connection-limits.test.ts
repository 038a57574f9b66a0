// ConnectionDeadlines on real sockets: the record and idle timeouts close a connection, except
// while the input is paused by backpressure (the relay stopped reading, not the peer), and the
// clock restarts when reading resumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ConnectionDeadlines } from '../src/inputs/connection-limits.js';
import { markPaused } from '../src/inputs/listener.js';
import { newInputStats, type InputStats } from '../src/engine/stats.js';
import { Logger } from '../src/log.js';
import { sleep, waitFor } from './support/relay.js';

interface Setup {
  readonly stats: InputStats;
  readonly deadlines: ConnectionDeadlines;
  readonly server: Server;
  readonly port: number;
}

async function setup(ioTimeoutMs: number, recordTimeoutMs: number): Promise<Setup> {
  const stats = newInputStats();
  const deadlines = new ConnectionDeadlines(
    { maxConnections: 0, ioTimeoutMs, recordTimeoutMs },
    stats,
    new Logger('off', ''),
    'test',
  );
  const server = createServer((socket) => {
    deadlines.watch(socket, 'peer');
    // Any byte begins a record that only a newline ends.
    socket.on('data', (data: Buffer) =>
      deadlines.progress(socket, data[data.length - 1] !== 0x0a, data.includes(0x0a)),
    );
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { stats, deadlines, server, port: typeof address === 'object' && address ? address.port : 0 };
}

const clients: Socket[] = [];

async function client(port: number): Promise<{ socket: Socket; closed: () => boolean }> {
  const socket = connect(port, '127.0.0.1');
  clients.push(socket);
  let closed = false;
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, closed: () => closed };
}

async function teardown(s: Setup): Promise<void> {
  for (const socket of clients.splice(0)) socket.destroy();
  s.deadlines.stop();
  await new Promise((resolve) => s.server.close(resolve));
}

test('a begun record is not timed out while paused; after resuming it gets its full time again', async () => {
  const s = await setup(0, 300);
  try {
    markPaused(s.stats, true);
    const peer = await client(s.port);
    peer.socket.write('{"partial":');
    // A window (nothing may happen while paused): twice the record timeout and its sweep.
    await sleep(600);
    assert.equal(peer.closed(), false, 'paused: not closed');
    markPaused(s.stats, false);
    s.deadlines.resumed();
    await sleep(100);
    assert.equal(peer.closed(), false, 'the clock restarted at resume');
    await waitFor(peer.closed, 3000, 'closed after the record timeout');
    assert.equal(s.stats.closed.record_timeout, 1);
  } finally {
    await teardown(s);
  }
});

test('whole records keep a connection open; a silent one goes after the io timeout unless paused', async () => {
  const s = await setup(300, 300);
  try {
    const steady = await client(s.port);
    for (let i = 0; i < 8; i++) {
      steady.socket.write(`{"n":${i}}\n{"next":`); // each write ends a record and begins another
      await sleep(100);
    }
    assert.equal(steady.closed(), false);
    steady.socket.destroy();
    markPaused(s.stats, true);
    const silent = await client(s.port);
    // A window (nothing may happen while paused): twice the io timeout.
    await sleep(600);
    assert.equal(silent.closed(), false, 'paused: silence is ours');
    markPaused(s.stats, false);
    await waitFor(silent.closed, 3000, 'closed for silence');
    assert.equal(s.stats.closed.io_timeout, 1);
    assert.equal(s.stats.closed.record_timeout, 0);
  } finally {
    await teardown(s);
  }
});
