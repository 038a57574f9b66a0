// What the websocket output counts as chunks are flushed or fail and connections open and
// close: the output's totals and each worker thread's (src/metrics reads them at scrape time).
import { workerStats, type OutputStats } from '../../engine/stats.js';

export interface FlushedChunk {
  readonly records: number;
  readonly bytes: number;
  /** Monotonic ms when the chunk was sealed. */
  readonly sealedAt: number;
  /** An earlier attempt may have delivered it already. */
  readonly resent: boolean;
}

export function countFlushed(stats: OutputStats, worker: number, chunk: FlushedChunk): void {
  const perWorker = workerStats(stats, worker);
  perWorker.chunksFlushed++;
  perWorker.records += chunk.records;
  stats.chunksFlushed++;
  stats.flushSeconds.observe((performance.now() - chunk.sealedAt) / 1000);
  stats.chunkRecords.observe(chunk.records);
  stats.chunkBytes.observe(chunk.bytes);
  stats.records += chunk.records;
  stats.bytes += chunk.bytes;
  if (chunk.resent) stats.resentRecords += chunk.records;
}

/** A failed attempt on `worker` (the output's own failure count is kept where retries are decided). */
export function countFailedAttempt(stats: OutputStats, worker: number): void {
  workerStats(stats, worker).chunksFailed++;
}

export function countHandshake(stats: OutputStats, worker: number, ok: boolean): void {
  const perWorker = workerStats(stats, worker);
  if (!ok) {
    stats.handshakesFailed++;
    perWorker.handshakesFailed++;
    return;
  }
  perWorker.handshakesOk++;
  perWorker.connected = true;
  stats.handshakesOk++;
  stats.connectionsOpen++;
  stats.noConnectionSince = null;
}

export function countConnectionClosed(stats: OutputStats, worker: number): void {
  workerStats(stats, worker).connected = false;
  stats.connectionsClosed++;
  stats.connectionsOpen = Math.max(0, stats.connectionsOpen - 1);
  if (stats.connectionsOpen === 0) stats.noConnectionSince = performance.now();
}
