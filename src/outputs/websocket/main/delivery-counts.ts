// What the websocket output counts as chunks are flushed or fail and connections open and
// close: the output's totals and each worker thread's (src/metrics reads them at scrape time).
import { workerStats, type WebSocketOutputStats } from './stats.js';
import type { DeliveryFailure } from '../protocol.js';

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
 * A connection attempt's outcome (failure null: it succeeded). `startedAt` (monotonic ms, this
 * thread's clock) is when the attempt began: a run of failures counts from the first failed
 * attempt's start, so a handshake that hangs until Connect_Timeout counts from when it was tried.
 */
export function countHandshake(
  stats: WebSocketOutputStats,
  worker: number,
  failure: DeliveryFailure | null,
  startedAt: number = performance.now(),
): void {
  const perWorker = workerStats(stats, worker);
  if (failure !== null) {
    stats.handshakesFailed++;
    countByReason(stats.handshakeFailuresByReason, failure);
    perWorker.handshakesFailed++;
    stats.failingSince ??= startedAt;
    stats.lastFailure = describe(failure);
    return;
  }
  perWorker.handshakesOk++;
  perWorker.connected = true;
  stats.handshakesOk++;
  stats.connectionsOpen++;
  stats.failingSince = null;
}

/** A failed attempt, retried or given up. */
export function countFailure(stats: WebSocketOutputStats, failure: DeliveryFailure): void {
  stats.chunksFailed++;
  countByReason(stats.failuresByReason, failure);
}

/** A retry scheduled after a failed attempt. */
export function countRetry(stats: WebSocketOutputStats, failure: DeliveryFailure): void {
  stats.retries++;
  countByReason(stats.retriesByReason, failure);
}

/** For logs: what happened, then its code (what the metrics' reason label is made of). */
export function describe(failure: DeliveryFailure): string {
  return `${failure.detail} [${failure.code}]`;
}

const CODE_PREFIX = 'WSR_DELIVERY_';

/**
 * The metrics' `reason` label: the code without its prefix, in lower case; with the close code
 * for closes (closed_1006; servers' own codes by range, closed_3xxx and closed_4xxx) and the
 * status for refused upgrades (handshake_status_401). A server chooses those numbers, so the
 * label has a bounded set of values whatever it sends: about 13 + 18 + 500.
 */
export function reasonLabel(failure: DeliveryFailure): string {
  const name = failure.code.slice(CODE_PREFIX.length).toLowerCase();
  const { closeCode, status } = failure;
  if (closeCode !== undefined) {
    if (closeCode >= 1000 && closeCode <= 1015) return `${name}_${closeCode}`;
    if (closeCode >= 3000 && closeCode <= 4999) return `${name}_${Math.floor(closeCode / 1000)}xxx`;
    return `${name}_other`;
  }
  if (status !== undefined) return status >= 100 && status <= 599 ? `${name}_${status}` : `${name}_other`;
  return name;
}

function countByReason(counts: Record<string, number>, failure: DeliveryFailure): void {
  const label = reasonLabel(failure);
  counts[label] = (counts[label] ?? 0) + 1;
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
