// The forward input, driven by a real Fluentd forward client library (@fluent-org/logger).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { FluentClient, EventTime } from '@fluent-org/logger';
import { Unpackr, pack } from 'msgpackr';
import { TestServer } from './support/test-server.js';
import { startPipeline, waitFor } from './support/relay.js';
import { countPackedEntries } from '../src/inputs/forward-entries.js';

const modes = ['Message', 'Forward', 'PackedForward', 'CompressedPackedForward'] as const;

test('every event mode arrives with its tag and time, and acks come back', async () => {
  const server = await TestServer.start();
  const relay = await startPipeline(
    [{ plugin: 'forward', props: { listen: '127.0.0.1', port: '0' } }],
    [
      {
        plugin: 'websocket',
        props: {
          host: '127.0.0.1',
          port: String(server.port),
          format: 'json_lines',
          match: 'app.*',
          json_date_format: 'epoch',
        },
      },
    ],
  );
  try {
    for (const [i, eventMode] of modes.entries()) {
      const client = new FluentClient('app', {
        socket: { host: '127.0.0.1', port: relay.port, timeout: 3000 },
        eventMode,
        ack: { ackTimeout: 5000 },
        flushInterval: 10,
      });
      // With ack, emit resolves only when the relay acknowledged the buffered chunk.
      await client.emit(eventMode.toLowerCase(), { mode: eventMode, n: i }, new EventTime(1_700_000_000 + i, 5));
      await client.shutdown();
    }
    await waitFor(() => server.jsonRecords().length === modes.length, 5000, 'one record per mode');
    const records = server.jsonRecords();
    for (const [i, mode] of modes.entries()) {
      const record = records.find((r) => r['mode'] === mode);
      assert.ok(record, `${mode} arrived`);
      assert.equal(record['date'], 1_700_000_000 + i, `${mode} kept its time`);
    }
    // The server reads a message before its confirmation (the pong) is back at the relay.
    await waitFor(() => relay.engine.stats().outputs['websocket.0']!.records === 4, 5000, 'the flush confirmed');
    const stats = relay.engine.stats();
    assert.equal(stats.inputs['forward.0']!.records, 4);
    assert.equal(stats.outputs['websocket.0']!.records, 4);
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('shared_key: the right key is accepted, a wrong one refused', async () => {
  const relay = await startPipeline(
    [{ plugin: 'forward', props: { listen: '127.0.0.1', port: '0', shared_key: 's3cret', self_hostname: 'relay' } }],
    [{ plugin: 'null', props: { match: '*' } }],
  );
  try {
    const good = new FluentClient('t', {
      socket: { host: '127.0.0.1', port: relay.port, timeout: 3000 },
      security: { clientHostname: 'client', sharedKey: 's3cret' },
      ack: { ackTimeout: 3000 },
    });
    await good.emit('x', { ok: true });
    await good.shutdown();
    await waitFor(() => relay.engine.stats().outputs['null.0']!.records === 1, 5000, 'authenticated record');
    // A wrong key, spoken by hand: HELO → PING with a bad digest → PONG false, then closed.
    const replies: unknown[] = [];
    const raw = connect(relay.port, '127.0.0.1');
    raw.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => raw.on('close', () => resolve()));
    raw.on('data', (data: Buffer) => {
      for (const message of new Unpackr({ useRecords: false }).unpackMultiple(data) as unknown[]) {
        replies.push(message);
        if (Array.isArray(message) && message[0] === 'HELO') {
          raw.write(pack(['PING', 'client', 'salt', 'not-the-digest', '', '']));
          raw.write(pack(['t.x', 1_700_000_000, { smuggled: true }]));
        }
      }
    });
    await closed;
    assert.equal((replies[0] as unknown[])[0], 'HELO');
    assert.deepEqual((replies[1] as unknown[]).slice(0, 3), ['PONG', false, 'shared_key mismatch']);
    assert.ok(relay.logs.some((l) => l.includes('shared_key mismatch')));
    assert.equal(relay.engine.stats().outputs['null.0']!.records, 1);
  } finally {
    await relay.stop();
  }
});

/** A PackedForward message, written by hand: [tag, bin(entries), {chunk}]. */
function packedForward(tag: string, entries: Buffer, chunk: string): Buffer {
  return pack([tag, entries, { chunk, size: 1 }]);
}

function sendAndAwaitAck(port: number, message: Buffer, chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', reject);
    socket.on('data', (data: Buffer) => {
      const answer = new Unpackr({ mapsAsObjects: true }).unpack(data) as { ack?: string };
      if (answer.ack === chunk) {
        socket.end();
        resolve();
      }
    });
    socket.write(message);
  });
}

