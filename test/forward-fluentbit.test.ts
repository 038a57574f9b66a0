// Fluent Bit's forward output as it is on the wire (plugins/out_forward/forward.c and
// forward_format.c), replayed byte for byte against the forward input on 127.0.0.1, and what
// arrives at a websocket server (TestServer) checked. Everything Fluent Bit writes with its own
// msgpack-c calls is written by hand here — msgpack-c picks the smallest header (str8 from 32
// bytes), EventTime is fixext8 type 0 (d7 00, seconds and nanoseconds as big-endian u32) — and
// only record maps come from msgpackr.
//
// - Shared_Key: after our HELO, Fluent Bit sends
//     ['PING', self_hostname, shared_key_salt, sha512_hex(salt + self_hostname + nonce + shared_key),
//      username, password_digest]
//   with its 16 random salt bytes packed as a msgpack *str* (msgpack_pack_str(16)), not UTF-8;
//   as our HELO carries auth '' (an empty, not a missing, auth salt) it adds username '' and
//   sha512_hex(auth + username + password). It accepts any PONG whose [0] is 'PONG' and [1] true;
//   Fluentd's client also checks [4] = sha512_hex(salt + server_hostname + nonce + shared_key).
// - Forward mode (the default): [tag, array16/fixarray header + the chunk's entries, options?].
//   Since 2.0 (flb_forward_format_transcode to FLB_LOG_EVENT_FORMAT_FORWARD) an entry is
//   [[EventTime, metadata], record], metadata {} (a capture of 5.1.1 shows 92 92 d7 00 .. 80 82 ..).
//   time_as_integer (compat mode): [[uint, record], ...]. Compress gzip: [tag, bin(gzip(entries)),
//   options] (CompressedPackedForward). Fluent Bit 1.x sent [tag, bin([EventTime, record]...),
//   options] (PackedForward). Message mode [tag, EventTime, record, options?] when the tag comes
//   from the records.
// - Options: {"chunk": hex of the first 16 bytes of sha512(entries) (5.x: base64), "size":
//   entries, "compressed": "gzip", "fluent_signal": 0 (2.1+; 1 metrics, 2 traces)}, in that order;
//   since 2.x under a map32 header whatever the count (flb_mp_map_header). chunk only with
//   Require_ack_response, and then it waits for {"ack": chunk}: a map, key "ack", a str of the
//   same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { pack, Unpackr } from 'msgpackr';
import { TestServer } from './support/test-server.js';
import { startPipeline, waitFor, type TestRelay } from './support/relay.js';
import { frameEnd } from '../src/codec/msgpack-frame.js';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

// ---- msgpack as msgpack-c writes it -----------------------------------------------------------

function str(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  if (bytes.length < 32) return Buffer.concat([Buffer.from([0xa0 | bytes.length]), bytes]);
  if (bytes.length < 256) return Buffer.concat([Buffer.from([0xd9, bytes.length]), bytes]);
  const head = Buffer.from([0xda, 0, 0]);
  head.writeUInt16BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}
