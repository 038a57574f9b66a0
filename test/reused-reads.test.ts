// The tcp input reads every connection into one reused buffer (reused-reads.ts): the move of an
// accepted connection onto such a socket must take place on this Node, count as the server's
// connection, and no connection's half-read line may be overwritten by another's next read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { adoptWithReusedReads } from '../src/inputs/reused-reads.js';
import { TestServer } from './support/test-server.js';
import { pack } from 'msgpackr';
import { sleep, startPipeline, startRelay, waitFor } from './support/relay.js';

function written(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (error) => (error ? reject(error) : resolve())));
}

/** `count` connections to `port`, without Nagle: each write leaves at once. */
function openConnections(port: number, count: number): Promise<Socket[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => resolve(socket));
          socket.setNoDelay(true);
          socket.on('error', reject);
        }),
    ),
  );
}

/**
 * Writes data[c] on sockets[c] in three parts cut at `cuts`, the connections taking turns and
 * pausing between parts, so a read of one lands between the parts of another's.
 */
async function writeInterleaved(
  sockets: readonly Socket[],
  data: readonly Buffer[],
  cuts: readonly [number, number],
): Promise<void> {
  for (const [from, to] of [
    [0, cuts[0]],
    [cuts[0], cuts[1]],
    [cuts[1], undefined],
  ] as const) {
    for (let c = 0; c < sockets.length; c++) await written(sockets[c]!, data[c]!.subarray(from, to));
    await sleep(2); // separate reads
  }
}

test("an accepted connection moves onto a socket reading into the given buffer, and closes as the server's", async () => {
  const readBuffer = Buffer.alloc(64 * 1024);
  const views: Buffer[] = [];
  let received = '';
  let adopted: Socket | null = null;
  let accepted: Socket | null = null;
  const closed = new Promise<void>((resolve) => {
    const server = createServer({ pauseOnConnect: true }, (socket) => {
      accepted = socket;
      adopted = adoptWithReusedReads(socket, readBuffer);
      adopted.on('data', (data: Buffer) => {
        views.push(data);
        received += data.toString('latin1'); // copied now: the next read overwrites it
      });
      adopted.on('end', () => {
        adopted!.end();
        server.getConnections((error, count) => {
          assert.equal(error, null);
          assert.equal(count, 1, "the adopted connection counts as the server's while open");
          server.close(() => resolve()); // only once the connection count is back to 0
        });
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      const client = connect(port, '127.0.0.1', () => {
        client.end(Buffer.alloc(300_000, 'abcdefgh'));
      });
    });
  });
  await closed;
  assert.notEqual(adopted, accepted, 'the handle moved (a Node whose net internals changed falls back)');
  assert.equal(received, 'abcdefgh'.repeat(300_000 / 8));
  assert.ok(views.length >= 5, `${views.length} reads`);
  for (const view of views) assert.equal(view.buffer, readBuffer.buffer, 'every read lands in the one buffer');
});

test('lines split across reads of interleaved connections arrive whole (the framer keeps copies)', async () => {
  const server = await TestServer.start();
  const relay = await startRelay(server.port);
  const connections = 3;
  const linesEach = 40;
  const sockets = await openConnections(relay.port, connections);
  try {
    for (let seq = 0; seq < linesEach; seq++) {
      // Each line goes in three writes, cut at places that move with seq.
      const lines = sockets.map((_, c) =>
        Buffer.from(`{"c":${c},"seq":${seq},"pad":"${String.fromCharCode(97 + c).repeat(20 + seq)}"}\n`),
      );
      await writeInterleaved(sockets, lines, [5 + (seq % 7), 17 + (seq % 11)]);
    }
    for (const socket of sockets) socket.end();
    const output = relay.engine.stats().outputs['websocket.0']!;
    await waitFor(() => output.records === connections * linesEach, 10_000, 'every line delivered');
    const input = relay.engine.stats().inputs['tcp.0']!;
    assert.equal(input.malformed, 0);
    const records = server.jsonRecords();
    for (let c = 0; c < connections; c++) {
      const mine = records.filter((record) => record['c'] === c);
      assert.deepEqual(
        mine.map((record) => record['seq']),
        Array.from({ length: linesEach }, (_, seq) => seq),
      );
      for (const record of mine) {
        assert.equal(record['pad'], String.fromCharCode(97 + c).repeat(20 + (record['seq'] as number)));
      }
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    await relay.stop();
    await server.stop();
  }
});

test('forward messages split across reads of interleaved connections arrive whole', async () => {
  const server = await TestServer.start();
  const relay = await startPipeline(
    [{ plugin: 'forward', props: { listen: '127.0.0.1', port: '0' } }],
    [
      {
        plugin: 'websocket',
        props: { host: '127.0.0.1', port: String(server.port), format: 'json_lines', match: '*' },
      },
    ],
  );
  const connections = 3;
  const messagesEach = 20;
  const sockets = await openConnections(relay.port, connections);
  try {
    for (let seq = 0; seq < messagesEach; seq++) {
      // Message mode for even seq, PackedForward (two entries) for odd: both ways through the input.
      const messages = sockets.map((_, c) => {
        const record = (part: number): Record<string, unknown> => ({
          c,
          seq,
          part,
          pad: String.fromCharCode(97 + c).repeat(30 + seq),
        });
        return seq % 2 === 0
          ? pack([`t.${c}`, 1_700_000_000, record(0)])
          : pack([`t.${c}`, Buffer.concat([pack([1_700_000_000, record(0)]), pack([1_700_000_001, record(1)])])]);
      });
      await writeInterleaved(sockets, messages, [3 + (seq % 5), 20 + (seq % 9)]);
    }
    const expected = connections * messagesEach * 1.5;
    const output = relay.engine.stats().outputs['websocket.0']!;
    await waitFor(() => output.records === expected, 10_000, 'every record delivered');
    assert.equal(relay.engine.stats().inputs['forward.0']!.malformed, 0);
    const records = server.jsonRecords();
    for (let c = 0; c < connections; c++) {
      const mine = records.filter((record) => record['c'] === c);
      assert.equal(mine.length, messagesEach * 1.5);
      for (const record of mine) {
        assert.equal(record['pad'], String.fromCharCode(97 + c).repeat(30 + (record['seq'] as number)));
      }
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    await relay.stop();
    await server.stop();
  }
});
