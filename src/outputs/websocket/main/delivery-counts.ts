// What the websocket output counts as chunks are flushed or fail and connections open and
// close: the output's totals and each worker thread's (src/metrics reads them at scrape time).
import { workerStats, type WebSocketOutputStats } from './stats.js';

export interface FlushedChunk {
  readonly records: number;
  readonly bytes: number;
  /** Monotonic ms when the chunk was sealed. */
  readonly sealedAt: number;
  /** An earlier attempt may have delivered it already. */
  readonly resent: boolean;
}

export function countFlushed(stats: WebSocketOutputStats, worker: number, chunk: FlushedChunk): void {
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
export function countFailedAttempt(stats: WebSocketOutputStats, worker: number): void {
  workerStats(stats, worker).chunksFailed++;
}

/**
 * A connection attempt's outcome. `startedAt` (monotonic ms, this thread's clock) is when the
 * attempt began: a run of failures counts from the first failed attempt's start, so a handshake
 * that hangs until Connect_Timeout counts from when it was tried.
 */
export function countHandshake(stats: WebSocketOutputStats, worker: number, ok: boolean, detail = '',
  startedAt: number = performance.now()): void {
  const perWorker = workerStats(stats, worker);
  if (!ok) {
    stats.handshakesFailed++;
    perWorker.handshakesFailed++;
    stats.failingSince ??= startedAt;
    stats.lastFailure = detail;
    return;
  }
  perWorker.handshakesOk++;
  perWorker.connected = true;
  stats.handshakesOk++;
  stats.connectionsOpen++;
  stats.failingSince = null;
}

/**
 * A connection that was open has closed (idle close, server gone, thread lost). That alone says
 * nothing about whether the output can deliver: the next attempt does (countHandshake).
 */
export function countConnectionClosed(stats: WebSocketOutputStats, worker: number): void {
  workerStats(stats, worker).connected = false;
  stats.connectionsClosed++;
  stats.connectionsOpen = Math.max(0, stats.connectionsOpen - 1);
}