function bin(bytes: Buffer): Buffer {
  const head = Buffer.from([0xc6, 0, 0, 0, 0]);
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}
function array(count: number): Buffer {
  if (count < 16) return Buffer.from([0x90 | count]);
  const head = Buffer.from([0xdc, 0, 0]);
  head.writeUInt16BE(count, 1);
  return head;
}
function uint(value: number): Buffer {
  if (value < 128) return Buffer.from([value]);
  const b = Buffer.from([0xce, 0, 0, 0, 0]);
  b.writeUInt32BE(value, 1);
  return b;
}
/** flb_time_append_to_msgpack, FLB_TIME_ETFMT_V1_FIXEXT: d7 00 <sec u32 BE> <nsec u32 BE>. */
function eventTime(sec: number, nsec: number): Buffer {
  const b = Buffer.alloc(10);
  b[0] = 0xd7;
  b[1] = 0x00;
  b.writeUInt32BE(sec, 2);
  b.writeUInt32BE(nsec, 6);
  return b;
}
function sha512Hex(...parts: Buffer[]): string {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/** Fluent Bit 1.x (1) or >= 2 (2), as far as the bytes differ. */
type Version = 1 | 2;

interface Sent {
  readonly sec: number;
  readonly nsec: number;
  readonly body: Record<string, unknown>;
}

/** A chunk's entries: [EventTime, record] (1.x) or [[EventTime, {}], record] (>= 2), one after the other. */
function entries(records: readonly Sent[], version: Version): Buffer {
  return Buffer.concat(
    records.map((r) =>
      Buffer.concat(
        version === 1
          ? [Buffer.from([0x92]), eventTime(r.sec, r.nsec), pack(r.body)]
          : [Buffer.from([0x92, 0x92]), eventTime(r.sec, r.nsec), Buffer.from([0x80]), pack(r.body)],
      ),
    ),
  );
}

/**
 * append_options: chunk (hex of 16 bytes of sha512(entries); 5.x: base64 of them), size,
 * compressed, fluent_signal (>= 2) — under a map32 header from 2.x on (flb_mp_map_header).
 */
function options(
  data: Buffer,
  size: number,
  {
    ack,
    gzip,
    version,
    signal = 0,
    base64 = false,
  }: { ack: boolean; gzip: boolean; version: Version; signal?: number; base64?: boolean },
): { bytes: Buffer; chunk: string | null } {
  const digest = createHash('sha512').update(data).digest().subarray(0, 16);
  const chunk = ack ? digest.toString(base64 ? 'base64' : 'hex') : null;
  const pairs: Buffer[] = [];
  if (chunk !== null) pairs.push(str('chunk'), str(chunk));
  if (size > 0) pairs.push(str('size'), uint(size));
  if (size > 0 && gzip) pairs.push(str('compressed'), str('gzip'));
  if (version === 2) pairs.push(str('fluent_signal'), uint(signal));
  const count = pairs.length / 2;
  const head = version === 1 ? Buffer.from([0x80 | count]) : Buffer.from([0xdf, 0, 0, 0, count]);
  return { bytes: Buffer.concat([head, ...pairs]), chunk };
}

type Mode = 'Forward' | 'PackedForward' | 'CompressedPackedForward';

/** What flush_forward_mode writes (header, entries, options), as one buffer. */
function flush(
  mode: Mode,
  tag: string,
  records: readonly Sent[],
  version: Version,
  ack: boolean,
  base64 = false,
): { bytes: Buffer; chunk: string | null } {
  const data = entries(records, version);
  const gzip = mode === 'CompressedPackedForward';
  const sendOptions = ack || gzip;
  const opts = options(data, records.length, { ack, gzip, version, base64 });
  const body = mode === 'Forward' ? Buffer.concat([array(records.length), data]) : bin(gzip ? gzipSync(data) : data);
  return {
    bytes: Buffer.concat([array(sendOptions ? 3 : 2), str(tag), body, sendOptions ? opts.bytes : Buffer.alloc(0)]),
    chunk: opts.chunk,
  };
}

// ---- a connection, as Fluent Bit's upstream connection ------------------------------------------

class Peer {
  private received = Buffer.alloc(0);
  private readonly waiting: Array<() => void> = [];
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (data: Buffer) => {
      this.received = Buffer.concat([this.received, data]);
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      }),
    );
  }

  static open(port: number): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new Peer(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    for (const resume of this.waiting.splice(0)) resume();
  }

  /** The next msgpack message from the relay, decoded; null once it closed without one. */
  async next(): Promise<unknown> {
    for (;;) {
      if (this.received.length > 0) {
        const frame = frameEnd(this.received, 0, this.received.length, 1 << 20);
        if (frame.kind === 'complete') {
          const message: unknown = unpackr.unpack(this.received.subarray(0, frame.end));
          this.received = this.received.subarray(frame.end);
          return message;
        }
      }
      if (this.ended) return null;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }
}

/** Fluent Bit's flb_forward_config for the handshake. */
interface Identity {
  readonly selfHostname: string;
  readonly sharedKey: string;
}

/** 16 random bytes that are certainly not UTF-8 (0xff never is), as flb_random_bytes gives. */
function saltBytes(): Buffer {
  const salt = randomBytes(16);
  salt[0] = 0xff;
  salt[7] = 0xc3; // a lead byte...
  salt[8] = 0x28; // ...without its continuation
  return salt;
}

/**
 * secure_forward_handshake: waits for HELO, sends the PING built as secure_forward_ping builds
 * it, returns the PONG (decoded) with what is needed to check it.
 */
