// Both seed configs from the Fluent Bit docs, read verbatim from test/fixtures, relay the docs'
// own netcat example. Only the listen address and ports are swapped in memory, so the test
// stays on 127.0.0.1 and on free ports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../src/config/load.js';
import { resolvePipeline } from '../src/config/resolve.js';
import type { RawPipeline, RawSection } from '../src/config/raw.js';
import { Engine } from '../src/engine/engine.js';
import type { TcpInput } from '../src/inputs/tcp-input.js';
import { Logger } from '../src/log.js';
import { TestServer } from './support/test-server.js';
import { sendLines, waitFor } from './support/relay.js';

function fixture(name: string): string {
  return fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url));
}

function override(section: RawSection, values: Record<string, string>): RawSection {
  return {
    ...section,
    properties: section.properties.map((p) => {
      const key = p.key.toLowerCase();
      return Object.hasOwn(values, key) ? { ...p, value: values[key]! } : p;
    }),
  };
}

for (const seed of ['seed-000.conf', 'seed-001.conf', 'seed-001.yaml']) {
  test(`${seed} starts and relays the documented netcat record`, async () => {
    const server = await TestServer.start();
    const raw: RawPipeline = loadConfigFile(fixture(seed));
    const patched: RawPipeline = {
      service: raw.service,
      inputs: raw.inputs.map((s) => override(s, { listen: '127.0.0.1', port: '0' })),
      outputs: raw.outputs.map((s) => override(s, { host: '127.0.0.1', port: String(server.port) })),
    };
    const { config } = resolvePipeline(patched);
    const output = config.outputs[0]!;
    assert.equal(output.plugin, 'websocket');
    const engine = new Engine({ ...config, service: { ...config.service, flushSeconds: 0.05 } }, new Logger('error'));
    await engine.start();
    try {
      await sendLines((engine.inputs[0] as TcpInput).port, ['{"key 1": 123456789, "key 2": "abcdefg"}']);
      await waitFor(() => server.jsonRecords().length === 1, 5000, 'the record');
      const text = server.messages[0]!.data.toString();
      // Format json: one array per chunk, date key first.
      assert.match(text, /^\[\{"date":\d+(\.\d+)?,"key 1":123456789,"key 2":"abcdefg"\}\]$/);
      if (output.plugin === 'websocket' && seed.startsWith('seed-001')) {
        assert.equal(output.workers, 4);
        await waitFor(() => server.openConnections === 4, 5000, '4 connections');
      }
    } finally {
      await engine.shutdown();
      await server.stop();
    }
  });
}
