// The server misbehaves; the relay recovers by itself and loses nothing it accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { TestServer } from './support/test-server.js';
import { seqReport, sendLines, sleep, startRelay, waitFor } from './support/relay.js';
import { websocketStats } from './support/output-stats.js';

function line(seq: number): string {
  return `{"seq":${seq},"msg":"record number ${seq}"}`;
}

test('server stopped mid-stream until two reconnects fail, then restarted, after dropping a read frame: every record arrives', async () => {
  let dropped = 0;
  const server = await TestServer.start({
    // The 3rd message is read and then the server "dies" before handling it.
    onMessage: (_message, index) => (index === 2 ? (dropped++, 'drop') : 'keep'),
  });
  // Default Retry_Limit (1) and scheduler: a reconnect wakes waiting retries early.
  const relay = await startRelay(server.port);
  const stats = websocketStats(relay.engine);
  const total = 3000;
  const socket = connect(relay.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  try {
    let outage: Promise<void> | null = null;
    for (let seq = 0; seq < total; seq += 50) {
      socket.write(Array.from({ length: 50 }, (_, i) => `${line(seq + i)}\n`).join(''));
      // A steady sender: quiet longer than the early seal's wait, so batches become chunks.
      await sleep(10);
      if (seq === 2000) {
        outage = (async () => {
          await server.stop();
          // Down through the immediate reconnect and one after backoff; the rest of the loop
          // is sent meanwhile.
          await waitFor(() => stats.handshakesFailed >= 2, 10_000, 'two failed reconnects');
          await server.listen();
        })();
      }
    }
    socket.end();
    await outage;
    await waitFor(() => seqReport(server.jsonRecords(), total).missing.length === 0, 30_000, 'every record');
    const report = seqReport(server.jsonRecords(), total);
    assert.deepEqual(report.missing, []);
    assert.equal(dropped, 1);
    // workers 1, one sender: first arrivals are in seq order — the retried chunk was not overtaken.
    const firsts: number[] = [];
    const seen = new Set<number>();
    for (const record of server.jsonRecords()) {
      const seq = record['seq'] as number;
      if (!seen.has(seq)) {
        seen.add(seq);
        firsts.push(seq);
      }
    }
    assert.deepEqual(
      firsts,
      [...firsts].sort((x, y) => x - y),
      'records arrived in order',
    );
    assert.ok(server.connections >= 3, `a fresh handshake after each drop (${server.connections} connections)`);
    assert.ok(stats.retries >= 1, 'failed flushes were retried');
    assert.equal(stats.dropped.retry_limit, 0);
    assert.ok(stats.handshakesOk >= 3);
  } finally {
    socket.destroy();
    await relay.stop();
    await server.stop();
  }
});

test('a server that never answers pings is abandoned and reconnected', async () => {
  const server = await TestServer.start({ autoPong: false });
  // Grace 0: the records are never confirmed, so a stop would wait all of Grace for them.
  const relay = await startRelay(
    server.port,
    { ping_interval: '0.2', ping_timeout: '0.5', retry_limit: 'no_limits' },
    {},
    { grace: '0' },
  );
  try {
    await sendLines(relay.port, [line(0), line(1)]);
    await waitFor(() => server.connections >= 3, 10_000, 'reconnects');
    const stats = relay.engine.stats().outputs['websocket.0']!;
    // Unconfirmed, so never counted as flushed, and re-sent on each new connection.
    assert.equal(stats.records, 0);
    assert.ok(server.jsonRecords().length >= 2);
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('delivery write: delivered without pongs, and keepalive pings still catch the dead server', async () => {
  const server = await TestServer.start({ autoPong: false });
  const relay = await startRelay(server.port, { delivery: 'write', ping_interval: '0.2', ping_timeout: '0.4' });
  try {
    await sendLines(relay.port, [line(0), line(1), line(2)]);
    const stats = relay.engine.stats().outputs['websocket.0']!;
    await waitFor(() => stats.records === 3, 5000, 'flushed');
    await waitFor(() => server.connections >= 2, 5000, 'a reconnect after unanswered keepalive pings');
    assert.deepEqual(seqReport(server.jsonRecords(), 3).missing, []);
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('past Retry_Limit a chunk is dropped, logged and counted', async () => {
  const server = await TestServer.start();
  const port = server.port;
  await server.stop();
  const relay = await startRelay(port, { retry_limit: 'no_retries' });
  try {
    await sendLines(
      relay.port,
      Array.from({ length: 10 }, (_, i) => line(i)),
    );
    const stats = websocketStats(relay.engine);
    await waitFor(() => stats.dropped.retry_limit === 10, 5000, 'the drop');
    assert.equal(stats.records, 0);
    assert.equal(stats.retriesFailed, 1);
    assert.ok(
      relay.logs.some((l) => l.includes('[error]') && l.includes('cannot be retried')),
      relay.logs.join(''),
    );
  } finally {
    await relay.stop();
  }
});

test('a server that stops reading pauses the input; memory stays bounded; all arrives after', async () => {
  const paused: Array<() => void> = [];
  const server = await TestServer.start();
  const relay = await startRelay(server.port, {
    mem_buf_limit: '256k',
    chunk_limit_size: '32k',
    inflight_chunks: '1',
    ping_timeout: '60',
  });
  // Stop reading on the server side: the relay's socket buffers fill, then its chunks queue.
  const wsServer = (server as unknown as { server: { clients: Set<{ _socket: { pause(): void; resume(): void } }> } })
    .server;
  await waitFor(() => wsServer.clients.size === 1, 5000, 'connection');
  for (const client of wsServer.clients) {
    client._socket.pause();
    paused.push(() => client._socket.resume());
  }
  const total = 200_000;
  const socket = connect(relay.port, '127.0.0.1');
  const output = relay.engine.outputs[0]!;
  const input = relay.engine.stats().inputs['tcp.0']!;
  let peakBuffered = 0;
  const sampler = setInterval(() => {
    peakBuffered = Math.max(peakBuffered, output.bufferState().bytes);
  }, 5);
  try {
    const payload = Buffer.from(Array.from({ length: total }, (_, i) => `${line(i)}\n`).join(''));
    socket.write(payload);
    socket.end();
    await waitFor(() => input.paused, 10_000, 'input paused');
    // A window, as proving that reading stopped needs one: an input still reading would take
    // the rest of the 9.6 MB from the loopback socket well within it.
    await sleep(200);
    assert.ok(input.records < total, 'the input stopped reading');
    assert.ok(peakBuffered < 256 * 1024 + 2 * 65536 + 32 * 1024, `buffered peak ${peakBuffered}`);
    for (const resume of paused) resume();
    await waitFor(() => seqReport(server.jsonRecords(), total).missing.length === 0, 30_000, 'every record');
    assert.equal(input.paused, false);
  } finally {
    clearInterval(sampler);
    socket.destroy();
    await relay.stop();
    await server.stop();
  }
});
