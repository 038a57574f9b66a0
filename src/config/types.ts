// The resolved, validated pipeline: what the engine runs. Produced from the CLI (src/cli/argv.ts)
// or a config file by src/config/resolve.ts; frozen once built. Every field has its default
// already applied, so the engine never needs to know Fluent Bit's spelling of a key.
import type { Secret } from './secret.js';
import type { ClientTls, ServerTls } from '../tls/config.js';
import type { StorageLimitPolicy, StorageSync, StorageType } from '../storage/config.js';
import type { ListenerLimits } from './net-limits.js';
import type { ParsersConfig } from './parsers.js';

export type LogLevel = 'off' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface ServiceConfig {
  /** Seconds between chunk flushes (Fluent Bit `Flush`, fractions allowed). */
  readonly flushSeconds: number;
  /** Seconds allowed on SIGTERM/SIGINT to deliver what is buffered. */
  readonly graceSeconds: number;
  readonly logLevel: LogLevel;
  /** First retry waits between base and 2·base seconds (plus jitter), doubling up to cap. */
  readonly schedulerBaseSeconds: number;
  readonly schedulerCapSeconds: number;
  /** The metrics/health HTTP server (`HTTP_Server`, `-H`). */
  readonly http: {
    readonly enabled: boolean;
    readonly listen: string;
    readonly port: number;
    /** HTTPS (`http_tls`), or null for plain HTTP. */
    readonly tls: ServerTls | null;
  };
  /** Log to this file instead of stderr (`Log_File`). */
  readonly logFile: string | null;
  /** `storage.path`: where filesystem-buffered outputs keep their chunk files (src/storage). */
  readonly storagePath: string | null;
  /** `storage.sync`: full = fsync each chunk file before its records are acknowledged. */
  readonly storageSync: StorageSync;
  /** `storage.max_chunks_up`: chunks of a filesystem-buffered output held in memory. */
  readonly storageMaxChunksUp: number;
  /** `storage.backlog.mem_limit`: bytes of the backlog found at start loaded into memory, per output. */
  readonly storageBacklogMemLimitBytes: number;
  /** `Health_Check` and `HC_*`: what GET /api/v1/health reports (metrics/server.ts). */
  readonly healthCheck: HealthCheckConfig;
  /** `Parsers_File`: the parsers read and validated at start (not used yet). */
  readonly parsers: ParsersConfig;
}

export interface HealthCheckConfig {
  readonly enabled: boolean;
  /** Unhealthy when more failed flushes than this happened within the period. */
  readonly errorsCount: number;
  /** Unhealthy when more chunks than this were given up (Retry_Limit) within the period. */
  readonly retryFailureCount: number;
  readonly periodSeconds: number;
}

export type TcpFormat = 'json' | 'none';

export interface TcpInputConfig {
  readonly plugin: 'tcp';
  /** Instance name as Fluent Bit prints it: `tcp.0`. */
  readonly name: string;
  /** Tag given to every record; defaults to the instance name. */
  readonly tag: string;
  readonly listen: string;
  readonly port: number;
  readonly format: TcpFormat;
  /** Record separator bytes (default "\n"; a trailing "\r" before it is stripped). */
  readonly separator: string;
  /** Longest accepted record in bytes (Fluent Bit `Buffer_Size`, in KB there; 32 KB default). */
  readonly bufferSizeBytes: number;
  /** Mem_Buf_Limit set on this input, if any (bytes). See OutputConfig.memBufLimitBytes. */
  readonly memBufLimitBytes: number | null;
  /** TLS listener (optionally requiring client certificates), or null for plain TCP. */
  readonly tls: ServerTls | null;
  /** net.max_connections, net.io_timeout, net.record_timeout. */
  readonly limits: ListenerLimits;
  /** `storage.type`: filesystem = chunk files under storage.path before acknowledging. */
  readonly storageType: StorageType;
}

