// The websocket output against servers that do what RFC 6455 allows, or what a hostile server
// does: unsolicited pongs (§5.5.3), pongs that guess the ping payload, pings from the server,
// fragmented and unexpected data frames, close frames of every shape. Real relays (engine and
// worker threads), real servers on 127.0.0.1: `ws` where it can produce the behaviour, raw TCP
// with hand-written frames where it cannot.
//
// The promise checked throughout: a record counts as flushed only once the server has read it
// (flushed ≤ read at every moment), and every record arrives in the end (nothing counted as
// flushed is lost), each counted flushed exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { sendLines, startRelay, waitFor, type TestRelay } from './support/relay.js';
import { websocketStats } from './support/output-stats.js';

function line(seq: number): string {
  return `{"seq":${seq},"msg":"record number ${seq} of the rfc 6455 tests"}`;
}

function lines(total: number): string[] {
  return Array.from({ length: total }, (_, seq) => line(seq));
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Which records (by seq) a server has read, from json_lines messages. */
class ReadLedger {
  private readonly counts: Uint16Array;
  distinct = 0;

  constructor(readonly total: number) {
    this.counts = new Uint16Array(total);
  }

  read(message: Buffer): void {
    for (const text of message.toString('utf8').split('\n')) {
      if (!text) continue;
      const seq = (JSON.parse(text) as { seq: number }).seq;
      if (this.counts[seq]!++ === 0) this.distinct++;
    }
  }

  missing(): number[] {
    const missing: number[] = [];
    this.counts.forEach((count, seq) => {
      if (count === 0) missing.push(seq);
    });
    return missing;
  }
}

function outputStats(relay: TestRelay) {
  return websocketStats(relay.engine);
}

/**
 * Samples `flushed − read` every millisecond while the relay runs and keeps the worst: with a
 * correct relay it never goes above 0 (a chunk is counted only after the server read it).
 */
class ExcessSampler {
  worst = -Infinity;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly flushed: () => number,
    private readonly read: () => number,
  ) {
    this.timer = setInterval(() => this.sample(), 1);
  }

  sample(): number {
    const excess = this.flushed() - this.read();
    this.worst = Math.max(this.worst, excess);
    return excess;
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

/** Waits until every record is counted flushed and nothing is left in the output. */
async function settled(relay: TestRelay, total: number, timeoutMs = 30_000): Promise<void> {
  const stats = outputStats(relay);
  const output = relay.engine.outputs[0]!;
  await waitFor(
    () => stats.records >= total && output.bufferState().bytes === 0,
    timeoutMs,
    `every record flushed (${stats.records} of ${total})`,
  );
}

/** The relay's one worker thread is still the first one (a crash replaces it with #1). */
function assertNoWorkerCrash(relay: TestRelay): void {
  const stats = outputStats(relay);
  assert.deepEqual(Object.keys(stats.workers), ['0'], 'the worker thread never died');
  assert.equal(stats.dropped.worker_crash, 0);
}

// --- a `ws` server with a script per connection -------------------------------------------------

interface Peer {
  /** 1 for the first connection, 2 for the second... */
  readonly index: number;
  readonly ws: WebSocket;
}

class ScriptedServer {
  connections = 0;

  private constructor(
    private readonly server: WebSocketServer,
    readonly port: number,
  ) {}

  /** Pings are answered only by the script (autoPong off): it decides what each peer echoes. */
  static async start(script: (peer: Peer) => void): Promise<ScriptedServer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false, maxPayload: 64 << 20 });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const scripted = new ScriptedServer(server, (server.address() as AddressInfo).port);
    server.on('connection', (ws: WebSocket) => {
      ws.on('error', () => undefined);
      script({ index: ++scripted.connections, ws });
    });
    return scripted;
  }

  async stop(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A well-behaved peer: reads every message and echoes every ping after the frames before it. */
function serveWell(peer: Peer, ledger: ReadLedger): void {
  peer.ws.on('message', (data: RawData) => ledger.read(toBuffer(data)));
  peer.ws.on('ping', (data: Buffer) => peer.ws.pong(data));
}

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** The heartbeat pongs of the hostile server: small integers in 4, 8 and 12 bytes. */
function heartbeatPayloads(n: number): Buffer[] {
  return [u32be(n), u32le(n), Buffer.concat([u32be(0), u32be(n)]), Buffer.concat([Buffer.alloc(8), u32be(n)])];
}

test('unsolicited 4-, 8- and 12-byte pongs every 1 ms, then unread frames dropped: nothing unread counts as flushed, nothing is lost', async (t) => {
  const total = 30_000;
  const readBeforeStall = 3;
  const heartbeatsBeforeDrop = 1000;
  const ledger = new ReadLedger(total);
  let relay: TestRelay | null = null;
  let atDrop: { flushed: number; read: number } | null = null;
  const server = await ScriptedServer.start((peer) => {
    // Every connection sends heartbeat pongs (RFC 6455 allows them); the first one is hostile,
    // the later ones are a good server.
    let beats = 0;
    let sinceStall = 0;
    let messages = 0;
    const hostile = peer.index === 1;
    const heartbeat = setInterval(
      () => {
        beats++;
        for (const payload of heartbeatPayloads(beats)) peer.ws.pong(payload);
        if (hostile && messages >= readBeforeStall && ++sinceStall === heartbeatsBeforeDrop) {
          // The server dies: what it had not read is gone.
          atDrop = { flushed: outputStats(relay!).records, read: ledger.distinct };
          peer.ws.terminate();
        }
      },
      hostile ? 1 : 5,
    );
    peer.ws.on('close', () => clearInterval(heartbeat));
    if (!hostile) {
      serveWell(peer, ledger);
      return;
    }
    // The hostile connection reads a few messages, answering the pings that follow them, then
    // stalls: later frames are never read (never handled, pings after them never answered).
    // (A flag rather than pausing the socket: ws resumes a socket paused under it, socket.pause(),
    // when its receiver drains; what counts here is which frames the server handled.)
    peer.ws.on('ping', (data: Buffer) => {
      if (messages < readBeforeStall) peer.ws.pong(data);
    });
    peer.ws.on('message', (data: RawData) => {
      if (messages >= readBeforeStall) return;
      ledger.read(toBuffer(data));
      messages++;
    });
  });
  relay = await startRelay(server.port, { chunk_limit_size: '16k', retry_limit: 'no_limits' });
  const stats = outputStats(relay);
  const sampler = new ExcessSampler(
    () => stats.records,
    () => ledger.distinct,
  );
  try {
    await sendLines(relay.port, lines(total));
    await waitFor(() => atDrop !== null, 10_000, 'the hostile server to drop its connection');
    await settled(relay, total);
    sampler.stop();
    const drop = atDrop! as { flushed: number; read: number };
    const missing = ledger.missing();
    t.diagnostic(
      `at the drop: ${drop.flushed} records counted flushed, ${drop.read} read by the server; ` +
        `worst flushed − read ${sampler.worst}; lost ${missing.length} of ${total}`,
    );
    assert.ok(
      drop.flushed <= drop.read,
      `${drop.flushed - drop.read} records counted flushed that the server never read (${drop.flushed} flushed, ${drop.read} read)`,
    );
    assert.ok(sampler.worst <= 0, `flushed exceeded read by ${sampler.worst} records`);
    assert.equal(missing.length, 0, `${missing.length} records counted flushed were never read (lost)`);
    assert.equal(stats.records, total, 'each record counted flushed once');
    assert.ok(server.connections >= 2, 'reconnected after the drop');
    assert.ok(stats.workers['0']!.pongsIgnored > 0, 'the heartbeat pongs are counted as ignored (exported per worker)');
    assertNoWorkerCrash(relay);
  } finally {
    sampler.stop();
    await relay.stop();
    await server.stop();
  }
});

test("pongs guessing the payload (seqs 0..N as 4-byte BE/LE, 8, 12, 16 bytes; an old connection's prefix; future seqs; wrong lengths) confirm nothing", async () => {
  const total = 5000;
  const inflight = 4;
  const guesses = 64;
  const good = new ReadLedger(total);
  const firstPings: Buffer[] = [];
  const logDir = mkdtempSync(join(tmpdir(), 'wsrelay-pongs-'));
  const logFile = join(logDir, 'relay.log');
  /** Blind guesses: what a server that never looked at a ping might send. */
  const blind: Buffer[] = [];
  for (let n = 0; n <= guesses; n++) {
    blind.push(
      u32be(n),
      u32le(n),
      Buffer.concat([u32be(0), u32be(n)]),
      Buffer.concat([Buffer.alloc(8), u32be(n)]),
      Buffer.concat([Buffer.alloc(12), u32be(n)]),
      Buffer.concat([Buffer.alloc(8), u32le(n), Buffer.alloc(4)]),
    );
  }
  const server = await ScriptedServer.start((peer) => {
    if (peer.index > 2) {
      serveWell(peer, good);
      return;
    }
    // Connections 1 and 2 read everything but never echo a ping; they answer with guesses.
    let pings = 0;
    const marker = Buffer.from(`marker ${peer.index}`);
    if (peer.index === 1) for (const payload of blind) peer.ws.pong(payload); // before any ping is sent
    peer.ws.on('message', () => {
      if (peer.index === 1) for (const payload of blind) peer.ws.pong(payload);
    });
    peer.ws.on('ping', (data: Buffer) => {
      if (peer.index === 1) {
        firstPings.push(Buffer.from(data));
        for (const payload of blind) peer.ws.pong(payload);
      } else {
        // Knows the first connection's pings and sees this one's: replays the old ones, this
        // sequence under the old prefix, far-future sequences and wrong lengths under this prefix.
        const forged: Buffer[] = [...firstPings];
        for (const old of firstPings) {
          if (old.length === data.length && data.length > 8)
            forged.push(Buffer.concat([old.subarray(0, 8), data.subarray(8)]));
        }
        if (data.length >= 12) {
          for (const ahead of [1000, 0xffff, 0x7fffffff, 0xffffffff]) {
            const future = Buffer.from(data);
            future.writeUInt32BE((future.readUInt32BE(future.length - 4) + ahead) >>> 0, future.length - 4);
            forged.push(future);
          }
        }
        forged.push(
          data.subarray(0, data.length - 1),
          Buffer.concat([data, Buffer.from([0])]),
          Buffer.concat([Buffer.from([data[0]! ^ 1]), data.subarray(1)]),
        );
        for (const payload of forged) peer.ws.pong(payload);
      }
      // Every chunk in flight sent (on the first connection inflight_chunks of them; the retries
      // on the second go one at a time, workers 1 keeping them in order): a ping of ours, and
      // once its pong is back the relay has processed every guess before it; then the
      // connection dies.
      if (++pings === (peer.index === 1 ? inflight : 1)) peer.ws.ping(marker);
    });
    peer.ws.on('pong', (data: Buffer) => {
      if (data.equals(marker)) peer.ws.terminate();
    });
  });
  const relay = await startRelay(
    server.port,
    { chunk_limit_size: '4k', inflight_chunks: String(inflight), retry_limit: 'no_limits' },
    {},
    { log_level: 'debug', log_file: logFile },
  );
  const stats = outputStats(relay);
  const sampler = new ExcessSampler(
    () => stats.records,
    () => good.distinct,
  );
  let stopped = false;
  try {
    await sendLines(relay.port, lines(total));
    await settled(relay, total);
    sampler.stop();
    assert.ok(sampler.worst <= 0, `${sampler.worst} records counted flushed on the strength of a guessed pong`);
    // Nothing was confirmed by connections 1 and 2, so every record went again to a good one.
    const missing = good.missing();
    assert.equal(missing.length, 0, `${missing.length} records confirmed by a guess, never read by a good connection`);
    assert.ok(server.connections >= 3, `${server.connections} connections`);
    assert.ok(firstPings.length >= inflight, 'the first connection saw the delivery pings');
    assert.equal(stats.records, total);
    assertNoWorkerCrash(relay);
    await relay.stop();
    stopped = true;
    const log = readFileSync(logFile, 'utf8');
    assert.match(log, /\[debug\].*pong.*ignored/, 'the ignored pongs are logged (debug)');
    // Once per burst, not once per pong (hundreds were ignored).
    assert.ok(log.split('\n').filter((l) => /pong.*ignored/.test(l)).length < 10, log);
  } finally {
    sampler.stop();
    if (!stopped) await relay.stop();
    await server.stop();
    rmSync(logDir, { recursive: true, force: true });
  }
});

// --- raw TCP: frames written by hand ------------------------------------------------------------

const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** An unmasked server frame. */
function frame(opcode: number, payload: Buffer | string = Buffer.alloc(0), fin = true): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  let header: Buffer;
  if (data.length < 126) header = Buffer.from([0, data.length]);
  else if (data.length < 0x10000) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(data.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  header[0] = (fin ? 0x80 : 0) | opcode;
  return Buffer.concat([header, data]);
}

function closePayload(code: number, reason = ''): Buffer {
  return Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);
}

