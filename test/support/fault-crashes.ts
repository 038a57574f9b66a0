// Scripted crashes of the relay itself: a worker thread killed with chunks in flight, the whole
// process killed with kill -9 (with filesystem or memory storage), and storage.path filling up.
// In each, what the relay acknowledged exists only inside it at the moment of the fault: the
// server has stopped reading, and is then restarted, which discards every unread frame.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerPool } from '../../src/outputs/websocket/main/worker-pool.js';
import type { WebSocketOutput } from '../../src/outputs/websocket/main/output.js';
import { SeqLedger } from './fault-ledger.js';
import { RelayProcess } from './fault-relay.js';
import { report, Tally, type FaultReport } from './fault-report.js';
import { HttpSender, TcpSender } from './fault-senders.js';
import { sleep, startRelay, waitFor } from './relay.js';
import { TestServer } from './test-server.js';

/** The server loses every frame it has not read yet: connections killed, port reopened. */
async function restartDiscarding(server: TestServer): Promise<void> {
  await server.stop();
  server.setReading(true);
  await server.listen();
}

/**
 * One worker thread (workers 1) is terminated while its chunks are written but unconfirmed.
 * Runs in-process, because only the process owning the pool can kill one of its threads; the
 * thread, its socket and the server are as real as elsewhere. The pool starts a new thread; the
 * dead thread's chunks must be sent again by it.
 */
export async function workerKilled(
  options: { records?: number; onRelay?: (logs: readonly string[]) => void } = {},
): Promise<FaultReport> {
  const records = options.records ?? 5000;
  const startedAt = performance.now();
  const server = await TestServer.start();
  const relay = await startRelay(server.port, { retry_limit: 'no_limits', workers: '1', ping_timeout: '60' });
  options.onRelay?.(relay.logs);
  const output = relay.engine.outputs[0] as WebSocketOutput;
  const ledger = new SeqLedger(records);
  const tally = new Tally(ledger, server);
  try {
    await waitFor(() => server.openConnections === 1, 10_000, 'the connection');
    server.setReading(false);
    const sender = await TcpSender.start(relay.port, ledger, { rate: records * 4 });
    await waitFor(() => sender.nextSeq >= records, 10_000, 'the load');
    await sender.stop();
    const input = relay.engine.stats().inputs['tcp.0']!;
    await waitFor(
      () => input.records >= records && output.bufferState().chunksInFlight > 0,
      10_000,
      'every record read, chunks in flight',
    );
    // The pool is private to the output: the test reaches in, as a crash would.
    const pool = (output as unknown as { pool: WorkerPool }).pool;
    const victim = pool.threads[0]!;
    const victimId = victim.threadId;
    const inFlight = output.bufferState().chunksInFlight;
    await victim.terminate();
    await restartDiscarding(server);
    await waitFor(() => pool.threads.some((thread) => thread.threadId !== victimId), 10_000, 'a new thread');
    await tally.settle(15_000);
    const stats = output.stats;
    return report('worker thread killed with chunks in flight', startedAt, ledger, {
      'chunks in flight when killed': inFlight,
      'threads after': pool.threads.length,
      handshakes: stats.handshakesOk,
      retries: stats.retries,
      'dropped worker_crash': stats.dropped.worker_crash,
    });
  } finally {
    tally.stop();
    await relay.stop();
    await server.stop();
  }
}

/** workerKilled, then: the dead thread never says it stopped, and shutdown must not wait for it. */
export async function workerKilledShutdown(
  options: { records?: number } = {},
): Promise<{ report: FaultReport; stuck: string | null }> {
  let logs: readonly string[] = [];
  const report = await workerKilled({
    ...options,
    onRelay: (relayLogs) => {
      logs = relayLogs;
    },
  });
  return { report, stuck: logs.find((line) => line.includes('did not close their connection')) ?? null };
}

export type StorageType = 'filesystem' | 'memory';

/** A relay with an http input on `storage` buffering (Fluent Bit's keys), as a child process. */
function storageRelay(
  storage: StorageType,
  storagePath: string,
  server: TestServer,
  dir: string,
  service: Record<string, string> = {},
): Promise<RelayProcess> {
  return RelayProcess.start(
    {
      input: { plugin: 'http', props: storage === 'filesystem' ? { 'storage.type': 'filesystem' } : {} },
      output: { retry_limit: 'no_limits' },
      service: storage === 'filesystem' ? { 'storage.path': storagePath, ...service } : service,
    },
    server.port,
    dir,
  );
}

/**
 * kill -9 mid-stream, then the same command again. With filesystem storage every record the
 * relay answered 2xx for must arrive after the restart (the backlog is replayed); with memory
 * storage the records it held are lost, and the report says how many. `unread`: how many
 * records the relay acknowledges while the server does not read, before the kill (by default
 * 0.7 s of the load).
 */
