// The Prometheus registry. Nothing here runs on the hot path: inputs, outputs and workers count
// in plain numbers (src/engine/stats.ts) and every metric below reads them in its collect()
// at scrape time, so a record costs no prom-client call (label validation, hashing) at all.
import { readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  isConnectionOutputStats,
  type EngineStats,
  type MetricsSource,
  type ConnectionOutputStats,
  type Histogram as PlainHistogram,
  type InputStats,
  type OutputBufferState,
  type OutputStats,
} from '../engine/stats.js';
import {
  isWebSocketOutputStats,
  type WebSocketOutputStats,
  type WorkerStats,
} from '../outputs/websocket/main/stats.js';

export interface MetricsRegistryOptions {
  /** Reported in wsrelay_build_info; read from package.json when not given. */
  readonly version?: string;
}

type Labels = Record<string, string>;

interface Series {
  readonly labels: Labels;
  readonly value: number;
}

function packageVersion(): string {
  try {
    // dist/src/metrics/registry.js → the package root is three levels up.
    const url = new URL('../../../package.json', import.meta.url);
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Seconds paused, counting a pause still in progress (pausedMs only grows when one ends). */
export function pausedSeconds(input: InputStats, now: number = performance.now()): number {
  const current = input.paused && input.pausedSince !== null ? Math.max(0, now - input.pausedSince) : 0;
  return (input.pausedMs + current) / 1000;
}

function perOutput(stats: EngineStats, read: (o: OutputStats) => number): Series[] {
  return Object.entries(stats.outputs).map(([output, o]) => ({ labels: { output }, value: read(o) }));
}

/**
 * A websocket output's own count. Every other output exports it too, as 0, so each output has
 * the same series whatever its plugin (a sum over outputs, a dashboard per output).
 */
function ofWebSocket(read: (o: WebSocketOutputStats) => number): (o: OutputStats) => number {
  return (o) => (isWebSocketOutputStats(o) ? read(o) : 0);
}

/** A websocket output's counts by reason label (other outputs have none: no series). */
function reasonsOf(
  pick: (o: WebSocketOutputStats) => Record<string, number>,
): (o: OutputStats) => Array<[string, number]> {
  return (o) => (isWebSocketOutputStats(o) ? Object.entries(pick(o)) : []);
}

/** A count of outputs with WebSocket connections (websocket, websocket_server); 0 for the others. */
function ofConnections(read: (o: ConnectionOutputStats) => number): (o: OutputStats) => number {
  return (o) => (isConnectionOutputStats(o) ? read(o) : 0);
}

/** One series per worker thread of each output (websocket outputs only have them). */
function perWorker(
  stats: EngineStats,
  read: (w: WorkerStats) => ReadonlyArray<readonly [Record<string, string>, number]>,
): Series[] {
  return Object.entries(stats.outputs).flatMap(([output, o]) =>
    (isWebSocketOutputStats(o) ? Object.entries(o.workers) : []).flatMap(([worker, w]) =>
      read(w).map(([labels, value]) => ({ labels: { output, worker, ...labels }, value })),
    ),
  );
}

function perBuffer(stats: EngineStats, read: (b: OutputBufferState) => number): Series[] {
  return Object.entries(stats.buffers).map(([output, b]) => ({ labels: { output }, value: read(b) }));
}

function perInput(stats: EngineStats, read: (i: InputStats) => number): Series[] {
  return Object.entries(stats.inputs).map(([input, i]) => ({ labels: { input }, value: read(i) }));
}

function perInputSplit(
  stats: EngineStats,
  label: string,
  read: (i: InputStats) => ReadonlyArray<readonly [string, number]>,
): Series[] {
  return Object.entries(stats.inputs).flatMap(([input, i]) =>
    read(i).map(([value, n]) => ({ labels: { input, [label]: value }, value: n })),
  );
}

/** One series per value of a second label, e.g. result="success" / "failure". */
function perOutputSplit(
  stats: EngineStats,
  label: string,
  read: (o: OutputStats) => ReadonlyArray<readonly [string, number]>,
): Series[] {
  return Object.entries(stats.outputs).flatMap(([output, o]) =>
    read(o).map(([value, n]) => ({ labels: { output, [label]: value }, value: n })),
  );
}

interface Definition {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly read: (stats: EngineStats) => Series[];
}

const chunksFailed = ofWebSocket((o) => o.chunksFailed);
const handshakesOk = ofConnections((o) => o.handshakesOk);
const handshakesFailed = ofConnections((o) => o.handshakesFailed);

const counters: readonly Definition[] = [
  {
    name: 'wsrelay_output_flushes_total',
    help: 'Chunk flush attempts by result (failures are retried or dropped)',
    labelNames: ['output', 'result'],
    read: (s) =>
      perOutputSplit(s, 'result', (o) => [
        ['success', o.chunksFlushed],
        ['failure', chunksFailed(o)],
      ]),
  },
  {
    name: 'wsrelay_output_records_total',
    help: 'Records delivered (confirmed, or written in delivery write mode)',
    labelNames: ['output'],
    read: (s) => perOutput(s, (o) => o.records),
  },
  {
    name: 'wsrelay_output_bytes_total',
    help: 'Payload bytes delivered, after encoding',
    labelNames: ['output'],
    read: (s) => perOutput(s, (o) => o.bytes),
  },
  {
    name: 'wsrelay_output_flush_failures_total',
    help: 'Failed flush attempts by reason (refused, tls, connect_timeout, handshake_status_401, pong_timeout, closed_1006...)',
    labelNames: ['output', 'reason'],
    read: (s) =>
      perOutputSplit(
        s,
        'reason',
        reasonsOf((o) => o.failuresByReason),
      ),
  },
  {
    name: 'wsrelay_output_retries_total',
    help: "Chunk retries scheduled after a failed flush, by the failure's reason",
    labelNames: ['output', 'reason'],
    read: (s) =>
      perOutputSplit(
        s,
        'reason',
        reasonsOf((o) => o.retriesByReason),
      ),
  },
  {
    name: 'wsrelay_output_retries_failed_total',
    help: 'Chunks given up after Retry_Limit',
    labelNames: ['output'],
    read: (s) =>
      perOutput(
        s,
        ofWebSocket((o) => o.retriesFailed),
      ),
  },
  {
    name: 'wsrelay_output_resent_records_total',
    help: 'Records delivered again after an attempt that may already have delivered them (possible duplicates)',
    labelNames: ['output'],
    read: (s) =>
      perOutput(
        s,
        ofWebSocket((o) => o.resentRecords),
      ),
  },
  {
    name: 'wsrelay_output_dropped_records_total',
    help: 'Records given up, by reason',
    labelNames: ['output', 'reason'],
    // Every DropReason is a key of `dropped` (newOutputStats sets them all to 0), so zeros are exported too.
    read: (s) => perOutputSplit(s, 'reason', (o) => Object.entries(o.dropped)),
  },
  {
    name: 'wsrelay_storage_corrupt_chunks_total',
    help: 'Chunk files found torn or corrupt under storage.path and moved aside as *.corrupt',
    labelNames: ['output'],
    read: (s) =>
      perOutput(
        s,
        ofWebSocket((o) => o.storageCorruptChunks),
      ),
  },
  {
    name: 'wsrelay_output_handshakes_total',
    help: 'WebSocket handshakes by result',
    labelNames: ['output', 'result'],
    read: (s) =>
      perOutputSplit(s, 'result', (o) => [
        ['success', handshakesOk(o)],
        ['failure', handshakesFailed(o)],
      ]),
  },
  {
    name: 'wsrelay_output_handshake_failures_total',
    help:
      'Failed WebSocket handshakes by reason (refused, dns, tls, ' +
      'connect_timeout, handshake_status_<status>, handshake_invalid...)',
    labelNames: ['output', 'reason'],
    read: (s) =>
      perOutputSplit(
        s,
        'reason',
        reasonsOf((o) => o.handshakeFailuresByReason),
      ),
  },
  {
    name: 'wsrelay_output_worker_flushes_total',
    help: 'Chunk flush attempts by worker thread and result',
    labelNames: ['output', 'worker', 'result'],
    read: (s) =>
      perWorker(s, (w) => [
        [{ result: 'success' }, w.chunksFlushed],
        [{ result: 'failure' }, w.chunksFailed],
      ]),
  },
  {
    name: 'wsrelay_output_worker_records_total',
    help: 'Records delivered by each worker thread',
    labelNames: ['output', 'worker'],
    read: (s) => perWorker(s, (w) => [[{}, w.records]]),
  },
  {
    name: 'wsrelay_output_worker_handshakes_total',
    help: 'WebSocket handshakes by worker thread and result',
    labelNames: ['output', 'worker', 'result'],
    read: (s) =>
      perWorker(s, (w) => [
        [{ result: 'success' }, w.handshakesOk],
        [{ result: 'failure' }, w.handshakesFailed],
      ]),
  },
  {
    name: 'wsrelay_output_worker_pongs_ignored_total',
    help: "Pongs that confirmed nothing (unsolicited heartbeats, guesses, another connection's), by worker thread",
    labelNames: ['output', 'worker'],
    read: (s) => perWorker(s, (w) => [[{}, w.pongsIgnored]]),
  },
  {
    name: 'wsrelay_output_connection_closes_total',
    help: 'Connections closed after having been open (each is followed by a reconnect)',
    labelNames: ['output'],
    read: (s) =>
      perOutput(
        s,
        ofConnections((o) => o.connectionsClosed),
      ),
  },
  {
    name: 'wsrelay_input_records_total',
    help: 'Records (lines) accepted by the input, including those later found malformed',
    labelNames: ['input'],
    read: (s) => perInput(s, (i) => i.records),
  },
  {
    name: 'wsrelay_input_bytes_total',
    help: 'Bytes read by the input',
    labelNames: ['input'],
    read: (s) => perInput(s, (i) => i.bytes),
  },
  {
    name: 'wsrelay_input_malformed_records_total',
    help: 'Records that were not JSON objects, skipped',
    labelNames: ['input'],
    read: (s) => perInput(s, (i) => i.malformed),
  },
  {
    name: 'wsrelay_input_oversized_records_total',
    help: 'Records longer than Buffer_Size, dropped',
    labelNames: ['input'],
    read: (s) => perInput(s, (i) => i.oversized),
  },
  {
    name: 'wsrelay_input_tls_handshake_failures_total',
    help: 'TLS handshakes refused or failed: plain-text clients, missing or untrusted client certificates',
    labelNames: ['input'],
    read: (s) => perInput(s, (i) => i.tlsHandshakeFailures),
  },
  {
    name: 'wsrelay_input_connections_closed_total',
    help: 'Client connections refused or closed by the input, by reason (limits, timeouts, bad data)',
    labelNames: ['input', 'reason'],
    read: (s) => perInputSplit(s, 'reason', (i) => Object.entries(i.closed)),
  },
  {
    name: 'wsrelay_input_paused_seconds_total',
    help: 'Time the input spent paused by backpressure, including a pause in progress',
    labelNames: ['input'],
    read: (s) => perInput(s, (i) => pausedSeconds(i)),
  },
];

const gauges: readonly Definition[] = [
  {
    name: 'wsrelay_output_connections',
    help: 'WebSocket connections open now',
    labelNames: ['output'],
    read: (s) =>
      perOutput(
        s,
        ofConnections((o) => o.connectionsOpen),
      ),
  },
  {
    name: 'wsrelay_output_worker_connected',
    help: "Whether the worker thread's connection is open now (1) or not (0)",
    labelNames: ['output', 'worker'],
    read: (s) => perWorker(s, (w) => [[{}, w.connected ? 1 : 0]]),
  },
  {
    name: 'wsrelay_output_buffer_bytes',
    help: 'Bytes buffered for the output: the open chunk, queued and in-flight chunks',
    labelNames: ['output'],
    read: (s) => perBuffer(s, (b) => b.bytes),
  },
  {
    name: 'wsrelay_output_buffer_limit_bytes',
    help: 'Mem_Buf_Limit: inputs pause above it',
    labelNames: ['output'],
    read: (s) => perBuffer(s, (b) => b.limitBytes),
  },
  {
    name: 'wsrelay_storage_bytes',
    help: 'Bytes of chunk files the output keeps under storage.path (0 with memory storage)',
    labelNames: ['output'],
    read: (s) => perBuffer(s, (b) => b.storageBytes ?? 0),
  },
  {
    name: 'wsrelay_storage_chunks',
    help: 'Chunk files the output keeps under storage.path',
    labelNames: ['output'],
    read: (s) => perBuffer(s, (b) => b.storageChunks ?? 0),
  },
  {
    name: 'wsrelay_output_chunks_queued',
    help: 'Sealed chunks waiting for a worker (including retries in backoff)',
    labelNames: ['output'],
    read: (s) => perBuffer(s, (b) => b.chunksQueued),
  },
  {
    name: 'wsrelay_output_chunks_inflight',
    help: 'Chunks handed to workers, not yet flushed or failed',
    labelNames: ['output'],
    read: (s) => perBuffer(s, (b) => b.chunksInFlight),
  },
  {
    name: 'wsrelay_output_workers',
    help: 'Worker threads (one connection each)',
    labelNames: ['output'],
    read: (s) => perBuffer(s, (b) => b.workers),
  },
  {
    name: 'wsrelay_output_pool_utilization',
    help: 'Worker pool utilization, 0..1',
    labelNames: ['output'],
    read: (s) => perBuffer(s, (b) => b.poolUtilization),
  },
  {
    name: 'wsrelay_output_pool_queue_size',
    help: 'Tasks waiting in the worker pool queue',
    labelNames: ['output'],
    read: (s) => perBuffer(s, (b) => b.poolQueueSize),
  },
  {
    name: 'wsrelay_input_connections',
    help: 'Client connections open on the input',
    labelNames: ['input'],
    read: (s) => perInput(s, (i) => i.connections),
  },
  {
    name: 'wsrelay_input_paused',
    help: '1 while the input is paused by backpressure',
    labelNames: ['input'],
    read: (s) => perInput(s, (i) => (i.paused ? 1 : 0)),
  },
];

const histograms: ReadonlyArray<{ name: string; help: string; read: (o: OutputStats) => PlainHistogram }> = [
  {
    name: 'wsrelay_output_flush_seconds',
    help: 'Seconds from a chunk being sealed to its confirmation (or write)',
    read: (o) => o.flushSeconds,
  },
  { name: 'wsrelay_output_chunk_records', help: 'Records per flushed chunk', read: (o) => o.chunkRecords },
  { name: 'wsrelay_output_chunk_bytes', help: 'Payload bytes per flushed chunk', read: (o) => o.chunkBytes },
];

/** One prom-client value line as the Registry renders it (labels, then shared labels). */
interface ExportValue {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly sharedLabels: Record<string, string>;
  readonly value: number;
}

/** Prometheus histogram lines from a plain fixed-bucket histogram: cumulative, +Inf = count. */
export function histogramValues(name: string, labels: Labels, h: PlainHistogram): ExportValue[] {
  const values: ExportValue[] = [];
  let cumulative = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.counts[i]!;
    values.push({
      metricName: `${name}_bucket`,
      labels: { ...labels, le: h.bounds[i]! },
      sharedLabels: {},
      value: cumulative,
    });
  }
  // Observations above the last bound are in no bucket, so +Inf is the total count.
  values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, sharedLabels: {}, value: h.count });
  values.push({ metricName: `${name}_sum`, labels, sharedLabels: {}, value: h.sum });
  values.push({ metricName: `${name}_count`, labels, sharedLabels: {}, value: h.count });
  return values;
}

