// At-least-once across kill -9 with the forward protocol's acks: a real relay process with
// `storage.type filesystem`, a Fluentd-style sender that waits for each `ack`, the WebSocket
// server not reading (so acknowledged records are only inside the relay), kill -9, restart on the
// same storage.path: every acknowledged record must arrive. (The http variant, the worker thread
// killed and the full disk with http are in faults-crash.test.ts.) Then a full disk under forward.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr, Unpackr } from 'msgpackr';
import { SeqLedger } from './support/fault-ledger.js';
import { RelayProcess } from './support/fault-relay.js';
import { Tally } from './support/fault-report.js';
import { sleep, startPipeline, waitFor } from './support/relay.js';
import { mountSmallDisk } from './support/fault-crashes.js';
import type { ForwardInput } from '../src/inputs/forward-input.js';
import { TestServer } from './support/test-server.js';

const BATCH = 20;

/** Sends Forward-mode messages of BATCH records with a `chunk` option; marks a batch acknowledged on its ack. */
class ForwardAckSender {
  nextSeq = 0;
  private socket: Socket | null = null;
  private stopped = false;
  private readonly packr = new Packr({ useRecords: false });
  private readonly unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

  constructor(
    private readonly port: number,
    private readonly ledger: SeqLedger,
  ) {
    this.connect();
  }

  private connect(): void {
    const socket = connect(this.port, '127.0.0.1');
    this.socket = socket;
    socket.on('data', (data: Buffer) => {
      for (const message of this.unpackr.unpackMultiple(data) as Array<{ ack?: string }>) {
        const first = Number(String(message.ack).slice(1));
        this.ledger.acknowledged(first, BATCH);
      }
    });
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      void this.pump(socket);
    });
  }

  /** A batch every 5 ms while the socket lives (about 4,000 records/s). */
  private async pump(socket: Socket): Promise<void> {
    while (!this.stopped && !socket.destroyed) {
      const first = this.nextSeq;
      const time = Math.floor(Date.now() / 1000);
      const entries = Array.from({ length: BATCH }, (_, i) => [time, { seq: first + i, msg: 'forward with ack' }]);
      this.ledger.sent(first, BATCH);
      this.nextSeq += BATCH;
      socket.write(this.packr.pack(['app.log', entries, { chunk: `s${first}` }]));
      await sleep(5);
    }
  }

  stop(): void {
    this.stopped = true;
    this.socket?.destroy();
  }
}

test('forward with acks, filesystem storage, kill -9 mid-stream: every acknowledged record arrives after the restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wsrelay-fwd-kill9-'));
  const storagePath = join(dir, 'storage');
  const server = await TestServer.start();
  const ledger = new SeqLedger(200_000);
  const tally = new Tally(ledger, server);
  const relay = await RelayProcess.start(
    {
      input: { plugin: 'forward', props: { 'storage.type': 'filesystem' } },
      output: { retry_limit: 'no_limits' },
      service: { 'storage.path': storagePath, 'storage.sync': 'full' },
    },
    server.port,
    dir,
  );
  t.after(async () => {
    tally.stop();
    await relay.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const sender = new ForwardAckSender(relay.inputPort, ledger);
  await tally.delivering('the load to reach the server');
  server.setReading(false); // from here on, acknowledged records exist only inside the relay
  await waitFor(() => ledger.acknowledgedCount >= 2000, 10_000, 'acks while the server does not read');
  await relay.kill9();
  sender.stop();
  const acknowledged = ledger.acknowledgedCount;
  const files = readdirSync(join(storagePath, 'websocket.0')).filter((name) => name.endsWith('.chunk'));
  assert.ok(files.length > 0, 'chunk files left by the killed relay');
  // The server loses what it had not read, then comes back; the relay restarts on the same files.
  await server.stop();
  server.setReading(true);
  await server.listen();
  await relay.restart();
  await tally.settle(20_000);
  const counts = ledger.counts();
  t.diagnostic(
    `acknowledged ${acknowledged} before kill -9, ${files.length} chunk files; ` +
      `delivered ${counts.delivered}, duplicated ${counts.duplicated}, lost ${counts.lost}`,
  );
  assert.equal(counts.lost, 0, `acknowledged but never delivered: ${ledger.missingSample().join(', ')}`);
  assert.equal(ledger.foreign, 0);
  assert.match(relay.stderr, /replaying \d+ chunk\(s\)/);
  await waitFor(
    () => readdirSync(join(storagePath, 'websocket.0')).every((name) => !name.endsWith('.chunk')),
    10_000,
    'chunk files deleted once delivered',
  );
});

test('forward with acks on a full disk: no ack for what could not be written, a clear error, then recovery', async (t) => {
  const disk = mountSmallDisk(512);
  if (disk === null) {
    t.skip('cannot mount a tmpfs here (needs root)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wsrelay-fwd-full-'));
  const server = await TestServer.start();
  await server.stop(); // down: chunks pile up on disk
  const ledger = new SeqLedger(200_000);
  const tally = new Tally(ledger, server);
  const relay = await startPipeline(
    [{ plugin: 'forward', props: { listen: '127.0.0.1', port: '0', 'storage.type': 'filesystem' } }],
    [
      {
        plugin: 'websocket',
        props: {
          host: '127.0.0.1',
          port: String(server.port),
          format: 'json_lines',
          match: '*',
          retry_limit: 'no_limits',
        },
      },
    ],
    {
      'storage.path': join(disk.path, 'storage'),
      'scheduler.base': '0.2',
      'scheduler.cap': '0.5',
      grace: '1',
      log_level: 'info',
    },
  );
  t.after(async () => {
    tally.stop();
    await relay.stop();
    await server.stop();
    disk.unmount();
    rmSync(dir, { recursive: true, force: true });
  });
  const sender = new ForwardAckSender((relay.engine.inputs[0] as ForwardInput).port, ledger);
  // 512 KiB fills in about a second at this rate; then acks stop.
  await waitFor(() => /ENOSPC.*pausing inputs/.test(relay.logs.join('')), 20_000, 'the disk to fill');
  // Acks for what was written before the error may still be on their way: a moment for them.
  await sleep(100);
  const acknowledged = ledger.acknowledgedCount;
  // A window in which nothing may be acknowledged: 60 of the sender's batches.
  await sleep(300);
  assert.ok(ledger.acknowledgedCount - acknowledged <= BATCH, 'no acks while nothing can be written');
  assert.match(relay.logs.join(''), /cannot write chunk files under .* \(disk full\): .*ENOSPC.*pausing inputs/);
  sender.stop();
  await server.listen(); // chunks are delivered and their files deleted: room again
  await waitFor(() => /can be written again/.test(relay.logs.join('')), 20_000, 'the recovery').catch(
    (error: unknown) => {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}; log: ${relay.logs.slice(-15).join('')}`,
      );
    },
  );
  await tally.settle(20_000);
  const counts = ledger.counts();
  t.diagnostic(
    `sent ${counts.sent}, acknowledged ${counts.acknowledged}, delivered ${counts.delivered}, lost ${counts.lost}`,
  );
  assert.equal(counts.lost, 0, `acknowledged but never delivered: ${ledger.missingSample().join(', ')}`);
  assert.ok(counts.sent > counts.acknowledged, 'some records were refused while the disk was full');
});