test('PackedForward entries of the usual shape are buffered as they came and arrive as the decoding path writes them', async () => {
  const server = await TestServer.start();
  const relay = await startPipeline(
    [{ plugin: 'forward', props: { listen: '127.0.0.1', port: '0' } }],
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
    const eventTime = (sec: number, nsec: number): Buffer => {
      const b = Buffer.alloc(10);
      b[0] = 0xd7;
      b[1] = 0x00;
      b.writeUInt32BE(sec, 2);
      b.writeUInt32BE(nsec, 6);
      return b;
    };
    const record = { msg: 'hello', n: 2 ** 40, f: 1.5, nested: { list: [1, 'two', null, true] }, é: 'ü' };
    // EventTime, integer and float times: the shapes a Fluent Bit or fluent-logger client sends.
    const fast = Buffer.concat([
      Buffer.from([0x92]),
      eventTime(1_700_000_000, 250_000_000),
      pack({ ...record, i: 0 }),
      pack([1_700_000_001, { ...record, i: 1 }]),
      pack([1_700_000_002.5, { ...record, i: 2 }]),
    ]);
    // A time of another type (a string): the entries are rewritten, with the arrival time.
    const slow = Buffer.concat([pack(['not a time', { ...record, i: 3 }]), pack([1_700_000_004, { ...record, i: 4 }])]);
    assert.equal(countPackedEntries(fast, 1 << 20), 3, 'buffered as it came');
    assert.equal(countPackedEntries(slow, 1 << 20), null, 'rewritten');
    await sendAndAwaitAck(relay.port, packedForward('fast', fast, 'c1'), 'c1');
    await sendAndAwaitAck(relay.port, packedForward('slow', slow, 'c2'), 'c2');
    await waitFor(() => server.jsonRecords().length === 5, 5000, 'five records');
    const records = server.jsonRecords().sort((a, b) => Number(a['i']) - Number(b['i']));
    for (const [i, r] of records.entries()) {
      const { date, ...body } = r;
      assert.deepEqual(body, { ...record, i }, `record ${i}`);
      if (i !== 3) assert.equal(date, [1_700_000_000.25, 1_700_000_001, 1_700_000_002.5, 0, 1_700_000_004][i]);
    }
    const stats = relay.engine.stats();
    assert.equal(stats.inputs['forward.0']!.records, 5);
    assert.equal(stats.inputs['forward.0']!.malformed, 0);
    await waitFor(() => relay.engine.stats().outputs['websocket.0']!.records === 5, 5000, 'the flush confirmed');
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('garbage on one connection closes it and leaves the others alone', async () => {
  const relay = await startPipeline(
    [{ plugin: 'forward', props: { listen: '127.0.0.1', port: '0' } }],
    [{ plugin: 'null', props: { match: '*' } }],
  );
  try {
    const garbage = connect(relay.port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => garbage.on('close', () => resolve()));
    garbage.on('error', () => undefined);
    garbage.write(Buffer.from([0xc1, 0xc1, 0xc1, 0x92, 0x01])); // 0xc1 is never valid msgpack
    await closed;
    const client = new FluentClient('ok', { socket: { host: '127.0.0.1', port: relay.port }, ack: {} });
    await client.emit('still', { fine: 1 });
    await client.shutdown();
    await waitFor(() => relay.engine.stats().outputs['null.0']!.records === 1, 5000, 'the good record');
    assert.ok(
      relay.logs.some((l) => l.includes('closing connection')),
      relay.logs.join(''),
    );
  } finally {
    await relay.stop();
  }
});