export async function relayKill9(
  storage: StorageType,
  options: { rate?: number; unread?: number } = {},
): Promise<FaultReport> {
  const rate = options.rate ?? 5000;
  const unread = options.unread ?? Math.round(rate * 0.7);
  const startedAt = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'wsrelay-kill9-'));
  const server = await TestServer.start();
  let relay: RelayProcess | null = null;
  const ledger = new SeqLedger(rate * 60);
  const tally = new Tally(ledger, server);
  try {
    relay = await storageRelay(storage, join(dir, 'storage'), server, dir);
    const sender = new HttpSender(relay.inputPort, ledger, { rate });
    await tally.delivering('the load to reach the server');
    server.setReading(false);
    const acknowledgedUnread = ledger.acknowledgedCount + unread;
    await waitFor(
      () => ledger.acknowledgedCount >= acknowledgedUnread,
      30_000,
      `${unread} records acknowledged unread`,
    );
    const acknowledgedAtKill = ledger.acknowledgedCount;
    await relay.kill9();
    await restartDiscarding(server);
    await relay.restart();
    // The sender retries what the kill interrupted: the restarted relay takes it, and more.
    const acknowledgedAtRestart = ledger.acknowledgedCount;
    await waitFor(() => ledger.acknowledgedCount > acknowledgedAtRestart, 30_000, 'the restarted relay to acknowledge');
    await tally.delivering('delivery by the restarted relay');
    await sender.stop();
    await tally.settle(storage === 'filesystem' ? 30_000 : 5000);
    return report(
      `relay kill -9, ${storage} storage`,
      startedAt,
      ledger,
      {
        'acknowledged before the kill': acknowledgedAtKill,
        'http retries': sender.rejected,
        handshakes: server.connections,
      },
      storage === 'memory',
    );
  } finally {
    tally.stop();
    if (relay) await relay.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Mounts a small tmpfs (root only); null when this machine does not allow it. */
export function mountSmallDisk(sizeKb: number): { path: string; unmount(): void } | null {
  const path = mkdtempSync(join(tmpdir(), 'wsrelay-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', path], { stdio: 'ignore' });
  } catch {
    rmSync(path, { recursive: true, force: true });
    return null;
  }
  return {
    path,
    unmount: () => {
      try {
        execFileSync('umount', ['-l', path], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/**
 * storage.path on a small tmpfs that a filler file has (nearly) filled, the server down so
 * chunks pile up on disk: the relay must stop acknowledging (inputs pause, http 503) with a
 * clear error, never acknowledge what it could not store, and recover when the filler is
 * deleted and the server returns. `fullSeconds`: how long the load goes on against the full
 * disk once the relay first refused.
 */
export async function diskFull(
  options: { rate?: number; diskKb?: number; fullSeconds?: number } = {},
): Promise<FaultReport> {
  const rate = options.rate ?? 2000;
  const fullSeconds = options.fullSeconds ?? 1;
  const disk = mountSmallDisk(options.diskKb ?? 4096);
  if (!disk) throw new Error('cannot mount a tmpfs here (needs root): disk-full scenario not run');
  const startedAt = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'wsrelay-diskfull-'));
  const server = await TestServer.start();
  let relay: RelayProcess | null = null;
  const ledger = new SeqLedger(rate * 60);
  const tally = new Tally(ledger, server);
  const storagePath = join(disk.path, 'storage');
  mkdirSync(storagePath);
  const filler = join(disk.path, 'filler');
  try {
    relay = await storageRelay('filesystem', storagePath, server, dir);
    await server.stop();
    // Leave about 512 KiB: a few seconds of the load fill it.
    writeFileSync(filler, Buffer.alloc(Math.max(0, (options.diskKb ?? 4096) - 512) * 1024));
    const sender = new HttpSender(relay.inputPort, ledger, { rate });
    await waitFor(() => sender.rejected > 0, 20_000, 'the relay to refuse records once the disk is full');
    const acknowledgedWhenFull = ledger.acknowledgedCount;
    await sleep(fullSeconds * 1000);
    const acknowledgedWhileFull = ledger.acknowledgedCount - acknowledgedWhenFull;
    const logged = /no space|ENOSPC|disk full/i.test(relay.stderr);
    rmSync(filler);
    await server.listen();
    // Recovered: the relay acknowledges records again, and delivers.
    const acknowledgedFull = ledger.acknowledgedCount;
    await waitFor(() => ledger.acknowledgedCount > acknowledgedFull, 30_000, 'the relay to acknowledge again');
    await tally.delivering('delivery once the server is back');
    await sender.stop();
    await tally.settle(30_000);
    return report('disk full on storage.path', startedAt, ledger, {
      'acknowledged when full': acknowledgedWhenFull,
      [`acknowledged in the next ${fullSeconds} s`]: acknowledgedWhileFull,
      'http 503/errors': sender.rejected,
      'answers refused': JSON.stringify(sender.rejections).replace(/"/g, ''),
      'error logged': logged ? 'yes' : 'no',
    });
  } finally {
    tally.stop();
    if (relay) await relay.stop();
    await server.stop();
    disk.unmount();
    rmSync(dir, { recursive: true, force: true });
  }
}
