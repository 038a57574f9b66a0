// Plain counters, updated on the hot path without any library call and read by whoever needs
// them (shutdown summary, tests, the metrics exporter at scrape time).

export interface InputStats {
  records: number;
  bytes: number;
  /** Lines longer than Buffer_Size, dropped at the input. */
  oversized: number;
  /** Lines that were not JSON objects, found by the output workers. */
  malformed: number;
  connections: number;
  paused: boolean;
}

/** Why records were given up; every drop is counted under one of these. */
export type DropReason = 'retry_limit' | 'shutdown' | 'worker_crash';

export interface OutputStats {
  chunksFlushed: number;
  /** Flush attempts that failed (each is followed by a retry or a drop). */
  chunksFailed: number;
  records: number;
  bytes: number;
  retries: number;
  /** Chunks given up after Retry_Limit. */
  retriesFailed: number;
  /** Records flushed again after an attempt that had written them without confirmation. */
  resentRecords: number;
  dropped: Record<DropReason, number>;
  handshakesOk: number;
  handshakesFailed: number;
  connectionsOpen: number;
}

export function newInputStats(): InputStats {
  return { records: 0, bytes: 0, oversized: 0, malformed: 0, connections: 0, paused: false };
}

export function newOutputStats(): OutputStats {
  return {
    chunksFlushed: 0, chunksFailed: 0, records: 0, bytes: 0, retries: 0, retriesFailed: 0,
    resentRecords: 0, dropped: { retry_limit: 0, shutdown: 0, worker_crash: 0 },
    handshakesOk: 0, handshakesFailed: 0, connectionsOpen: 0,
  };
}
