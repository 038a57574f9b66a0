// Input limits against real clients on real sockets (127.0.0.1): too many connections, silent
// and slowloris connections, forward headers claiming gigabytes, deep nesting, garbage between
// valid messages. Each misbehaving client is closed and counted by reason; the relay and the
// well-behaved clients go on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { pack, Unpackr } from 'msgpackr';
import fc from 'fast-check';
import { TestServer } from './support/test-server.js';
import { startPipeline, waitFor, sleep, type TestRelay } from './support/relay.js';
import type { CloseReason } from '../src/engine/stats.js';

interface Peer {
  readonly socket: Socket;
  /** Everything received, once the relay closed the connection. */
  readonly closed: Promise<Buffer>;
  isClosed(): boolean;
}

function open(port: number): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let done = false;
    const closed = new Promise<Buffer>((resolveClosed) => {
      socket.on('close', () => {
        done = true;
        resolveClosed(Buffer.concat(received));
      });
    });
    socket.on('data', (data: Buffer) => received.push(data));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, closed, isClosed: () => done }));
    socket.once('error', reject);
  });
}

function closedBy(relay: TestRelay, input: string, reason: CloseReason): number {
  return relay.engine.stats().inputs[input]!.closed[reason];
}

async function withRelay(
  inputs: Parameters<typeof startPipeline>[0],
  body: (relay: TestRelay, server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await TestServer.start();
  const relay = await startPipeline(inputs, [
    {
      plugin: 'websocket',
      props: {
        host: '127.0.0.1',
        port: String(server.port),
        format: 'json_lines',
        match: '*',
      },
    },
  ]);
  try {
    await body(relay, server);
  } finally {
    await relay.stop();
    await server.stop();
  }
}

const local = { listen: '127.0.0.1', port: '0' };

test('tcp: connections past net.max_connections are closed at accept and counted; a freed slot is usable', async () => {
  await withRelay([{ plugin: 'tcp', props: { ...local, 'net.max_connections': '2' } }], async (relay, server) => {
    const first = await open(relay.port);
    const second = await open(relay.port);
    await waitFor(() => relay.engine.stats().inputs['tcp.0']!.connections === 2, 3000, 'two connections held');
    const third = await open(relay.port);
    await third.closed;
    assert.equal(closedBy(relay, 'tcp.0', 'max_connections'), 1);
    assert.equal(first.isClosed() || second.isClosed(), false, 'the held connections stay open');
    first.socket.end();
    await first.closed;
    await waitFor(() => relay.engine.stats().inputs['tcp.0']!.connections === 1, 3000, 'slot freed');
    const fourth = await open(relay.port);
    fourth.socket.end('{"n":4}\n');
    second.socket.end('{"n":2}\n');
    await waitFor(() => server.jsonRecords().length === 2, 5000, 'both records');
    assert.deepEqual(
      server
        .jsonRecords()
        .map((r) => r['n'])
        .sort(),
      [2, 4],
    );
  });
});

test('tcp: a slowloris line is closed after net.record_timeout; a slow sender of whole lines is not', async () => {
  await withRelay([{ plugin: 'tcp', props: { ...local, 'net.record_timeout': '0.4' } }], async (relay, server) => {
    const slowloris = await open(relay.port);
    const steady = await open(relay.port);
    slowloris.socket.write('{"never":"');
    // Both send a byte or a line every 100 ms: only the one whose line never ends goes.
    for (let i = 0; i < 15 && !slowloris.isClosed(); i++) {
      slowloris.socket.write('x');
      steady.socket.write(`{"n":${i}}\n`);
      await sleep(100);
    }
    await slowloris.closed;
    assert.equal(closedBy(relay, 'tcp.0', 'record_timeout'), 1);
    assert.equal(steady.isClosed(), false);
    steady.socket.end();
    await waitFor(() => server.jsonRecords().length > 0, 5000, 'the steady records');
    assert.ok(
      server.jsonRecords().every((r) => typeof r['n'] === 'number'),
      'nothing of the slowloris line was relayed',
    );
    assert.ok(
      relay.logs.some((line) => line.includes('net.record_timeout')),
      'logged',
    );
  });
});

test('tcp: a silent connection is closed after net.io_timeout', async () => {
  await withRelay([{ plugin: 'tcp', props: { ...local, 'net.io_timeout': '0.3' } }], async (relay) => {
    const silent = await open(relay.port);
    await silent.closed;
    assert.equal(closedBy(relay, 'tcp.0', 'io_timeout'), 1);
  });
});

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

test('forward: a header claiming 4 GB closes the connection at once, without waiting for the bytes', async () => {
  await withRelay([{ plugin: 'forward', props: { ...local, 'net.record_timeout': '60' } }], async (relay) => {
    for (const header of [
      [0x93, 0xa1, 0x74, 0xdb, 0xff, 0xff, 0xff, 0xff],
      [0xdd, 0xff, 0xff, 0xff, 0xff],
      [0x92, 0xa1, 0x74, 0xdf, 0xff, 0xff, 0xff, 0xff],
    ]) {
      const peer = await open(relay.port);
      peer.socket.write(Buffer.from(header));
      // The record timeout is a minute away: closing now can only come from the header check.
      await peer.closed;
    }
    assert.equal(closedBy(relay, 'forward.0', 'oversized'), 3);
  });
});

test('forward: deep nesting, 0xc1 and bad shapes close that connection; valid messages before them and on other connections arrive', async () => {
  await withRelay([{ plugin: 'forward', props: { ...local } }], async (relay, server) => {
    const good = await open(relay.port);
    const cases: Buffer[] = [
      Buffer.alloc(100_000, 0x91), // [[[[...
      Buffer.from([0xc1]),
      pack({ not: 'an array' }),
      Buffer.from([0x81, 0x91, 0x01, 0x02]), // a map whose key is an array: msgpackr refuses it
    ];
    for (const [i, bad] of cases.entries()) {
      const peer = await open(relay.port);
      const before = pack(['bad.ok', [[1_700_000_000, { case: i }]], { chunk: `c${i}` }]);
      peer.socket.write(Buffer.concat([before, bad]));
      const answer = await peer.closed;
      // The valid message ahead of the garbage was buffered and acknowledged before the close.
      assert.deepEqual(unpackr.unpack(answer), { ack: `c${i}` }, `case ${i}`);
      good.socket.write(pack(['good', [[1_700_000_000, { between: i }]]]));
    }
    good.socket.end();
    await waitFor(() => server.jsonRecords().length === 2 * cases.length, 5000, 'valid records');
    const stats = relay.engine.stats().inputs['forward.0']!;
    assert.equal(stats.closed.protocol_error, cases.length);
    assert.equal(stats.records, 2 * cases.length, 'no record invented');
  });
});

test('forward: a message dribbled a byte at a time past net.record_timeout is closed', async () => {
  await withRelay([{ plugin: 'forward', props: { ...local, 'net.record_timeout': '0.3' } }], async (relay) => {
    const peer = await open(relay.port);
    const message = pack(['t', [[1, { pad: 'x'.repeat(100) }]]]);
    for (let i = 0; i < message.length - 1 && !peer.isClosed(); i++) {
      peer.socket.write(message.subarray(i, i + 1));
      await sleep(50);
    }
    await peer.closed;
    assert.equal(closedBy(relay, 'forward.0', 'record_timeout'), 1);
    assert.equal(relay.engine.stats().inputs['forward.0']!.records, 0);
  });
});

function post(
  port: number,
  body: Buffer | string,
  type = 'application/json',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/app', headers: { 'content-type': type } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('http: deeply nested JSON is a 400 (it used to crash the relay), and the next request is served', async () => {
  await withRelay([{ plugin: 'http', props: { ...local } }], async (relay, server) => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const refused = await post(relay.port, deep);
    assert.equal(refused.status, 400);
    assert.match(refused.body, /nested deeper than 512/);
    const msgpackDeep = Buffer.concat([Buffer.alloc(50_000, 0x91), Buffer.from([0x80])]);
    assert.equal((await post(relay.port, msgpackDeep, 'application/msgpack')).status, 400);
    assert.equal((await post(relay.port, Buffer.from([0xff, 0xfe, 0x7b]), 'application/json')).status, 400);
    assert.equal((await post(relay.port, '{"ok":1}')).status, 204);
    await waitFor(() => server.jsonRecords().length === 1, 5000, 'the valid record');
    assert.equal(relay.engine.stats().inputs['http.0']!.malformed, 3);
  });
});

