// The websocket output's threads: a Piscina pool of `workers` threads, each owning one
// connection (../worker/thread.ts), and the BroadcastChannel on which they announce
// handshakes and closes and are asked to close their connections at shutdown.
import { BroadcastChannel, type Worker } from 'node:worker_threads';
import { hostname } from 'node:os';
import { Piscina } from 'piscina';
import type { ServiceConfig, WebSocketOutputConfig } from '../../../config/types.js';
import type { Logger } from '../../../log.js';
import { clientTlsData } from '../../../tls/options.js';
import type { DeliveryFailure, FlushResult, FlushTask, WorkerEvent, WorkerSettings } from '../protocol.js';

const workerFile = new URL('../worker/thread.js', import.meta.url).href;

// A worker's JS heap stays small (records never become objects on the byte paths), so a small
// young generation costs little, where V8's default lets it grow to 16 MB per thread (the peak
// RSS this saves is in docs/PERFORMANCE.md, "Memory").
const YOUNG_GENERATION_MB = 4;

/** How long shutdown waits for the workers to close their connections with a close frame. */
const STOP_WAIT_MS = 3000;

let channelSequence = 0;

export interface PoolEvents {
  /** failure: null when it succeeded; startedAt: when the attempt began, on this thread's monotonic clock. */
  onHandshake(failure: DeliveryFailure | null, worker: number, startedAt: number): void;
  onClosed(worker: number): void;
}

export function urlOf(config: WebSocketOutputConfig): string {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const uri = config.uri.startsWith('/') ? config.uri : `/${config.uri}`;
  return `${config.tls === null ? 'ws' : 'wss'}://${host}:${config.port}${uri}`;
}

/** Header lines, plus Authorization from http_user/http_passwd or bearer_token. */
function handshakeHeaders(config: WebSocketOutputConfig): Record<string, string> {
  const headers = Object.fromEntries(config.headers);
  if (config.authorization !== null) headers.Authorization = config.authorization.value;
  return headers;
}

export class WorkerPool {
  private readonly pool: Piscina<FlushTask, FlushResult>;
  private readonly channel: BroadcastChannel;
  private readonly started = new Set<number>();
  private readonly stopped = new Set<number>();
  /** Piscina knows threads by threadId; the workers number themselves #0, #1… */
  private readonly indexOfThread = new Map<number, number>();
  /** Workers whose connection is open now. */
  private readonly open = new Set<number>();
  private stopping: (() => void) | null = null;

