// Frames the worker writes itself (masked in place in the encoder's pooled buffer) must be
// what a real WebSocket server reads, at every length boundary of the frame header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { frameInPlace } from '../src/outputs/websocket/worker/client-frame.js';
import { FRAME_HEADROOM } from '../src/encode/direct.js';
import { DirectJsonEncoder } from '../src/encode/json-direct.js';
import { ArenaPool, ChunkBuilder, type SealedChunk } from '../src/chunk/chunk-builder.js';
import { SegmentKind } from '../src/chunk/layout.js';

const gelf = { shortMessageKey: null, fullMessageKey: null, timestampKey: null, hostKey: null, levelKey: null };

test('frameInPlace: masked frames of 1 B to 70 KB, text and binary, arrive intact at a ws server', async () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  const received: { data: Buffer; binary: boolean }[] = [];
  server.on('connection', (peer) => peer.on('message', (data: Buffer, binary) => received.push({ data, binary })));
  const { port } = server.address() as { port: number };
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  let socket: Duplex | null = null;
  client.on('upgrade', (response: IncomingMessage) => {
    socket = response.socket;
  });
  await new Promise((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  try {
    const lengths = [1, 125, 126, 127, 65_535, 65_536, 70_000];
    const sent: Buffer[] = [];
    for (const [i, length] of lengths.entries()) {
      const payload = Buffer.alloc(length, `payload ${i} ✓ `);
      sent.push(Buffer.from(payload));
      const pooled = Buffer.alloc(FRAME_HEADROOM + length + 7).fill(0xee); // bytes around it stay
      payload.copy(pooled, FRAME_HEADROOM);
      const frame = frameInPlace(pooled.subarray(FRAME_HEADROOM, FRAME_HEADROOM + length), i % 2 === 1);
      assert.equal(pooled.at(-1), 0xee);
      // The payload was masked in place: what is in the pooled buffer is no longer the text.
      assert.notDeepEqual(pooled.subarray(FRAME_HEADROOM, FRAME_HEADROOM + length), sent[i]);
      socket!.write(frame);
    }
    const deadline = Date.now() + 5000;
    while (received.length < lengths.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(received.length, lengths.length);
    for (const [i, message] of received.entries()) {
      assert.equal(message.binary, i % 2 === 1, `frame ${i} opcode`);
      assert.ok(message.data.equals(sent[i]!), `frame ${i} of ${lengths[i]} bytes`);
    }
  } finally {
    client.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('frameInPlace refuses a payload without room for its header', () => {
  assert.throws(() => frameInPlace(Buffer.alloc(10), false), /no room for the frame header/);
});

test('masking a message in place leaves the chunk as it was: a retry encodes the same bytes again', () => {
  const sealed: SealedChunk[] = [];
  const builder = new ChunkBuilder(1 << 16, new ArenaPool(1 << 16, 1, true), (c) => sealed.push(c));
  const lines = Buffer.from('{"a":1}\n{"b":"two"}\n');
  builder.append(
    { input: 'tcp.0', tag: 't', peer: 'p', separator: '\n' },
    SegmentKind.JsonLines,
    { sec: 1_700_000_000, nsec: 0 },
    lines,
    0,
    lines.length,
    2,
  );
  builder.seal();
  const chunk = sealed[0]!;
  const encoder = new DirectJsonEncoder({
    format: 'json_lines',
    dateKey: 'date',
    dateFormat: 'epoch',
    gelf,
    hostname: 'h',
  });
  const first = encoder.encode(chunk.arena, chunk.byteLength, chunk.sources);
  const text = first.message!.toString();
  const arenaBefore = Buffer.from(Buffer.from(chunk.arena, 0, chunk.byteLength));
  frameInPlace(first.message!, false); // the first attempt: masked where it lies
  assert.notEqual(first.message!.toString(), text);
  first.release();
  assert.deepEqual(Buffer.from(chunk.arena, 0, chunk.byteLength), arenaBefore, 'the chunk is untouched');
  // The retry reuses the released work buffer and writes the same message again.
  const retry = encoder.encode(chunk.arena, chunk.byteLength, chunk.sources);
  assert.equal(retry.message!.toString(), text);
  assert.equal(text, '{"date":1700000000,"a":1}\n{"date":1700000000,"b":"two"}\n');
});
