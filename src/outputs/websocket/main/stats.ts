// What the websocket output counts beyond every output's stats: its retries, its stored chunks,
// its readiness and each worker thread's connection. The one place its stats are declared;
// delivery-counts.ts and output.ts update them, the exporter reads them through
// isWebSocketOutputStats.
import { newConnectionOutputStats, type ConnectionOutputStats, type OutputStats } from '../../../engine/stats.js';

/** One worker thread of a websocket output (its connection), for telling a stuck one apart. */
export interface WorkerStats {
  chunksFlushed: number;
  chunksFailed: number;
  records: number;
  handshakesOk: number;
  handshakesFailed: number;
  /** Its connection is open now. */
  connected: boolean;
  /** Pongs that confirmed nothing: unsolicited (heartbeats), guessed, or another connection's. */
  pongsIgnored: number;
}

export interface WebSocketOutputStats extends ConnectionOutputStats {
  readonly kind: 'websocket';
  /** Flush attempts that failed (each is followed by a retry or a drop). */
  chunksFailed: number;
  retries: number;
  /** Chunks given up after Retry_Limit. */
  retriesFailed: number;
  /** Failed attempts, retries scheduled and failed handshakes by reason label (delivery-counts.ts). */
  readonly failuresByReason: Record<string, number>;
  readonly retriesByReason: Record<string, number>;
  readonly handshakeFailuresByReason: Record<string, number>;
  /** Records flushed again after an attempt that had written them without confirmation. */
  resentRecords: number;
  /** Chunk files found torn or corrupt (at start or read back) and moved aside as *.corrupt. */
  storageCorruptChunks: number;
  /**
   * Readiness: monotonic ms when the current run of failed connection attempts began (the start
   * of the first attempt that failed since the last success), null when the last attempt
   * succeeded or none has failed. A connection the output closed on purpose (idle) leaves it null.
   */
  failingSince: number | null;
  /** Why the last connection attempt failed (null until one has). */
  lastFailure: string | null;
  /** Per worker thread, by its index (#0, #1…; a thread replaced after a crash gets a new one). */
  readonly workers: Record<string, WorkerStats>;
}

export function newWebSocketOutputStats(): WebSocketOutputStats {
  return {
    ...newConnectionOutputStats('websocket'),
    kind: 'websocket',
    chunksFailed: 0,
    retries: 0,
    retriesFailed: 0,
    resentRecords: 0,
    storageCorruptChunks: 0,
    failuresByReason: {},
    retriesByReason: {},
    handshakeFailuresByReason: {},
    failingSince: null,
    lastFailure: null,
    workers: {},
  };
}

export function isWebSocketOutputStats(stats: OutputStats): stats is WebSocketOutputStats {
  return stats.kind === 'websocket';
}

/** The entry of one worker thread, created on first use. */
export function workerStats(stats: WebSocketOutputStats, worker: number): WorkerStats {
  return (stats.workers[String(worker)] ??= {
    chunksFlushed: 0,
    chunksFailed: 0,
    records: 0,
    handshakesOk: 0,
    handshakesFailed: 0,
    connected: false,
    pongsIgnored: 0,
  });
}
