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

/**
 * Why an attempt failed or a handshake did not succeed, coded so that an operator (and the
 * metrics' `reason` label, main/delivery-counts.ts) can tell a bad certificate from a down server.
 */
export type DeliveryFailureCode =
  /** Nothing listens on the port (ECONNREFUSED). */
  | 'WSR_DELIVERY_REFUSED'
  /** The host name does not resolve. */
  | 'WSR_DELIVERY_DNS'
  /** The network failed under the connection: reset, unreachable, broken pipe. */
  | 'WSR_DELIVERY_NETWORK'
  /** No handshake within net.connect_timeout. */
  | 'WSR_DELIVERY_CONNECT_TIMEOUT'
  /** TLS failed: untrusted or expired certificate, wrong name, a server that does not speak TLS. */
  | 'WSR_DELIVERY_TLS'
  /** The server answered the upgrade with an HTTP status (`status`): 401, 404, 503... */
  | 'WSR_DELIVERY_HANDSHAKE_STATUS'
  /** The server's 101 answer was not a valid WebSocket handshake. */
  | 'WSR_DELIVERY_HANDSHAKE_INVALID'
  /** An open connection did not answer our ping within ping_timeout. */
  | 'WSR_DELIVERY_PONG_TIMEOUT'
  /** The server closed the connection (`closeCode`; 1006 when it just went away). */
  | 'WSR_DELIVERY_CLOSED'
  /** The server broke RFC 6455 (a bad frame, an oversized message): ws closed the connection. */
  | 'WSR_DELIVERY_PROTOCOL'
  /** The socket refused the write. */
  | 'WSR_DELIVERY_WRITE'
  /** The worker thread died or threw with the chunk in flight. */
  | 'WSR_DELIVERY_WORKER_LOST'
  /** The relay is shutting down. */
  | 'WSR_DELIVERY_STOPPED';

export interface DeliveryFailure {
  readonly code: DeliveryFailureCode;
  /** WSR_DELIVERY_CLOSED: the close code received (1006: none, the connection just went). */
  readonly closeCode?: number;
  /** WSR_DELIVERY_HANDSHAKE_STATUS: the HTTP status of the refused upgrade. */
  readonly status?: number;
  /** What happened, for logs: the error text with what to change where we know it. */
  readonly detail: string;
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
      readonly failure: DeliveryFailure;
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
  | { readonly type: 'handshake'; readonly worker: number; readonly ok: true; readonly elapsedMs: number }
  | {
      readonly type: 'handshake';
      readonly worker: number;
      readonly ok: false;
      readonly failure: DeliveryFailure;
      readonly elapsedMs: number;
    }
  | { readonly type: 'closed'; readonly worker: number; readonly failure: DeliveryFailure }
  | { readonly type: 'stopped'; readonly worker: number };

/** Main thread → workers, on the same channel. */
export type ControlMessage = { readonly type: 'shutdown' };
