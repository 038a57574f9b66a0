// The load harness's own pieces: what the generator sends (lines and forward batches), the
// chart, and the fan-out checker run for real (noop-fanout.js + fanout-sink.js as child
// processes on 127.0.0.1), including that it notices a duplicated record.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Unpackr } from 'msgpackr';
import { LINE_BYTES, buildBatch, stamp } from '../load/batches.js';
import { chartSvg } from '../load/chart.js';
import { freePort, waitForTcp, spawnNode, kill } from '../load/children.js';
import { asSinkMessage, type SinkStats } from '../load/protocol.js';
import { summarize } from '../load/report.js';
import { resultPaths } from '../load/results-paths.js';
import { readFileSync } from 'node:fs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('line batches: 115-byte canonical JSON lines with consecutive seq and the stamped t', () => {
  const b = buildBatch('lines', 1000, 50, 'bench');
  stamp(b, 1_795_421_327_196_253);
  const lines = b.buf.toString('latin1').split('\n').slice(0, -1);
  assert.equal(lines.length, 50);
  lines.forEach((line, i) => {
    assert.equal(line.length + 1, LINE_BYTES);
    const r = JSON.parse(line) as { seq: number; t: number };
    assert.equal(r.seq, 1000 + i);
    assert.equal(r.t, 1_795_421_327_196_253);
    assert.equal(JSON.stringify(r), line, 'canonical: the relay can copy it as is');
  });
});

test('forward batches: a PackedForward message whose records equal the lines', () => {
  const f = buildBatch('forward', 7, 20, 'bench.fw');
  const l = buildBatch('lines', 7, 20, 'bench.fw');
  stamp(f, 1_795_421_327_196_253);
  stamp(l, 1_795_421_327_196_253);
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
  const message = unpackr.unpack(f.buf) as [string, Uint8Array, { size: number }];
  assert.equal(message[0], 'bench.fw');
  assert.deepEqual(message[2], { size: 20 });
  const entries = unpackr.unpackMultiple(Buffer.from(message[1])) as [unknown, Record<string, unknown>][];
  const lines = l.buf.toString('latin1').split('\n').slice(0, -1);
  assert.equal(entries.length, 20);
  entries.forEach(([, record], i) => assert.deepEqual(record, JSON.parse(lines[i]!)));
});

test('chart: one bar per scenario, a failed one in red, valid text escaping', () => {
  const ok = summarize('noop-ceiling', []);
  const svg = chartSvg(
    [
      { ...ok, error: null, recordsPerS: 1_000_000, deliveredPerS: 1_000_000, missing: 0 },
      {
        ...ok,
        scenario: 'wsrelay a<b',
        error: null,
        recordsPerS: 600_000,
        deliveredPerS: 600_000,
        missing: 0,
        ceiling: 'noop-ceiling',
      },
      { ...ok, scenario: 'wsrelay broken', error: 'relay exited' },
    ],
    'test run',
  );
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<rect x=/g) ?? []).length, 3);
  assert.match(svg, /wsrelay a&lt;b/);
  assert.match(svg, /600k\/s · 60% of ceiling/);
  assert.match(svg, /class="bad"/);
  assert.doesNotMatch(svg, /a<b/);
});

/** Runs noop-fanout + fanout-sink with `clients` clients and sends `lines` to the input. */
async function fanoutRun(clients: number, n: number, lines: string): Promise<SinkStats> {
  const inPort = await freePort();
  const wsPort = await freePort();
  const relay = spawnNode(
    'noop-fanout',
    ['dist/load/noop-fanout.js', '--port', `${inPort}`, '--ws-port', `${wsPort}`],
    root,
  );
  try {
    assert.equal(await waitForTcp(inPort, relay, 10_000), null);
    const sink = fork(
      path.join(root, 'dist/load/fanout-sink.js'),
      ['--url', `ws://127.0.0.1:${wsPort}/`, '--records', `${n}`, '--clients', `${clients}`, '--validate-every', '1'],
      { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
    );
    try {
      const sent = clients * (lines.split('\n').length - 1);
      let asked = false;
      const ask = (): void => {
        if (!asked) sink.send({ type: 'report' });
        asked = true;
      };
      const stats = new Promise<SinkStats>((resolve) => {
        sink.on('message', (raw: unknown) => {
          const m = asSinkMessage(raw);
          if (m?.type === 'connection' && m.connections === clients) {
            const socket = net.connect({ host: '127.0.0.1', port: inPort }, () => socket.end(lines));
          }
          // Every line sent has reached every client: a run that is not complete never will be.
          if (m?.type === 'progress' && m.received >= sent) ask();
          if (m?.type === 'stats') resolve(m.stats);
        });
      });
      // Complete runs report by themselves; otherwise ask once everything arrived (or after a while).
      const timer = setTimeout(ask, 10_000);
      const s = await stats;
      clearTimeout(timer);
      return s;
    } finally {
      sink.kill();
    }
  } finally {
    await kill(relay);
  }
}

const line = (seq: number): string => `{"seq":${seq},"t":1795421327196253,"msg":"x"}\n`;

test('fan-out checker: every client got every seq once (real processes)', async () => {
  const n = 3000;
  const s = await fanoutRun(5, n, Array.from({ length: n }, (_, i) => line(i)).join(''));
  assert.equal(s.missing, 0);
  assert.equal(s.duplicates, 0);
  assert.equal(s.fanout?.clients, 5);
  assert.equal(s.fanout?.completeClients, 5);
  assert.equal(s.fanout?.deliveries, 5 * n);
  assert.equal(s.invalidMessages, 0);
  assert.ok(s.validatedMessages > 0);
});

test('fan-out checker: a duplicated and a missing seq are reported', async () => {
  const n = 1000;
  const seqs = Array.from({ length: n }, (_, i) => (i === 500 ? 499 : i)); // 500 missing, 499 twice
  const s = await fanoutRun(3, n, seqs.map(line).join(''));
  assert.equal(s.missing, 1);
  assert.equal(s.duplicates, 1);
  assert.equal(s.fanout?.completeClients, 0);
});

test('make bench writes load/results/bench.json and bench.svg by default; --json FILE overrides', () => {
  assert.deepEqual(resultPaths(undefined, '/repo'), {
    json: '/repo/load/results/bench.json',
    svg: '/repo/load/results/bench.svg',
  });
  assert.deepEqual(resultPaths('/tmp/r/final.json', '/repo'), { json: '/tmp/r/final.json', svg: '/tmp/r/final.svg' });
  assert.deepEqual(resultPaths('out', '/repo'), { json: path.resolve('out'), svg: `${path.resolve('out')}.svg` });
  // The default directory is kept out of git.
  assert.match(readFileSync(path.join(root, '.gitignore'), 'utf8'), /^load\/results\/$/m);
});
