// The byte-level JSON path must produce exactly what the object encoders produce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArenaPool, ChunkBuilder, type SealedChunk } from '../src/chunk/chunk-builder.js';
import { decodeChunk } from '../src/chunk/segments.js';
import { SegmentKind, type ChunkSource } from '../src/chunk/layout.js';
import { createEncoder } from '../src/encode/index.js';
import { DirectJsonEncoder } from '../src/encode/json-direct.js';
import type { EncoderOptions } from '../src/encode/types.js';

const json: ChunkSource = { input: 'tcp.0', tag: 't', peer: '127.0.0.1:1', separator: '\n' };
const other: ChunkSource = { input: 'tcp.1', tag: 't', peer: '127.0.0.1:2', separator: ';' };
const gelf = { shortMessageKey: null, fullMessageKey: null, timestampKey: null, hostKey: null, levelKey: null };

const lines = [
  '{"seq":1,"msg":"GET /x 200","ok":true,"n":null,"l":[1,{"a":"b"}]}',
  '{}',
  '{"date":"mine","x":1}',
  '{"a": 1.0, "b": "\\u0041"}',
  'not json',
  '[1,2]',
  '  {"padded":true}  ',
  '{"q":"say \\"hi\\"\\n","é":"ü"}',
  '{"b":1,"2":"x"}',
  '{"big":12345678901234567890}',
  '{"t":1795421327196.25}',
];

function chunk(): SealedChunk {
  const sealed: SealedChunk[] = [];
  const builder = new ChunkBuilder(1 << 16, new ArenaPool(1 << 16, 1), (c) => sealed.push(c));
  const data = Buffer.from(lines.join('\r\n') + '\n');
  builder.append(json, SegmentKind.JsonLines, { sec: 1795421327, nsec: 196247000 }, data, 0, data.length, lines.length);
  const raw = Buffer.from('plain;text with "quotes";');
  builder.append(other, SegmentKind.RawLines, { sec: 1795421328, nsec: 0 }, raw, 0, raw.length, 2);
  builder.append(json, SegmentKind.JsonLines, { sec: 1795421329, nsec: 5000 }, Buffer.from('{"last":1}\n'), 0, 11, 1);
  builder.seal();
  return sealed[0]!;
}

for (const format of ['json_lines', 'json_stream', 'json'] as const) {
  for (const dateKey of ['date', null, '@timestamp']) {
    test(`${format}, date key ${dateKey}: byte path == object path`, () => {
      const options: EncoderOptions = { format, dateKey, dateFormat: 'double', gelf, hostname: 'h' };
      const c = chunk();
      const expectedRecords = decodeChunk(c.arena, c.byteLength, c.sources);
      const expected = createEncoder(options).encode(expectedRecords.records).toString();
      const direct = new DirectJsonEncoder(options).encode(c.arena, c.byteLength, c.sources);
      assert.equal(direct.message?.toString(), expected);
      assert.equal(direct.records, expectedRecords.records.length);
      assert.deepEqual(
        direct.malformed.map((m) => [m.source, m.count]),
        [[0, 2]],
      );
    });
  }
}

test('lines of every length around the word copy and its 512-byte cut-over, from a shared arena, across segments', () => {
  const sealed: SealedChunk[] = [];
  const builder = new ChunkBuilder(1 << 20, new ArenaPool(1 << 20, 1, true), (c) => sealed.push(c));
  let expectedLines = 0;
  for (let length = 2; length <= 700; length += length < 40 || (length > 500 && length < 530) ? 1 : 7) {
    // {"k":"xxx…"} of exactly `length` bytes (the shortest possible is {} at 2), with UTF-8 in it.
    const text = length === 2 ? '{}' : `{"k":"${'é'.repeat(Math.max(0, Math.floor((length - 8) / 4)))}`;
    const line = length === 2 ? text : text + 'x'.repeat(Math.max(0, length - Buffer.byteLength(text) - 2)) + '"}';
    const data = Buffer.from(`${line}\n${line}\n`);
    // A new segment (and time) per length: the date prefix changes between segments.
    builder.append(
      json,
      SegmentKind.JsonLines,
      { sec: 1795421327 + (length % 3), nsec: length * 1000 },
      data,
      0,
      data.length,
      2,
    );
    expectedLines += 2;
  }
  builder.seal();
  const c = sealed[0]!;
  assert.ok(c.arena instanceof SharedArrayBuffer);
  for (const dateKey of ['date', null]) {
    const options: EncoderOptions = { format: 'json_lines', dateKey, dateFormat: 'iso8601', gelf, hostname: 'h' };
    const expected = createEncoder(options)
      .encode(decodeChunk(c.arena, c.byteLength, c.sources).records)
      .toString();
    const encoder = new DirectJsonEncoder(options);
    // Twice: the second encode reuses the first one's work buffer.
    for (let round = 0; round < 2; round++) {
      const direct = encoder.encode(c.arena, c.byteLength, c.sources);
      assert.equal(direct.records, expectedLines);
      assert.equal(direct.message?.toString(), expected, `date key ${dateKey}, round ${round}`);
      direct.release();
    }
  }
});