interface RawHandlers {
  /** A complete data message from the client (text or binary, continuations joined). */
  onMessage?(peer: RawPeer, data: Buffer, count: number): void;
  /** Whether to echo this ping (default: yes). */
  answerPing?(peer: RawPeer, payload: Buffer): boolean;
  onPong?(peer: RawPeer, payload: Buffer): void;
  /** The client's close frame (the server then closes the TCP connection, RFC 6455 §7.1.1). */
  onClose?(peer: RawPeer, payload: Buffer): void;
}

class RawPeer {
  private buffered: Buffer = Buffer.alloc(0);
  private upgraded = false;
  private fragments: Buffer[] = [];
  messages = 0;
  closeSent = false;
  /** Cleared when the server gives up on the connection: later messages are not handled. */
  handling = true;

  constructor(
    readonly index: number,
    readonly socket: Socket,
    private readonly handlers: RawHandlers,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
  }

  send(...frames: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(frames));
  }

  close(payload: Buffer): void {
    this.closeSent = true;
    this.handling = false;
    this.send(frame(OP.close, payload));
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    if (!this.upgraded) {
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffered.subarray(0, end).toString('latin1');
      const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)?.[1] ?? '';
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      this.socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      this.upgraded = true;
      this.buffered = this.buffered.subarray(end + 4);
    }
    for (;;) {
      const parsed = this.nextFrame();
      if (parsed === null) return;
      this.onFrame(parsed.fin, parsed.opcode, parsed.payload);
    }
  }

  /** One masked client frame off the buffer, unmasked; null while incomplete. */
  private nextFrame(): { fin: boolean; opcode: number; payload: Buffer } | null {
    const b = this.buffered;
    if (b.length < 2) return null;
    let length = b[1]! & 0x7f;
    let at = 2;
    if (length === 126) {
      if (b.length < 4) return null;
      length = b.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      if (b.length < 10) return null;
      length = Number(b.readBigUInt64BE(2));
      at = 10;
    }
    const masked = (b[1]! & 0x80) !== 0;
    assert.ok(masked, 'client frames are masked (RFC 6455 §5.3)');
    if (b.length < at + 4 + length) return null;
    const key = b.subarray(at, at + 4);
    const payload = Buffer.from(b.subarray(at + 4, at + 4 + length));
    for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    this.buffered = b.subarray(at + 4 + length);
    return { fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, payload };
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OP.ping:
        if (this.handlers.answerPing?.(this, payload) ?? true) this.send(frame(OP.pong, payload));
        return;
      case OP.pong:
        this.handlers.onPong?.(this, payload);
        return;
      case OP.close:
        this.handlers.onClose?.(this, payload);
        if (!this.closeSent) this.close(payload.subarray(0, 2));
        this.socket.end();
        return;
      default:
        this.fragments.push(payload);
        if (!fin) return;
        this.handlers.onMessage?.(this, Buffer.concat(this.fragments), ++this.messages);
        this.fragments = [];
    }
  }
}

