// Plain counters, updated on the hot path without any library call and read by whoever needs
// them (shutdown summary, tests, the metrics exporter at scrape time).
import type { OutputConfig } from '../config/types.js';

/** A fixed-bucket histogram in plain numbers (cumulative counts are computed when read). */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) {
      if (value <= this.bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

export interface InputStats {
  records: number;
  bytes: number;
  /** Lines longer than Buffer_Size, dropped at the input. */
  oversized: number;
  /** Lines that were not JSON objects, found by the output workers. */
  malformed: number;
  connections: number;
  /** TLS handshakes that failed: plain-text clients, missing or untrusted client certificates. */
  tlsHandshakeFailures: number;
  /** Connections the input refused or closed, by reason (every key present, zeros too). */
  closed: Record<CloseReason, number>;
  paused: boolean;
  /** Total time spent paused by backpressure, in ms (not counting a pause in progress). */
  pausedMs: number;
  /** Monotonic ms when the current pause began, or null. */
  pausedSince: number | null;
}

/** Why an input refused or closed a client connection. */
export type CloseReason =
  | 'max_connections'
  | 'io_timeout'
  | 'record_timeout'
  /** Undecodable data: garbage msgpack, a forward message of the wrong shape, a broken HTTP request. */
  | 'protocol_error'
  /** A forward message or HTTP request larger than buffer_max_size (or its headers too long). */
  | 'oversized'
  /** The relay failed on what the connection sent (a defect of ours): the connection goes, the relay stays. */
  | 'internal_error';

/** Why records were given up; every drop is counted under one of these. */
export type DropReason =
  | 'retry_limit'
  | 'shutdown'
  | 'worker_crash'
  /** websocket_server: published while no client was connected (the reference drops them silently). */
  | 'no_clients'
  /** websocket_server: a client's share lost to its queue limit (dropped oldest, or queued when cut off). */
  | 'slow_client'
  /** Filesystem storage: the oldest chunks given up at storage.total_limit_size (policy drop_oldest). */
  | 'storage_limit'
  /** Filesystem storage: a chunk file kept on disk only was found damaged when read back. */
  | 'storage_corrupt'
  /** The output failed on a sealed chunk (an encoder or a writer threw): the chunk goes, the relay stays. */
  | 'output_error';

/** Which plugin an output is: tells the exporter which stats beyond OutputStats it has. */
export type OutputKind = OutputConfig['plugin'];

/** What every output counts, whatever it does with a chunk. */
export interface OutputStats {
  readonly kind: OutputKind;
  chunksFlushed: number;
  records: number;
  bytes: number;
  dropped: Record<DropReason, number>;
  /** Seconds from a chunk being sealed to its confirmation (or write, in write mode). */
  readonly flushSeconds: Histogram;
  /** Valid records per flushed chunk. */
  readonly chunkRecords: Histogram;
  /** Payload bytes per flushed chunk. */
  readonly chunkBytes: Histogram;
}

/**
 * An output that holds WebSocket connections: the websocket client's to its server, and
 * websocket_server's from its clients.
 */
export interface ConnectionOutputStats extends OutputStats {
  readonly kind: 'websocket' | 'websocket_server';
  handshakesOk: number;
  handshakesFailed: number;
  /** Connections closed after having been open (reconnects follow these). */
  connectionsClosed: number;
  connectionsOpen: number;
}

export function isConnectionOutputStats(stats: OutputStats): stats is ConnectionOutputStats {
  return stats.kind === 'websocket' || stats.kind === 'websocket_server';
}

export function newInputStats(): InputStats {
  return {
    records: 0,
    bytes: 0,
    oversized: 0,
    malformed: 0,
    connections: 0,
    tlsHandshakeFailures: 0,
    closed: {
      max_connections: 0,
      io_timeout: 0,
      record_timeout: 0,
      protocol_error: 0,
      oversized: 0,
      internal_error: 0,
    },
    paused: false,
    pausedMs: 0,
    pausedSince: null,
  };
}

export function newOutputStats(kind: OutputKind): OutputStats {
  return {
    kind,
    chunksFlushed: 0,
    records: 0,
    bytes: 0,
    dropped: {
      retry_limit: 0,
      shutdown: 0,
      worker_crash: 0,
      no_clients: 0,
      slow_client: 0,
      storage_limit: 0,
      storage_corrupt: 0,
      output_error: 0,
    },
    flushSeconds: new Histogram([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]),
    chunkRecords: new Histogram([1, 10, 100, 1000, 5000, 10_000, 20_000, 50_000, 100_000]),
    chunkBytes: new Histogram([1024, 16_384, 65_536, 262_144, 1_048_576, 2_097_152, 4_194_304, 8_388_608]),
  };
}

export function newConnectionOutputStats(kind: ConnectionOutputStats['kind']): ConnectionOutputStats {
  return {
    ...newOutputStats(kind),
    kind,
    handshakesOk: 0,
    handshakesFailed: 0,
    connectionsClosed: 0,
    connectionsOpen: 0,
  };
}

/** What an output's buffer and pool hold right now (read at scrape time). */
export interface OutputBufferState {
  readonly bytes: number;
  readonly limitBytes: number;
  readonly chunksQueued: number;
  readonly chunksInFlight: number;
  readonly workers: number;
  /** Piscina's utilization (0..1) and its own queue. */
  readonly poolUtilization: number;
  readonly poolQueueSize: number;
  /** Filesystem storage: bytes and number of this output's chunk files (absent: memory only). */
  readonly storageBytes?: number;
  readonly storageChunks?: number;
}

/** Every instance's counters, keyed by instance name (`tcp.0`, `websocket.0`). */
export interface EngineStats {
  readonly inputs: Record<string, InputStats>;
  readonly outputs: Record<string, OutputStats>;
  readonly buffers: Record<string, OutputBufferState>;
}

/**
 * What the metrics exporter and the health check read; the engine implements it. Declared here,
 * beside the counters, so that src/metrics reads the engine and the engine never imports it.
 */
export interface MetricsSource {
  /** The live counters, keyed by instance name (`tcp.0`, `websocket.0`). */
  stats(): EngineStats;
  /** True once every input is bound and accepting connections. */
  inputsListening(): boolean;
}
