// Bad input is counted, reported once per burst with its peer, and skipped; nothing else is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestServer } from './support/test-server.js';
import { sendLines, startRelay, waitFor } from './support/relay.js';

test('malformed and oversized lines are counted, logged once per burst, and the rest delivered', async () => {
  const server = await TestServer.start();
  const relay = await startRelay(server.port, {}, { buffer_size: '1' /* KB */ });
  try {
    const good = Array.from({ length: 100 }, (_, seq) => `{"seq":${seq}}`);
    const bad = ['not json', '[1,2,3]', '"a string"', '{"unterminated": ', 'null'];
    const oversized = [`{"big":"${'x'.repeat(2000)}"}`, `{"big":"${'y'.repeat(5000)}"}`];
    const mixed: string[] = [];
    good.forEach((line, i) => {
      mixed.push(line);
      if (i % 20 === 0) mixed.push(bad[(i / 20) % bad.length]!);
      if (i === 50) mixed.push(...oversized);
    });
    await sendLines(relay.port, mixed);
    const input = relay.engine.stats().inputs['tcp.0']!;
    const output = relay.engine.stats().outputs['websocket.0']!;
    await waitFor(() => output.records === 100 && input.malformed === 5, 5000, 'counters');
    assert.deepEqual(
      server.jsonRecords().map((r) => r['seq']),
      good.map((_, i) => i),
    );
    assert.equal(input.oversized, 2);
    assert.equal(input.malformed, 5);
    const malformedLogs = relay.logs.filter((l) => l.includes('invalid record'));
    assert.equal(malformedLogs.length, 1, 'one warning for the burst');
    assert.match(malformedLogs[0]!, /from 127\.0\.0\.1:\d+/);
    const oversizedLogs = relay.logs.filter((l) => l.includes('Buffer_Size'));
    assert.equal(oversizedLogs.length, 1);
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('Format none wraps each line as {"log": line}, with a custom separator', async () => {
  const server = await TestServer.start();
  const relay = await startRelay(server.port, { json_date_key: 'false' }, { format: 'none', separator: ';' });
  try {
    await sendLines(relay.port, ['plain text', 'with "quotes"'], 1, ';');
    await waitFor(() => server.messages.length > 0, 5000, 'a message');
    assert.equal(server.messages[0]!.data.toString(), '{"log":"plain text"}\n{"log":"with \\"quotes\\""}\n');
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('json_stream and gelf end to end: text frames with the expected shape', async () => {
  for (const [format, pattern] of [
    ['json_stream', /^\{"date":\d+(\.\d+)?,"log":"boom","n":1\}\n$/],
    ['gelf', /^\{"version":"1\.1","host":"[^"]+","short_message":"boom","timestamp":\d+\.\d{3}(,"[^"]+":[^,]+)*\}\n$/],
  ] as const) {
    const server = await TestServer.start();
    const relay = await startRelay(server.port, { format });
    try {
      await sendLines(relay.port, ['{"log":"boom","n":1}']);
      await waitFor(() => server.messages.length > 0, 5000, `a ${format} message`);
      assert.equal(server.messages[0]!.binary, false);
      assert.match(server.messages[0]!.data.toString(), pattern);
    } finally {
      await relay.stop();
      await server.stop();
    }
  }
});
