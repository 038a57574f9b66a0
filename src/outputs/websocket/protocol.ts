// Every message that crosses between the main thread and a websocket worker thread. Results
// are plain discriminated objects (errors do not survive structured cloning intact).
import type { ChunkSource } from '../../chunk/layout.js';
import type { DeliveryMode, LogLevel } from '../../config/types.js';
import type { EncoderOptions } from '../../encode/types.js';
import type { ClientTlsData } from '../../tls/options.js';

/** Given to every worker of one output at start (Piscina workerData). */
export interface WorkerSettings {
  readonly outputName: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly encoder: EncoderOptions;
  readonly delivery: DeliveryMode;
  readonly connectTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  /** Close an idle connection after this long; 0 = never; -1 = after every chunk (keepalive off). */
  readonly idleCloseMs: number;
  readonly compress: boolean;
  /** wss://: certificates and keys as PEM text (plain data crosses threads), or null. */
  readonly tls: ClientTlsData | null;
  readonly logLevel: LogLevel;
  /** Log_File, or null for stderr. */
  readonly logFile: string | null;
  /** BroadcastChannel name for connection events and the shutdown request. */
  readonly channel: string;
  /** One worker: chunks must reach the server in id order, retries included. */
  readonly ordered: boolean;
  /** One Int32 slot, atomically incremented to number the workers #0, #1, ... */
  readonly workerCounter: SharedArrayBuffer;
}

export interface FlushTask {
  readonly chunkId: number;
  /**
   * Shared, not copied and not moved: the main thread keeps the chunk until its result says
   * flushed, so a worker thread that dies mid-send loses nothing (the chunk is sent again).
   * Nobody writes into it until the result has come back.
   */
  readonly arena: SharedArrayBuffer;
  readonly byteLength: number;
  readonly sources: ChunkSource[];
  readonly attempt: number;
  /** The delivery epoch it was dispatched in (ordered mode: see delivery-order.ts). */
  readonly epoch: number;
}

export interface MalformedCount {
  readonly source: number;
  readonly count: number;
  readonly sample: string;
}

interface ResultBase {
  readonly chunkId: number;
  readonly worker: number;
  readonly malformed: MalformedCount[];
  /** Pongs this worker's connections ignored so far (not echoes of an outstanding ping of theirs). */
  readonly pongsIgnored: number;
}

export type FlushResult =
  | (ResultBase & {
    readonly status: 'flushed';
    /** Valid records encoded and delivered. */
    readonly records: number;
    /** Bytes of the WebSocket message payload. */
    readonly bytes: number;
  })
  | (ResultBase & {
    /** not_sent: never written (no connection); failed: written, then not confirmed. */
    readonly status: 'not_sent' | 'failed';
    readonly reason: string;
    readonly records: number;
  })
  | (ResultBase & {
    /**
     * Ordered mode: dispatched in a delivery epoch the worker has ended, so sending it now would
     * overtake an earlier chunk's retry (delivery-order.ts). Not an attempt: it goes back in the queue.
     */
    readonly status: 'held';
  });

/** Worker → main thread, on the output's BroadcastChannel. */
export type WorkerEvent =
  | { readonly type: 'started'; readonly worker: number; readonly threadId: number }
  /** elapsedMs: how long the attempt took (threads' monotonic clocks do not share an origin). */
  | { readonly type: 'handshake'; readonly worker: number; readonly ok: boolean; readonly detail: string;
    readonly elapsedMs: number }
  | { readonly type: 'closed'; readonly worker: number; readonly detail: string }
  | { readonly type: 'stopped'; readonly worker: number };

/** Main thread → workers, on the same channel. */
export type ControlMessage = { readonly type: 'shutdown' };