async function handshake(peer: Peer, id: Identity): Promise<{ pong: unknown[]; salt: Buffer; nonce: Buffer }> {
  const helo = await peer.next();
  assert.ok(Array.isArray(helo) && helo[0] === 'HELO', `HELO first (${JSON.stringify(helo)})`);
  const heloOptions = helo[1] as { nonce: Uint8Array; auth?: Uint8Array | string };
  const nonce = Buffer.from(heloOptions.nonce);
  assert.equal(nonce.length, 16);
  const salt = saltBytes();
  const host = Buffer.from(id.selfHostname);
  const key = Buffer.from(id.sharedKey);
  const digest = sha512Hex(salt, host, nonce, key);
  // auth present (''): username '' and sha512_hex(auth + username + password), both ''.
  const auth = Buffer.from(heloOptions.auth ?? '');
  const ping = Buffer.concat([
    Buffer.from([0x96]),
    str('PING'),
    str(id.selfHostname),
    Buffer.from([0xb0]),
    salt, // msgpack_pack_str(16) + the raw salt: a fixstr of 16 bytes
    str(digest),
    str(''),
    str(sha512Hex(auth)),
  ]);
  assert.equal(ping[1 + 5 + 1 + host.length], 0xb0, 'the salt is a fixstr');
  peer.write(ping);
  const pong = await peer.next();
  assert.ok(Array.isArray(pong), `a PONG (${JSON.stringify(pong)})`);
  return { pong, salt, nonce };
}

/** secure_forward_pong's checks (size >= 4, 'PONG', true), then Fluentd's check of the digest. */
function assertPongAccepts(pong: unknown[], salt: Buffer, nonce: Buffer, id: Identity, serverHostname: string): void {
  assert.ok(pong.length >= 4, 'Fluent Bit needs at least 4 elements');
  assert.equal(pong[0], 'PONG');
  assert.equal(pong[1], true, `authenticated (${String(pong[2])})`);
  // Fluentd's out_forward: 5 elements, another host name, sha512_hex(salt + server_hostname + nonce + key).
  assert.equal(pong.length, 5);
  assert.equal(pong[3], serverHostname);
  assert.notEqual(pong[3], id.selfHostname);
  assert.equal(pong[4], sha512Hex(salt, Buffer.from(serverHostname), nonce, Buffer.from(id.sharedKey)));
}

// ---- the relay ------------------------------------------------------------------------------