/** Fluentd in_http / Fluent Bit http input: POST /<tag path>. */
export interface HttpInputConfig {
  readonly plugin: 'http';
  readonly name: string;
  /** Tag for a POST to `/`; otherwise the path is the tag. */
  readonly tag: string;
  readonly tagKey: string | null;
  readonly listen: string;
  readonly port: number;
  readonly bufferMaxSizeBytes: number;
  readonly successfulResponseCode: 200 | 201 | 204;
  readonly memBufLimitBytes: number | null;
  readonly tls: ServerTls | null;
  readonly limits: ListenerLimits;
  /** `storage.type`: filesystem = chunk files under storage.path before acknowledging. */
  readonly storageType: StorageType;
}

/** The Fluentd forward protocol (Message, Forward, PackedForward, CompressedPackedForward). */
export interface ForwardInputConfig {
  readonly plugin: 'forward';
  readonly name: string;
  /** Replaces incoming tags when set. */
  readonly tag: string | null;
  readonly tagPrefix: string | null;
  readonly listen: string;
  readonly port: number;
  readonly bufferMaxSizeBytes: number;
  readonly sharedKey: string | null;
  readonly selfHostname: string;
  readonly memBufLimitBytes: number | null;
  readonly tls: ServerTls | null;
  readonly limits: ListenerLimits;
  /** `storage.type`: filesystem = chunk files under storage.path before acknowledging. */
  readonly storageType: StorageType;
}

/** Fluent Bit's dummy input: a fixed record at a fixed rate. */
export interface DummyInputConfig {
  readonly plugin: 'dummy';
  readonly name: string;
  readonly tag: string;
  /** The record, as compact JSON text. */
  readonly dummy: string;
  readonly rate: number;
  readonly copies: number;
  /** Events before stopping; 0 = unlimited. */
  readonly samples: number;
  readonly memBufLimitBytes: number | null;
  /** `storage.type`: filesystem = chunk files under storage.path before acknowledging. */
  readonly storageType: StorageType;
}

/** Fluent Bit's cpu and mem inputs: a /proc sample every interval. */
interface ProcInputConfig {
  readonly name: string;
  readonly tag: string;
  /** Interval_Sec + Interval_NSec. */
  readonly intervalMs: number;
  /** `PID`: one process instead of the whole machine; null = the machine. */
  readonly pid: number | null;
  readonly memBufLimitBytes: number | null;
  /** `storage.type`: filesystem = chunk files under storage.path before acknowledging. */
  readonly storageType: StorageType;
}

export interface CpuInputConfig extends ProcInputConfig {
  readonly plugin: 'cpu';
}

export interface MemInputConfig extends ProcInputConfig {
  readonly plugin: 'mem';
}

export type InputConfig =
  TcpInputConfig | HttpInputConfig | ForwardInputConfig | DummyInputConfig | CpuInputConfig | MemInputConfig;

export type OutputFormat = 'msgpack' | 'json' | 'json_stream' | 'json_lines' | 'gelf';
export type DateFormat = 'double' | 'epoch' | 'epoch_ms' | 'iso8601' | 'java_sql_timestamp';
export type DeliveryMode = 'confirm' | 'write';

export interface GelfKeys {
  readonly shortMessageKey: string | null;
  readonly fullMessageKey: string | null;
  readonly timestampKey: string | null;
  readonly hostKey: string | null;
  readonly levelKey: string | null;
}