class RawServer {
  connections = 0;
  private readonly peers: RawPeer[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** `handlers(index)`: the behaviour of the index-th connection (1, 2...). */
  static async start(handlers: (index: number) => RawHandlers): Promise<RawServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const raw = new RawServer(server, (server.address() as AddressInfo).port);
    server.on('connection', (socket: Socket) => {
      const index = ++raw.connections;
      raw.peers.push(new RawPeer(index, socket, handlers(index)));
    });
    return raw;
  }

  async stop(): Promise<void> {
    for (const peer of this.peers) peer.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A relay in front of a raw server; `check` runs once every record is flushed and settled. */
async function throughRaw(
  handlers: (index: number, ledger: ReadLedger) => RawHandlers,
  check: (relay: TestRelay, server: RawServer, ledger: ReadLedger) => void,
  total = 3000,
): Promise<void> {
  const ledger = new ReadLedger(total);
  const server = await RawServer.start((index) => {
    const own = handlers(index, ledger);
    return {
      ...own,
      onMessage: (peer, data, count) => {
        if (!peer.handling) return;
        ledger.read(data);
        own.onMessage?.(peer, data, count);
      },
    };
  });
  const relay = await startRelay(server.port, { chunk_limit_size: '4k', retry_limit: 'no_limits' });
  const stats = outputStats(relay);
  const sampler = new ExcessSampler(
    () => stats.records,
    () => ledger.distinct,
  );
  try {
    await sendLines(relay.port, lines(total));
    await settled(relay, total);
    sampler.stop();
    assert.ok(sampler.worst <= 0, `flushed exceeded read by ${sampler.worst}`);
    assert.deepEqual(ledger.missing(), []);
    assert.equal(stats.records, total, 'each record counted flushed exactly once');
    assertNoWorkerCrash(relay);
    check(relay, server, ledger);
  } finally {
    sampler.stop();
    await relay.stop();
    await server.stop();
  }
}

test('raw: pings from the server, with payloads of 0 to 125 bytes, are answered with the same payload', async () => {
  const payloads = [
    Buffer.alloc(0),
    Buffer.from('hello'),
    Buffer.alloc(125, 'p'),
    u32be(1),
    u32be(0xffffffff),
    Buffer.alloc(16, 0xab),
  ];
  const pongs: Buffer[] = [];
  await throughRaw(
    (index) => ({
      onMessage: (peer, _data, count) => {
        if (index === 1 && count === 1) peer.send(...payloads.map((payload) => frame(OP.ping, payload)));
      },
      onPong: (_peer, payload) => {
        pongs.push(payload);
      },
    }),
    (_relay, server) => {
      assert.deepEqual(pongs, payloads, 'each ping echoed, in order');
      assert.equal(server.connections, 1, 'no reconnect');
    },
  );
});

test('raw: fragmented text and binary messages from the server (a ping between fragments) are read and ignored', async () => {
  const pongs: Buffer[] = [];
  await throughRaw(
    (index) => ({
      onMessage: (peer, _data, count) => {
        if (index !== 1 || count > 2) return;
        peer.send(
          frame(OP.text, 'frag', false),
          frame(OP.ping, 'between fragments'),
          frame(OP.continuation, 'ment', false),
          frame(OP.continuation, '', false),
          frame(OP.continuation, 'ed ✓', true),
          frame(OP.binary, Buffer.from([1, 2, 3]), false),
          frame(OP.continuation, Buffer.alloc(70_000, 7), true),
          frame(OP.text, Buffer.alloc(300, 'x'), false),
          frame(OP.continuation, Buffer.alloc(300, 'y'), true),
        );
      },
      onPong: (_peer, payload) => {
        pongs.push(payload);
      },
    }),
    (_relay, server) => {
      assert.deepEqual(pongs.map(String), ['between fragments', 'between fragments']);
      assert.equal(server.connections, 1, 'no reconnect');
    },
  );
});

test('raw: data frames from the server (text, binary, empty, a burst) are ignored', async () => {
  await throughRaw(
    (index) => ({
      onMessage: (peer, _data, count) => {
        if (index !== 1) return;
        const burst = Array.from({ length: 50 }, (_, i) => frame(OP.binary, Buffer.alloc(1000, i)));
        peer.send(
          frame(OP.text, `{"ack":${count}}`),
          frame(OP.binary, Buffer.from([0, 1, 2])),
          frame(OP.text, ''),
          frame(OP.binary, Buffer.alloc(0)),
          ...burst,
        );
      },
    }),
    (_relay, server) => {
      assert.equal(server.connections, 1, 'no reconnect');
    },
  );
});

test('raw: a message over 1 MiB from the server closes the connection (1009); the relay reconnects and loses nothing', async () => {
  const closes: Buffer[] = [];
  await throughRaw(
    (index) => ({
      // Pings answered for the first message only: the rest is in flight when the client closes.
      answerPing: (peer) => index > 1 || peer.messages <= 1,
      onMessage: (peer, _data, count) => {
        if (index !== 1 || count !== 2) return;
        peer.send(frame(OP.binary, Buffer.alloc((1 << 20) + 1)));
        peer.handling = false;
      },
      onClose: (_peer, payload) => {
        closes.push(payload);
      },
    }),
    (_relay, server) => {
      assert.equal(closes[0]?.readUInt16BE(0), 1009, 'message too big');
      assert.ok(server.connections >= 2);
    },
  );
});

const closeFrames: Array<[string, Buffer]> = [
  ['a code only (1000)', closePayload(1000)],
  ['an empty payload (no code)', Buffer.alloc(0)],
  ['1001 going away', closePayload(1001, 'going away')],
  ['1011 internal error', closePayload(1011, 'internal error')],
];

for (const [name, payload] of closeFrames) {
  test(`raw: the server closes with ${name} while chunks are unconfirmed: answered, resent, nothing lost or counted twice`, async () => {
    const replies: Buffer[] = [];
    await throughRaw(
      (index) => ({
        // Connection 1 confirms its first message only, and closes after reading the second.
        answerPing: (peer) => index > 1 || peer.messages <= 1,
        onMessage: (peer, _data, count) => {
          if (index === 1 && count === 2) peer.close(payload);
        },
        onClose: (peer, reply) => {
          if (peer.index === 1) replies.push(reply);
        },
      }),
      (relay, server) => {
        assert.equal(replies.length, 1, 'the client answered the close frame with its own');
        // §5.5.1: the echo carries the code received (none for an empty close).
        assert.deepEqual(replies[0]!.subarray(0, 2), payload.subarray(0, 2));
        assert.ok(server.connections >= 2, 'reconnected');
        const stats = outputStats(relay);
        assert.ok(stats.resentRecords > 0, 'the unconfirmed chunks were sent again');
      },
    );
  });
}
