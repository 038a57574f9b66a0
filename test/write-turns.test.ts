// WriteTurns: one encode-and-write at a time per connection, and none while the socket still
// holds a message in user space. Real TCP sockets on 127.0.0.1; the reader pauses to make the
// writer's socket back up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { WriteTurns } from '../src/outputs/websocket/worker/write-turns.js';

async function socketPair(): Promise<{ writer: Socket; reader: Socket; close: () => void }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const writer = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => writer.once('connect', () => resolve()));
  const reader = await accepted;
  return {
    writer,
    reader,
    close: () => {
      writer.destroy();
      reader.destroy();
      server.close();
    },
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('turns are given in order, one at a time, and wait while the socket needs to drain', async () => {
  const { writer, reader, close } = await socketPair();
  try {
    reader.pause(); // nothing is read: a big write stays in the writer's user-space buffer
    const turns = new WriteTurns();
    turns.setSocket(writer);
    const order: number[] = [];
    const takers = [1, 2, 3].map((n) => turns.take().then(() => order.push(n)));
    await tick();
    assert.deepEqual(order, [1], 'one turn at a time');
    writer.write(Buffer.alloc(64 << 20)); // more than the kernel buffers take
    assert.ok(writer.writableNeedDrain);
    turns.done();
    await tick();
    assert.deepEqual(order, [1], 'no turn while the message waits in user space');
    reader.resume(); // the socket drains; 'drain' gives the next turn
    await takers[1];
    assert.deepEqual(order, [1, 2]);
    turns.done();
    await takers[2];
    assert.deepEqual(order, [1, 2, 3]);
    turns.done();
  } finally {
    close();
  }
});

test('a connection that goes away gives the waiting turns at once', async () => {
  const { writer, reader, close } = await socketPair();
  try {
    reader.pause();
    const turns = new WriteTurns();
    turns.setSocket(writer);
    await turns.take();
    writer.write(Buffer.alloc(64 << 20));
    turns.done();
    let second = false;
    const waiting = turns.take().then(() => {
      second = true;
    });
    await tick();
    assert.equal(second, false);
    turns.setSocket(null); // the connection closed: send() will report not_sent
    await waiting;
    assert.equal(second, true);
    turns.done();
  } finally {
    close();
  }
});
