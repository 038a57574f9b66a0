// The worker's Connection on its own, against a real `ws` server on 127.0.0.1 that decides
// every pong: which pong may confirm a message (an exact echo of an outstanding ping of this
// connection) and which may not (future, already answered, wrong length, another prefix,
// another connection's ping, unsolicited), the ping payload, and `delivery write`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { Connection, type ConnectionOptions, type SendOutcome } from '../src/outputs/websocket/worker/connection.js';
import { Logger } from '../src/log.js';
import { connectionOptions } from './support/connection-options.js';

/** Values pushed by events, taken in order by whoever waits. */
class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(item: T) => void> = [];

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  next(): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    return new Promise<T>((resolve) => this.waiters.push(resolve));
  }
}

interface Peer {
  readonly ws: WebSocket;
  /** Payloads of the pings the client sent. */
  readonly pings: Inbox<Buffer>;
  readonly closed: Promise<void>;
  syncs: number;
}

/** A server whose pongs are all sent by the test (autoPong off). */
class PongServer {
  readonly peers = new Inbox<Peer>();
  connections = 0;

  private constructor(
    private readonly server: WebSocketServer,
    readonly port: number,
  ) {}

  static async start(): Promise<PongServer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    const pongServer = new PongServer(server, (server.address() as AddressInfo).port);
    server.on('connection', (ws: WebSocket) => {
      pongServer.connections++;
      const pings = new Inbox<Buffer>();
      ws.on('ping', (data: Buffer) => pings.push(Buffer.from(data)));
      ws.on('error', () => undefined);
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      pongServer.peers.push({ ws, pings, closed, syncs: 0 });
    });
    return pongServer;
  }

  async stop(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Resolves once the client has processed every frame the server sent before (its pong to our ping). */
function sync(peer: Peer): Promise<void> {
  const marker = Buffer.from(`sync ${++peer.syncs}`);
  return new Promise<void>((resolve) => {
    const onPong = (data: Buffer): void => {
      if (!data.equals(marker)) return;
      peer.ws.off('pong', onPong);
      resolve();
    };
    peer.ws.on('pong', onPong);
    peer.ws.ping(marker);
  });
}

function options(port: number, overrides: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return connectionOptions(`ws://127.0.0.1:${port}/`, overrides);
}

function connection(port: number, overrides: Partial<ConnectionOptions> = {}): { conn: Connection; logs: string[] } {
  const logs: string[] = [];
  const log = new Logger('debug', 'test', {
    write: (line) => {
      logs.push(line);
    },
  });
  const conn = new Connection(options(port, overrides), log, {
    onHandshake: () => undefined,
    onClosed: () => undefined,
  });
  return { conn, logs };
}

interface Tracked {
  readonly promise: Promise<SendOutcome>;
  outcome: SendOutcome | null;
}

async function send(conn: Connection, text: string): Promise<Tracked> {
  await conn.takeTurn();
  const tracked: Tracked = { promise: conn.send(Buffer.from(text), false), outcome: null };
  void tracked.promise.then((outcome) => {
    tracked.outcome = outcome;
  });
  return tracked;
}

/** The same payload with its sequence number (bytes 8..15, big-endian) moved by `delta`. */
function withSeq(ping: Buffer, delta: bigint): Buffer {
  const forged = Buffer.from(ping);
  forged.writeBigUInt64BE(ping.readBigUInt64BE(8) + delta, 8);
  return forged;
}

test(
  'a pong confirms only as an exact echo of a ping still outstanding on this connection',
  { timeout: 20_000 },
  async () => {
    const server = await PongServer.start();
    const { conn, logs } = connection(server.port);
    try {
      conn.start();
      const peer = await server.peers.next();
      const first = await send(conn, 'm1');
      const ping1 = await peer.pings.next();
      assert.equal(ping1.length, 16, '8 bytes of prefix, 8 of sequence number');
      assert.ok(ping1.length <= 125, 'a control frame payload (RFC 6455 §5.5)');
      const forged = [
        withSeq(ping1, 1n), // a sequence number not sent yet
        withSeq(ping1, 1n << 32n),
        withSeq(ping1, -1n), // before the first one
        ping1.subarray(0, 15),
        Buffer.concat([ping1, Buffer.from([0])]), // wrong lengths
        Buffer.concat([Buffer.from([ping1[0]! ^ 0x80]), ping1.subarray(1)]), // another prefix
        Buffer.concat([ping1.subarray(0, 7), Buffer.from([ping1[7]! ^ 1]), ping1.subarray(8)]),
        Buffer.concat([Buffer.alloc(8), ping1.subarray(8)]),
        Buffer.alloc(0),
        ping1.subarray(12),
        ping1.subarray(8), // the sequence number alone, in 4 and 8 bytes
      ];
      for (const payload of forged) peer.ws.pong(payload);
      await sync(peer);
      assert.equal(first.outcome, null, 'no forged pong confirmed the message');
      assert.equal(conn.pongsIgnored, forged.length);

      peer.ws.pong(ping1);
      assert.deepEqual(await first.promise, { status: 'flushed' });

      // Already answered: confirms nothing more, and is counted as ignored.
      const second = await send(conn, 'm2');
      const ping2 = await peer.pings.next();
      assert.deepEqual(ping2.subarray(0, 8), ping1.subarray(0, 8), 'one prefix per connection');
      assert.equal(ping2.readBigUInt64BE(8), ping1.readBigUInt64BE(8) + 1n, 'consecutive sequence numbers');
      peer.ws.pong(ping1);
      await sync(peer);
      assert.equal(second.outcome, null, 'a repeated pong does not confirm the next message');
      assert.equal(conn.pongsIgnored, forged.length + 1);

      // A server may answer only the latest of several pings (RFC 6455 §5.5.3): it confirms all.
      const third = await send(conn, 'm3');
      const ping3 = await peer.pings.next();
      peer.ws.pong(ping3);
      assert.deepEqual(await second.promise, { status: 'flushed' });
      assert.deepEqual(await third.promise, { status: 'flushed' });
      assert.equal(conn.pongsIgnored, forged.length + 1);

      // One debug line for the burst, not one per pong.
      const lines = logs.filter((line) => line.includes('ignored'));
      assert.equal(lines.length, 1, logs.join(''));
      assert.match(lines[0]!, /\[debug\].*pong of \d+ byte\(s\) ignored/);
    } finally {
      await conn.stop();
      await server.stop();
    }
  },
);

test(
  'each connection draws a new random prefix; pongs of an earlier connection confirm nothing on a later one',
  { timeout: 20_000 },
  async () => {
    const server = await PongServer.start();
    const { conn } = connection(server.port);
    try {
      conn.start();
      const prefixes = new Set<string>();
      let previous: { ping: Buffer; outcome: Tracked } | null = null;
      for (let round = 0; round < 5; round++) {
        const peer = await server.peers.next();
        const message = await send(conn, `m${round}`);
        const ping = await peer.pings.next();
        prefixes.add(ping.subarray(0, 8).toString('hex'));
        if (previous) {
          // The previous connection's message failed when it died (it is sent again by the main
          // thread); its ping, echoed here, and its prefix with this ping's number confirm nothing.
          assert.equal(previous.outcome.outcome?.status, 'failed');
          peer.ws.pong(previous.ping);
          peer.ws.pong(Buffer.concat([previous.ping.subarray(0, 8), ping.subarray(8)]));
          await sync(peer);
          assert.equal(message.outcome, null, "an old connection's pong confirmed a message");
        }
        if (round === 4) {
          peer.ws.pong(ping);
          assert.deepEqual(await message.promise, { status: 'flushed' });
          break;
        }
        previous = { ping, outcome: message };
        peer.ws.terminate();
        await message.promise;
      }
      assert.equal(prefixes.size, 5, 'a fresh prefix on every connection');
      assert.equal(server.connections, 5);
      assert.equal(conn.pongsIgnored, 8);
    } finally {
      await conn.stop();
      await server.stop();
    }
  },
);

test(
  'delivery write: a message counts once written; unsolicited pongs do not stand in for keepalive pongs',
  { timeout: 20_000 },
  async () => {
    const server = await PongServer.start();
    const { conn, logs } = connection(server.port, { delivery: 'write', pingIntervalMs: 100, pingTimeoutMs: 300 });
    let beat = 0;
    const heartbeat = setInterval(() => {
      beat++;
      // What a server's heartbeat might send: small integers, and payloads of our pings' length.
      for (const client of (server as unknown as { server: WebSocketServer }).server.clients) {
        const counter = Buffer.alloc(4);
        counter.writeUInt32BE(beat, 0);
        client.pong(counter);
        client.pong(Buffer.alloc(16, beat & 0xff));
      }
    }, 1);
    try {
      conn.start();
      const peer = await server.peers.next();
      const message = await send(conn, 'w1');
      assert.deepEqual(await message.promise, { status: 'flushed' }, 'write mode: flushed when written');
      // The server never echoes a ping: the keepalive ping times out and the connection is
      // abandoned, heartbeats or not.
      const keepalive = await peer.pings.next();
      assert.equal(keepalive.length, 16);
      await peer.closed;
      await server.peers.next();
      assert.ok(
        logs.some((line) => line.includes('no pong within 0.3 s')),
        logs.join(''),
      );
      assert.ok(conn.pongsIgnored > 0);
    } finally {
      clearInterval(heartbeat);
      await conn.stop();
      await server.stop();
    }
  },
);

test('delivery write: keepalive pings echoed amid heartbeats keep the connection', { timeout: 20_000 }, async () => {
  const server = await PongServer.start();
  const { conn } = connection(server.port, { delivery: 'write', pingIntervalMs: 50, pingTimeoutMs: 200 });
  try {
    conn.start();
    const peer = await server.peers.next();
    // Echo five keepalive pings, with a heartbeat pong before each echo.
    for (let i = 0; i < 5; i++) {
      const ping = await peer.pings.next();
      peer.ws.pong(Buffer.from([0, 0, 0, i]));
      peer.ws.pong(ping);
    }
    const message = await send(conn, 'w2');
    assert.deepEqual(await message.promise, { status: 'flushed' });
    await sync(peer);
    assert.equal(server.connections, 1, 'the echoed keepalives kept the connection');
    assert.equal(conn.pongsIgnored, 5);
  } finally {
    await conn.stop();
    await server.stop();
  }
});