  constructor(
    config: WebSocketOutputConfig,
    service: ServiceConfig,
    url: string,
    private readonly log: Logger,
    private readonly events: PoolEvents,
  ) {
    this.channel = new BroadcastChannel(`wsrelay:${process.pid}:${config.name}:${channelSequence++}`);
    this.channel.onmessage = (event) => this.onWorkerEvent((event as { data: WorkerEvent }).data);
    const settings: WorkerSettings = {
      outputName: config.name,
      url,
      headers: handshakeHeaders(config),
      encoder: {
        format: config.format,
        dateKey: config.dateKey,
        dateFormat: config.dateFormat,
        gelf: config.gelf,
        hostname: hostname(),
      },
      delivery: config.delivery,
      connectTimeoutMs: config.connectTimeoutSeconds * 1000,
      pingIntervalMs: config.pingIntervalSeconds * 1000,
      pingTimeoutMs: config.pingTimeoutSeconds * 1000,
      idleCloseMs: config.keepalive ? config.keepaliveIdleTimeoutSeconds * 1000 : -1,
      compress: config.compress,
      tls: config.tls === null ? null : clientTlsData(config.tls),
      logLevel: log.level,
      logFile: service.logFile,
      channel: this.channel.name,
      ordered: config.workers === 1,
      workerCounter: new SharedArrayBuffer(4),
    };
    // What Piscina needs to run threads that each own a connection, each with its why:
    // - fixed threads (minThreads = maxThreads, idleTimeout Infinity): a thread is a connection;
    //   one reaped when idle would drop it, one added under load would open another;
    // - atomics 'disabled': Piscina parks an idle thread in Atomics.wait, where it would neither
    //   answer pings nor run its reconnect timers;
    // - concurrentTasksPerWorker = inflight_chunks: several chunks of one connection wait for
    //   their confirmations at once (their encoding still takes turns: worker/write-turns.ts);
    // - worker numbering: Piscina knows threads by threadId, which says nothing to an operator and
    //   changes when a thread is replaced; each thread takes the next number from a shared
    //   counter (workerCounter) and announces it with its threadId ('started'), so logs and
    //   metrics say worker #0, #1… and a replacement gets a new number;
    // - thread death (workerCreate + exit, below): a thread that dies never says its connection
    //   closed.
    this.pool = new Piscina<FlushTask, FlushResult>({
      filename: workerFile,
      name: 'default',
      minThreads: config.workers,
      maxThreads: config.workers,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: config.inflightPerWorker,
      atomics: 'disabled',
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      workerData: settings,
    });
    this.pool.on('error', (error: unknown) => {
      this.log.error(`worker thread failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    // A thread that dies never says its connection closed: say it for it, or the open
    // connection count (and the worker's gauge) would stay up for good. (Piscina's own
    // workerDestroy event comes after exit, when the thread's id already reads -1.)
    this.pool.on('workerCreate', (created: { readonly id: number }) => {
      const id = created.id;
      this.pool.threads.find((thread) => thread.threadId === id)?.once('exit', () => this.threadExited(id));
    });
  }

  run(task: FlushTask): Promise<FlushResult> {
    return this.pool.run(task);
  }

  get utilization(): number {
    return this.pool.utilization;
  }

  get queueSize(): number {
    return this.pool.queueSize;
  }

  /** The threads now (the fault tests kill one to show its chunks are retried). */
  get threads(): ReadonlyArray<Worker> {
    return this.pool.threads;
  }

  /**
   * Asks every worker to close its connection with a close frame (1000), waits for them (at most
   * STOP_WAIT_MS), then destroys the pool. Only threads that have started are waited for: one
   * still starting has no connection to close, and would never hear the request.
   */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        const waiting = [...this.started].filter((worker) => !this.stopped.has(worker));
        this.log.warn(
          `worker(s) ${waiting.map((w) => `#${w}`).join(', ')} did not close their connection within ` +
            `${STOP_WAIT_MS / 1000} s: ending them with their threads`,
        );
        resolve();
      }, STOP_WAIT_MS);
      this.stopping = () => {
        clearTimeout(timer);
        resolve();
      };
      this.channel.postMessage({ type: 'shutdown' });
      this.checkStopped();
    });
    await this.pool.destroy();
    this.channel.close();
  }

  private checkStopped(): void {
    for (const worker of this.started) if (!this.stopped.has(worker)) return;
    this.stopping?.();
  }

  private threadExited(threadId: number): void {
    const worker = this.indexOfThread.get(threadId);
    if (worker === undefined) return;
    this.indexOfThread.delete(threadId);
    this.connectionClosed(worker);
    // A dead thread has no connection left to close: shutdown must not wait for it to say so.
    this.stopped.add(worker);
    this.checkStopped();
  }

  private connectionClosed(worker: number): void {
    if (this.open.delete(worker)) this.events.onClosed(worker);
  }

  private onWorkerEvent(event: WorkerEvent): void {
    switch (event.type) {
      case 'handshake':
        if (event.ok) this.open.add(event.worker);
        this.events.onHandshake(event.ok ? null : event.failure, event.worker, performance.now() - event.elapsedMs);
        break;
      case 'closed':
        this.connectionClosed(event.worker);
        break;
      case 'started':
        this.started.add(event.worker);
        this.indexOfThread.set(event.threadId, event.worker);
        // Started after the shutdown request went out: it missed it.
        if (this.stopping) this.channel.postMessage({ type: 'shutdown' });
        break;
      case 'stopped':
        this.stopped.add(event.worker);
        this.checkStopped();
        break;
    }
  }
}