async function withRelay(
  props: Record<string, string>,
  body: (relay: TestRelay, server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await TestServer.start();
  const relay = await startPipeline(
    [{ plugin: 'forward', props: { listen: '127.0.0.1', port: '0', ...props } }],
    [
      {
        plugin: 'websocket',
        props: {
          host: '127.0.0.1',
          port: String(server.port),
          format: 'json_lines',
          match: '*',
          json_date_format: 'double',
        },
      },
    ],
  );
  try {
    await body(relay, server);
  } finally {
    await relay.stop();
    await server.stop();
  }
}

const SECURE = { selfHostname: 'fluent-bit-node', sharedKey: 'k3y-ünïcode' } as const;

function recordsOf(n: number, from: number): Sent[] {
  return Array.from({ length: n }, (_, i) => ({
    sec: 1_700_000_000 + from + i,
    nsec: 250_000_000,
    body: { log: `line ${from + i}`, n: from + i, é: 'ü' },
  }));
}

function assertArrived(server: TestServer, records: readonly Sent[]): void {
  const got = server.jsonRecords();
  for (const r of records) {
    const found = got.find((g) => g['n'] === r.body['n']);
    assert.ok(found, `record ${String(r.body['n'])} arrived`);
    const { date, ...body } = found;
    assert.deepEqual(body, r.body);
    assert.equal(date, r.sec + r.nsec / 1e9, 'the EventTime kept');
  }
}

for (const mode of ['Forward', 'CompressedPackedForward'] as const) {
  test(`Shared_Key: Fluent Bit's PING (salt a str of raw bytes) is accepted, the PONG is what it and Fluentd check, then ${mode} (>= 2) with acks`, async () => {
    await withRelay({ shared_key: SECURE.sharedKey, self_hostname: 'relay-host' }, async (relay, server) => {
      const peer = await Peer.open(relay.port);
      const { pong, salt, nonce } = await handshake(peer, SECURE);
      assertPongAccepts(pong, salt, nonce, SECURE, 'relay-host');
      // Two flushes on the kept-alive connection (ka_count > 0: no second handshake).
      const sent = [recordsOf(3, 0), recordsOf(2, 3)];
      for (const batch of sent) {
        const { bytes, chunk } = flush(mode, 'fb.app', batch, 2, true);
        peer.write(bytes);
        assert.deepEqual(await peer.next(), { ack: chunk }, 'forward_read_ack: {"ack": chunk}');
      }
      await waitFor(() => server.jsonRecords().length === 5, 5000, 'the records');
      assertArrived(server, sent.flat());
      assert.equal(relay.engine.stats().inputs['forward.0']!.records, 5);
      peer.socket.end();
    });
  });
}

test('Shared_Key: a PING with the wrong key (or from a salt taken as text) is refused with PONG false and closed', async () => {
  await withRelay({ shared_key: SECURE.sharedKey, self_hostname: 'relay-host' }, async (relay) => {
    const peer = await Peer.open(relay.port);
    const { pong } = await handshake(peer, { ...SECURE, sharedKey: 'not-the-key' });
    assert.deepEqual(pong.slice(0, 3), ['PONG', false, 'shared_key mismatch']);
    // Records sent anyway are not taken.
    peer.write(flush('Forward', 'fb.app', recordsOf(1, 0), 2, true).bytes);
    assert.equal(await peer.next(), null, 'closed without an ack');
    // The digest of the salt as msgpackr decoded it (invalid bytes → U+FFFD): what the relay used to compute.
    const second = await Peer.open(relay.port);
    const helo = (await second.next()) as [string, { nonce: Uint8Array }];
    const salt = saltBytes();
    const asText = Buffer.from(salt.toString('utf8'));
    const wrong = sha512Hex(
      asText,
      Buffer.from(SECURE.selfHostname),
      Buffer.from(helo[1].nonce),
      Buffer.from(SECURE.sharedKey),
    );
    second.write(
      Buffer.concat([
        Buffer.from([0x96]),
        str('PING'),
        str(SECURE.selfHostname),
        Buffer.from([0xb0]),
        salt,
        str(wrong),
        str(''),
        str(''),
      ]),
    );
    assert.deepEqual(((await second.next()) as unknown[]).slice(0, 2), ['PONG', false]);
    await second.closed;
    const stats = relay.engine.stats().inputs['forward.0']!;
    assert.equal(stats.records, 0);
    assert.equal(stats.closed.protocol_error, 2);
  });
});

// Fluent Bit 1.x: [EventTime, record] entries, minimal option maps; PackedForward was its mode.
// Fluent Bit >= 2: [[EventTime, {}], record] entries, map32 options with fluent_signal.
const WIRE: ReadonlyArray<{ readonly version: Version; readonly mode: Mode; readonly base64?: boolean }> = [
  { version: 1, mode: 'PackedForward' },
  { version: 1, mode: 'Forward' },
  { version: 1, mode: 'CompressedPackedForward' },
  { version: 2, mode: 'Forward' },
  { version: 2, mode: 'Forward', base64: true },
  { version: 2, mode: 'CompressedPackedForward' },
];
for (const { version, mode, base64 = false } of WIRE) {
  const name = `Fluent Bit ${version === 1 ? '1.x' : '>= 2'} ${mode}${base64 ? ' (base64 chunk, 5.x)' : ''}`;
  test(`${name}: the records arrive with their EventTime, the chunk is acked as Fluent Bit checks it`, async () => {
    await withRelay({}, async (relay, server) => {
      const peer = await Peer.open(relay.port);
      // 20 entries: an array16 header in Forward mode (msgpack-c: fixarray up to 15).
      const batch = recordsOf(20, 0);
      const { bytes, chunk } = flush(mode, 'fb.app', batch, version, true, base64);
      assert.match(chunk!, base64 ? /^[A-Za-z0-9+/]{22}==$/ : /^[0-9a-f]{32}$/);
      peer.write(bytes);
      assert.deepEqual(await peer.next(), { ack: chunk }, 'forward_read_ack: {"ack": chunk}');
      await waitFor(() => server.jsonRecords().length === 20, 5000, 'the records');
      assertArrived(server, batch);
      // Without Require_ack_response (and without compression): no options at all, no answer.
      if (mode !== 'CompressedPackedForward') {
        const quiet = recordsOf(2, 100);
        peer.write(flush(mode, 'fb.app', quiet, version, false).bytes);
        await waitFor(() => server.jsonRecords().length === 22, 5000, 'the records sent without options');
        assertArrived(server, quiet);
      }
      peer.socket.end();
      await peer.closed;
      const stats = relay.engine.stats().inputs['forward.0']!;
      assert.equal(stats.malformed, 0);
      assert.deepEqual(
        Object.values(stats.closed).filter((n) => n > 0),
        [],
        'no connection closed by the relay',
      );
    });
  });
}

test('Fluent Bit >= 2 metrics (fluent_signal 1, a cmetrics blob): acked and skipped, the connection goes on', async () => {
  await withRelay({}, async (relay, server) => {
    const peer = await Peer.open(relay.port);
    // flush_forward_mode for FLB_EVENT_TYPE_METRICS: [tag, bin(cmetrics msgpack), options without size].
    const blob = pack({
      meta: { cmetrics: {}, external: {}, processing: {} },
      metrics: [{ meta: { type: 0 }, values: [{ ts: 1, value: 2 }] }],
    });
    const opts = options(blob, 0, { ack: true, gzip: false, version: 2, signal: 1 });
    peer.write(Buffer.concat([array(3), str('fb.metrics'), bin(blob), opts.bytes]));
    assert.deepEqual(await peer.next(), { ack: opts.chunk });
    const batch = recordsOf(1, 0);
    const logs = flush('Forward', 'fb.app', batch, 2, true);
    peer.write(logs.bytes);
    assert.deepEqual(await peer.next(), { ack: logs.chunk });
    await waitFor(() => server.jsonRecords().length === 1, 5000, 'the log record');
    assertArrived(server, batch);
    const stats = relay.engine.stats().inputs['forward.0']!;
    assert.equal(stats.records, 1);
    assert.equal(stats.malformed, 1, 'the metrics message, counted');
    assert.equal(stats.closed.protocol_error, 0);
    peer.socket.end();
  });
});

test('time_as_integer (Forward mode compat, for Fluentd <= 0.12): [tag, [[uint, record], ...], {chunk, size}]', async () => {
  await withRelay({}, async (relay, server) => {
    const peer = await Peer.open(relay.port);
    const batch = recordsOf(3, 0).map((r) => ({ ...r, nsec: 0 }));
    // flb_forward_format_forward_compat_mode: msgpack_pack_uint64(sec) — a uint32 (ce) here.
    const data = Buffer.concat(batch.map((r) => Buffer.concat([Buffer.from([0x92]), uint(r.sec), pack(r.body)])));
    assert.equal(data[1], 0xce);
    const opts = options(data, batch.length, { ack: true, gzip: false, version: 2 });
    peer.write(Buffer.concat([array(3), str('fb.compat'), array(batch.length), data, opts.bytes]));
    assert.deepEqual(await peer.next(), { ack: opts.chunk });
    await waitFor(() => server.jsonRecords().length === 3, 5000, 'the records');
    assertArrived(server, batch);
    peer.socket.end();
  });
});

test('Message mode (a tag from the records): [tag, EventTime, record, {chunk}] per record, each acked', async () => {
  await withRelay({}, async (relay, server) => {
    const peer = await Peer.open(relay.port);
    const batch = recordsOf(3, 0);
    for (const r of batch) {
      const entry = Buffer.concat([eventTime(r.sec, r.nsec), pack(r.body)]);
      const opts = options(entry, 0, { ack: true, gzip: false, version: 2 }); // Message mode: no size
      peer.write(Buffer.concat([array(4), str(`fb.${String(r.body['n'])}`), entry, opts.bytes]));
      assert.deepEqual(await peer.next(), { ack: opts.chunk });
    }
    await waitFor(() => server.jsonRecords().length === 3, 5000, 'the records');
    assertArrived(server, batch);
    peer.socket.end();
  });
});

test('PackedForward whose payload is a str (msgpack before bin, as Fluentd v0.12 sends): the bytes are the entries', async () => {
  await withRelay({}, async (relay, server) => {
    const peer = await Peer.open(relay.port);
    const batch = recordsOf(4, 0);
    const data = entries(batch, 1); // EventTimes: bytes that are not UTF-8
    const opts = options(data, batch.length, { ack: true, gzip: false, version: 1 });
    const head = Buffer.from([0xdb, 0, 0, 0, 0]);
    head.writeUInt32BE(data.length, 1);
    peer.write(Buffer.concat([array(3), str('v0.app'), head, data, opts.bytes]));
    assert.deepEqual(await peer.next(), { ack: opts.chunk });
    await waitFor(() => server.jsonRecords().length === 4, 5000, 'the records');
    assertArrived(server, batch);
    assert.equal(relay.engine.stats().inputs['forward.0']!.malformed, 0);
    peer.socket.end();
  });
});