export interface WebSocketOutputConfig {
  readonly plugin: 'websocket';
  /** Instance name as Fluent Bit prints it: `websocket.0`. */
  readonly name: string;
  /** Tag pattern with `*` wildcards; null when only matchRegex is set. */
  readonly match: string | null;
  readonly matchRegex: string | null;
  readonly host: string;
  readonly port: number;
  readonly uri: string;
  /** Extra handshake headers, in order, repeatable (`Header X-Key value`). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly format: OutputFormat;
  /** Date key added to JSON records; null when `json_date_key false`. */
  readonly dateKey: string | null;
  readonly dateFormat: DateFormat;
  readonly gelf: GelfKeys;
  /** Number of worker threads, each with one connection (0 in the config means 1). */
  readonly workers: number;
  readonly keepalive: boolean;
  /** Close a connection idle this long (0 = never; pings keep it checked). */
  readonly keepaliveIdleTimeoutSeconds: number;
  readonly connectTimeoutSeconds: number;
  /** Retries after the first try; Infinity = no limit, 0 = no retries. */
  readonly retryLimit: number;
  /** Seconds between keepalive pings on an idle connection; 0 = none. */
  readonly pingIntervalSeconds: number;
  /** Reconnect when a ping (keepalive or delivery confirmation) gets no pong this long. */
  readonly pingTimeoutSeconds: number;
  /** permessage-deflate. */
  readonly compress: boolean;
  /** confirm: a chunk is flushed when a pong sent after it returns; write: when written. */
  readonly delivery: DeliveryMode;
  /** Bytes of chunks buffered for this output before its inputs are paused. */
  readonly memBufLimitBytes: number;
  /** A chunk is sealed when it reaches this many bytes (Fluent Bit's 2 MiB). */
  readonly chunkLimitBytes: number;
  /** Chunks in flight per connection, waiting for their confirmation. */
  readonly inflightPerWorker: number;
  /** wss:// when set; certificates and keys already read. */
  readonly tls: ClientTls | null;
  /** The Authorization header value from http_user/http_passwd (Basic) or bearer_token. */
  readonly authorization: Secret | null;
  /** `storage.total_limit_size`: most bytes of chunk files kept for this output; null = no limit. */
  readonly storageTotalLimitBytes: number | null;
  /**
   * [SERVICE] `storage.backlog.mem_limit`, copied here for src/storage: of the chunks an earlier
   * run left, those that fit in this many bytes (and storage.max_chunks_up) are loaded at start.
   */
  readonly storageBacklogMemLimitBytes: number;
  readonly storageTotalLimitPolicy: StorageLimitPolicy;
}

/** Records as JSON on standard output, for debugging. */
export interface StdoutOutputConfig {
  readonly plugin: 'stdout';
  readonly name: string;
  readonly match: string | null;
  readonly matchRegex: string | null;
  readonly format: 'json_lines' | 'json' | 'json_stream';
  readonly dateKey: string | null;
  readonly dateFormat: DateFormat;
}

/** Discards what it matches (counted). */
export interface NullOutputConfig {
  readonly plugin: 'null';
  readonly name: string;
  readonly match: string | null;
  readonly matchRegex: string | null;
}

/** What a slow `websocket_server` client gets once its queue is full. */
export type SlowClientPolicy = 'close' | 'drop_oldest';
/** message: one message per frame (fluent-plugin-websocket); json_lines: a batch per frame. */
export type ServerFrameFormat = 'message' | 'json_lines';

/** A WebSocket server broadcasting records to its clients (fluent-plugin-websocket). */
export interface WebSocketServerOutputConfig {
  readonly plugin: 'websocket_server';
  readonly name: string;
  readonly match: string | null;
  readonly matchRegex: string | null;
  readonly listen: string;
  readonly port: number;
  /** Request paths that accept a WebSocket upgrade (at least one). */
  readonly paths: readonly string[];
  /** BINARY msgpack frames instead of TEXT JSON frames. */
  readonly useMsgpack: boolean;
  readonly addTag: boolean;
  readonly addTime: boolean;
  readonly format: ServerFrameFormat;
  /** Messages kept for replay to new clients and `?last_id=` resume; 0 = none (and no ids). */
  readonly bufferedMessages: number;
  readonly token: string | null;
  /** 0 = no limit. */
  readonly maxClients: number;
  /** Seconds between pings; a client that has not answered the previous one is cut; 0 = none. */
  readonly pingIntervalSeconds: number;
  /** Origins allowed to connect; null = any. */
  readonly allowedOrigins: readonly string[] | null;
  readonly maxClientQueueBytes: number;
  readonly slowClientPolicy: SlowClientPolicy;
  /** wss:// and https://, or null. */
  readonly tls: ServerTls | null;
  /** Serve the live-tail page on GET /. */
  readonly liveTail: boolean;
}

export type OutputConfig = WebSocketOutputConfig | StdoutOutputConfig | NullOutputConfig | WebSocketServerOutputConfig;

export interface PipelineConfig {
  readonly service: ServiceConfig;
  readonly inputs: ReadonlyArray<InputConfig>;
  readonly outputs: ReadonlyArray<OutputConfig>;
}