test('http: a request whose headers never complete is answered 408 and closed after net.record_timeout', async () => {
  await withRelay([{ plugin: 'http', props: { ...local, 'net.record_timeout': '0.3' } }], async (relay) => {
    const peer = await open(relay.port);
    peer.socket.write('POST /app HTTP/1.1\r\nHost: x\r\n');
    for (let i = 0; i < 40 && !peer.isClosed(); i++) {
      peer.socket.write(`X-${i}: y\r\n`);
      await sleep(100);
    }
    const answer = (await peer.closed).toString();
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.equal(closedBy(relay, 'http.0', 'record_timeout'), 1);
    // A body that dribbles in is the same.
    const body = await open(relay.port);
    body.socket.write(
      'POST /app HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    for (let i = 0; i < 40 && !body.isClosed(); i++) {
      body.socket.write(' ');
      await sleep(100);
    }
    await body.closed;
    assert.equal(closedBy(relay, 'http.0', 'record_timeout'), 2);
  });
});

test('http: bodies over buffer_max_size get 413 and are counted; garbage requests get 400', async () => {
  await withRelay(
    [{ plugin: 'http', props: { ...local, buffer_max_size: '1K', 'net.max_connections': '4' } }],
    async (relay) => {
      const big = await post(relay.port, `{"a":"${'x'.repeat(5000)}"}`).catch(() => ({ status: 413, body: '' }));
      assert.equal(big.status, 413);
      const garbage = await open(relay.port);
      garbage.socket.write('\u0000\u0001 NOT HTTP\r\n\r\n');
      assert.match((await garbage.closed).toString(), /^HTTP\/1\.1 400/);
      const stats = relay.engine.stats().inputs['http.0']!;
      assert.equal(stats.oversized, 1);
      assert.equal(stats.closed.oversized, 1);
      assert.equal(stats.closed.protocol_error, 1);
    },
  );
});