/**
 * A prom-client Histogram whose values are the stored plain histograms: prom-client can only
 * observe() one value at a time, and replaying counts would cost O(observations) per scrape.
 * Registry.metrics() renders a metric from getForPromString() when it has one (Histogram.get(),
 * used for JSON, calls it too), so that is the one method replaced. It is not in prom-client's
 * .d.ts, hence no `override`; `# TYPE ... histogram` comes from the type field.
 */
class StoredHistogram extends Histogram<'output'> {
  constructor(
    private readonly family: string,
    private readonly description: string,
    private readonly readSeries: () => ReadonlyArray<readonly [string, PlainHistogram]>,
    register: Registry,
  ) {
    super({ name: family, help: description, labelNames: ['output'], registers: [register] });
  }

  getForPromString(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: ExportValue[];
  }> {
    const values = this.readSeries().flatMap(([output, h]) => histogramValues(this.family, { output }, h));
    return Promise.resolve({ name: this.family, help: this.description, type: 'histogram', aggregator: 'sum', values });
  }
}

export function createMetricsRegistry(source: MetricsSource, options: MetricsRegistryOptions = {}): Registry {
  const register = new Registry();
  // Process metrics (CPU, RSS, event loop lag, GC) describe this process: worker threads share
  // it, so only the main thread may collect them or they would be counted twice.
  if (isMainThread) collectDefaultMetrics({ register });

  // One stats() call per scrape: Registry.metrics() calls every collect() synchronously in one
  // turn, so the snapshot is dropped at the next microtask, before any later scrape.
  let snapshot: EngineStats | null = null;
  const stats = (): EngineStats => {
    if (snapshot === null) {
      snapshot = source.stats();
      queueMicrotask(() => {
        snapshot = null;
      });
    }
    return snapshot;
  };

  // Counters are real prom-client Counters so the exposition says `# TYPE x counter`. A
  // Counter cannot be set, so collect() resets it and adds the stored total: the same value,
  // read at scrape time, with no prom-client call when the count changes. Zeros are inc(0),
  // which creates the series, so every label combination is present from the start.
  for (const def of counters) {
    new Counter({
      name: def.name,
      help: def.help,
      labelNames: def.labelNames,
      registers: [register],
      collect() {
        this.reset();
        for (const series of def.read(stats())) this.inc(series.labels, series.value);
      },
    });
  }
  for (const def of gauges) {
    new Gauge({
      name: def.name,
      help: def.help,
      labelNames: def.labelNames,
      registers: [register],
      collect() {
        this.reset();
        for (const series of def.read(stats())) this.set(series.labels, series.value);
      },
    });
  }
  for (const def of histograms) {
    new StoredHistogram(
      def.name,
      def.help,
      () => Object.entries(stats().outputs).map(([output, o]) => [output, def.read(o)] as const),
      register,
    );
  }

  const buildInfo = new Gauge({
    name: 'wsrelay_build_info',
    help: 'Always 1; the version label says which wsrelay is running',
    labelNames: ['version'],
    registers: [register],
  });
  buildInfo.set({ version: options.version ?? packageVersion() }, 1);
  new Gauge({
    name: 'wsrelay_uptime_seconds',
    help: 'Seconds since the process started',
    registers: [register],
    collect() {
      this.set(process.uptime());
    },
  });
  return register;
}