test('tcp: invalid UTF-8 makes a JSON line malformed (skipped, counted); with format none it is kept with U+FFFD', async () => {
  const line = Buffer.concat([
    Buffer.from('{"bad":"'),
    Buffer.from([0xff, 0xc3, 0x28]),
    Buffer.from('"}\n{"good":1}\n'),
  ]);
  for (const format of ['json', 'none'] as const) {
    await withRelay([{ plugin: 'tcp', props: { ...local, format } }], async (relay, server) => {
      const peer = await open(relay.port);
      peer.socket.end(line);
      await waitFor(() => server.jsonRecords().length === (format === 'json' ? 1 : 2), 5000, `${format} records`);
      const records = server.jsonRecords();
      if (format === 'json') {
        assert.deepEqual(
          records.map((r) => r['good']),
          [1],
        );
        await waitFor(() => relay.engine.stats().inputs['tcp.0']!.malformed === 1, 3000, 'counted malformed');
      } else {
        assert.equal(records[0]!['log'], '{"bad":"\ufffd\ufffd("}');
        assert.equal(records[1]!['log'], '{"good":1}');
      }
    });
  }
});

test('forward and http: 64-bit integers arrive as numbers (a BigInt killed the worker and its chunk); a bad URL escape is a tag', async () => {
  await withRelay(
    [
      { plugin: 'forward', props: { ...local } },
      { plugin: 'http', props: { listen: '127.0.0.1', port: '0' } },
    ],
    async (relay, server) => {
      // ['t', [[1700000000, {"a": uint64 max, "b": int64 min + 1, "c": 2^32 as uint64}]]]
      const message = Buffer.from(
        `92a1749192ce6553f10083a161cfffffffffffffffffa162d38000000000000001a163cf${'0000000100000000'}`,
        'hex',
      );
      const peer = await open(relay.port);
      peer.socket.end(message);
      const httpPort = (relay.engine.inputs[1] as unknown as { port: number }).port;
      const body = Buffer.from('81a164cf0000000000000007', 'hex'); // {"d": 7 as uint64}
      const answer = await new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: httpPort,
            method: 'POST',
            path: '/app/%E0%A4%A',
            headers: { 'content-type': 'application/msgpack' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(answer, 204);
      await waitFor(() => server.jsonRecords().length === 2, 5000, 'both records');
      const records = server.jsonRecords();
      const forward = records.find((r) => 'a' in r)!;
      assert.equal(forward['a'], 18446744073709552000);
      assert.equal(forward['b'], -9223372036854776000); // int64 min + 1 as the nearest double
      assert.equal(forward['c'], 4294967296);
      assert.equal(records.find((r) => 'd' in r)!['d'], 7);
      assert.equal(relay.engine.stats().outputs['websocket.0']!.dropped.worker_crash, 0);
    },
  );
});

test('forward: valid messages cut into any reads arrive whole; none lost, none invented (property, real sockets)', async () => {
  const relay = await startPipeline(
    [{ plugin: 'forward', props: { ...local } }],
    [{ plugin: 'null', props: { match: '*' } }],
  );
  try {
    const entry = fc.record({ log: fc.string({ maxLength: 300 }), n: fc.integer() }).map((r) => [1_700_000_000, r]);
    const message = fc
      .tuple(fc.array(entry, { minLength: 1, maxLength: 20 }), fc.constantFrom('Forward', 'PackedForward', 'Message'))
      .map(([entries, mode]) => ({
        bytes:
          mode === 'Message'
            ? pack(['m', entries[0]![0], entries[0]![1]])
            : pack(['f', mode === 'Forward' ? entries : Buffer.concat(entries.map((e) => pack(e)))]),
        records: mode === 'Message' ? 1 : entries.length,
      }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(message, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (messages, cuts) => {
          const before = relay.engine.stats().inputs['forward.0']!.records;
          const stream = Buffer.concat(messages.map((m) => m.bytes));
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const peer = await open(relay.port);
          peer.socket.setNoDelay(true);
          let from = 0;
          for (const p of [...points, stream.length]) {
            if (p > from) peer.socket.write(stream.subarray(from, p));
            from = Math.max(from, p);
            await sleep(1); // separate reads, most of the time
          }
          peer.socket.end();
          await peer.closed;
          const expected = messages.reduce((sum, m) => sum + m.records, 0);
          await waitFor(() => relay.engine.stats().inputs['forward.0']!.records - before >= expected, 3000, 'records');
          assert.equal(relay.engine.stats().inputs['forward.0']!.records - before, expected);
        },
      ),
      { numRuns: 25 },
    );
    const stats = relay.engine.stats().inputs['forward.0']!;
    assert.deepEqual(
      Object.values(stats.closed).filter((n) => n > 0),
      [],
      'no connection closed by the relay',
    );
  } finally {
    await relay.stop();
  }
});

test('forward: a gzip bomb (CompressedPackedForward) is refused once it decompresses past 4 × buffer_max_size', async () => {
  await withRelay([{ plugin: 'forward', props: { ...local, buffer_max_size: '256K' } }], async (relay, server) => {
    const bomb = gzipSync(Buffer.alloc(64 << 20)); // 64 MB of zeros: each would be an entry
    const peer = await open(relay.port);
    peer.socket.write(pack(['bomb', bomb, { compressed: 'gzip', chunk: 'b' }]));
    const answer = await peer.closed;
    assert.equal(answer.length, 0, 'no ack');
    assert.equal(closedBy(relay, 'forward.0', 'protocol_error'), 1);
    // Within the bound, compressed messages are fine.
    const entries = Buffer.concat(Array.from({ length: 100 }, (_, n) => pack([1_700_000_000, { n }])));
    const good = await open(relay.port);
    good.socket.end(pack(['ok', gzipSync(entries), { compressed: 'gzip' }]));
    await waitFor(() => server.jsonRecords().length === 100, 5000, 'the compressed records');
  });
});
