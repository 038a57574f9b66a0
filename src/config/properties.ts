// The property schema of every section wsrelay understands: the one place that knows the
// keys, their parsers, defaults and one-line descriptions. resolve.ts validates against it,
// help.ts and the README reference are generated from it, so they cannot drift apart.
// Keys are lowercase; the user's spelling is matched case-insensitively (as Fluent Bit).
import type { DateFormat, DeliveryMode, LogLevel, OutputFormat, TcpFormat } from './types.js';
import { excerpt } from './errors.js';
import {
  badValue,
  badValueSaying,
  parseBoolean,
  parseEscaped,
  parseInteger,
  parseRetryLimit,
  parseSeconds,
  parseSize,
  parseSizeKb,
  parseWord,
  type ValueParser,
} from './values.js';
import {
  int,
  oneOf,
  parseDateKey,
  parseRegex,
  parseText,
  positive,
  positiveSeconds,
  prop,
  repeat,
  secret,
  type Schema,
} from './schema-kit.js';
import { CLIENT_TLS_KEYS, LISTENER_TLS_KEYS, METRICS_TLS_KEYS } from '../tls/config.js';
import { INPUT_STORAGE_KEYS, OUTPUT_STORAGE_KEYS, SERVICE_STORAGE_KEYS } from '../storage/config.js';
import { LISTENER_LIMIT_KEYS } from './net-limits.js';
import { HEALTH_KEYS, SERVICE_COMPAT_KEYS } from './service-keys.js';
import {
  CPU_SCHEMA,
  DUMMY_SCHEMA,
  FORWARD_SCHEMA,
  HTTP_SCHEMA,
  MEM_SCHEMA,
  NULL_SCHEMA,
  STDOUT_SCHEMA,
  WEBSOCKET_SERVER_SCHEMA,
} from './plugin-schemas.js';

export type { PropertySpec, RepeatableProperty, Schema, SchemaValues, SingleProperty } from './schema-kit.js';

// ---- parsers specific to a key ------------------------------------------------------------

const parseUri: ValueParser<string> = (v, ctx) => {
  const text = v.trim();
  // It goes verbatim into the request line `GET <uri> HTTP/1.1`.
  if (!text.startsWith('/') || /\s/.test(text)) throw badValue(ctx, "a path starting with '/'", v);
  return text;
};

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What Node's http accepts in a header value (no CR or LF: no header injection). */
const HEADER_VALUE_CHARS = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * `X-Key some value` → ['X-Key', 'some value']; a colon after the name is tolerated. Split at
 * the first blank, without a regex that backtracks (`^\s*(\S+?):?\s+(.*?)\s*$` is quadratic
 * in the blanks inside the value). The key is secret but only its values are (secretParts):
 * errors quote a valid header name, never a value.
 */
const parseHeader: ValueParser<readonly [string, string]> = (v, ctx) => {
  const text = v.trim();
  const space = text.search(/\s/);
  const word = space < 0 ? text : text.slice(0, space);
  const name = word.endsWith(':') ? word.slice(0, -1) : word;
  const value = space < 0 ? '' : text.slice(space).trim();
  const expected = "'Header-Name value'";
  if (!HEADER_NAME.test(name)) {
    throw badValueSaying(
      ctx,
      expected,
      space < 0 ? 'neither a header name nor a value' : 'a header name with characters a name cannot have',
    );
  }
  if (value === '') throw badValueSaying(ctx, expected, `'${excerpt(name)}' with no value after it`);
  if (!HEADER_VALUE_CHARS.test(value)) {
    throw badValueSaying(
      ctx,
      `${expected} without control characters`,
      `a value of '${excerpt(name)}' with control characters (CR, LF, ...)`,
    );
  }
  return [name, value] as const;
};

/** workers 0 means one worker, as in Fluent Bit (where 0 means "in the engine thread"). */
const parseWorkers: ValueParser<number> = (v, ctx) => Math.max(1, parseInteger(v, ctx, 0, 64));

// ---- schemas -------------------------------------------------------------------------------

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace', 'off'];
const TCP_FORMATS: readonly TcpFormat[] = ['json', 'none'];
const OUTPUT_FORMATS: readonly OutputFormat[] = ['msgpack', 'json', 'json_stream', 'json_lines', 'gelf'];
const DATE_FORMATS: readonly DateFormat[] = ['double', 'epoch', 'epoch_ms', 'iso8601', 'java_sql_timestamp'];
const DELIVERY: readonly DeliveryMode[] = ['confirm', 'write'];
const MIB = 1024 * 1024;

export const SERVICE_SCHEMA = {
  flush: prop(positiveSeconds, 1, 'Seconds between flushes of buffered records (fractions allowed)'),
  grace: prop(parseSeconds, 5, 'Seconds allowed on SIGTERM/SIGINT to deliver what is buffered'),
  log_level: prop(oneOf(LOG_LEVELS), 'info' as LogLevel, `Log level: ${LOG_LEVELS.join('|')}`),
  'scheduler.base': prop(positiveSeconds, 5, 'Retry backoff: the first retry waits between base and 2*base seconds'),
  'scheduler.cap': prop(positiveSeconds, 2000, 'Retry backoff: longest wait between retries, in seconds'),
  log_file: prop<string | null>(parseWord, null, 'Write the log to this file instead of standard error'),
  'storage.path': prop<string | null>(parseWord, null, 'Directory of the chunk files of filesystem-buffered inputs'),
  ...SERVICE_STORAGE_KEYS,
  http_server: prop(parseBoolean, false, 'Serve Prometheus metrics, /healthz and /readyz over HTTP (same as -H)'),
  http_listen: prop(parseWord, '0.0.0.0', 'Address the metrics server listens on'),
  http_port: prop(int(0, 65535), 2020, 'Port of the metrics server (same as -P)'),
  ...METRICS_TLS_KEYS,
  'http_tls.key_passwd': secret(METRICS_TLS_KEYS['http_tls.key_passwd']),
  ...HEALTH_KEYS,
  ...SERVICE_COMPAT_KEYS,
} as const satisfies Schema;

export const TCP_SCHEMA = {
  listen: prop(parseWord, '0.0.0.0', 'Address to listen on'),
  port: prop(int(0, 65535), 5170, 'TCP port to listen on (0 = any free port)'),
  format: prop(
    oneOf(TCP_FORMATS),
    'json' as TcpFormat,
    'json: one JSON object per line; none: each line becomes {"log": line}',
  ),
  separator: prop(parseEscaped, '\n', 'Record separator, for both formats (\\n, \\r\\n, \\t escapes understood)', {
    shown: '\\n',
  }),
  buffer_size: prop(positive(parseSizeKb), 32 * 1024, 'Longest accepted record; a bare number is in KB (Fluent Bit)', {
    shown: '32',
  }),
  chunk_size: prop(parseSizeKb, 32 * 1024, 'Accepted for Fluent Bit compatibility; no effect', { shown: '32' }),
  tag: prop<string | null>(parseWord, null, 'Tag given to every record; by default the instance name', {
    shown: 'tcp.N',
  }),
  mem_buf_limit: prop<number | null>(
    positive(parseSize),
    null,
    'Pause reading when this much is buffered (size, e.g. 64M)',
  ),
  alias: prop<string | null>(parseWord, null, 'Instance name used in logs and metrics instead of tcp.N'),
  ...INPUT_STORAGE_KEYS,
  ...LISTENER_LIMIT_KEYS,
  ...LISTENER_TLS_KEYS,
  'tls.key_passwd': secret(LISTENER_TLS_KEYS['tls.key_passwd']),
} as const satisfies Schema;

export const WEBSOCKET_SCHEMA = {
  host: prop(parseWord, '127.0.0.1', 'WebSocket server host name or IP address'),
  port: prop(int(1, 65535), 80, 'WebSocket server port'),
  uri: prop(parseUri, '/', 'Request path of the WebSocket handshake'),
  // Secret: header values are where API keys and cookies go. The names stay visible.
  header: repeat(parseHeader, "Extra handshake header 'Name value'", {
    secret: true,
    secretParts: ([, value]) => [value],
  }),
  format: prop(oneOf(OUTPUT_FORMATS), 'msgpack' as OutputFormat, `Payload format: ${OUTPUT_FORMATS.join('|')}`),
  json_date_key: prop<string | null>(parseDateKey, 'date', 'Key of the timestamp added to JSON records; false = none'),
  json_date_format: prop(
    oneOf<DateFormat>(DATE_FORMATS, { epoch_millis: 'epoch_ms', epoch_milliseconds: 'epoch_ms' }),
    'double' as DateFormat,
    `Timestamp format: ${DATE_FORMATS.join('|')}`,
  ),
  gelf_short_message_key: prop<string | null>(
    parseWord,
    null,
    'GELF: record key used as short_message (unset: short_message as in Fluent Bit, then log, message, else the record as JSON)',
  ),
  gelf_full_message_key: prop<string | null>(
    parseWord,
    null,
    'GELF: record key used as full_message (unset: full_message, as in Fluent Bit)',
  ),
  gelf_timestamp_key: prop<string | null>(
    parseWord,
    null,
    'GELF: record key used as timestamp (unset: timestamp, as in Fluent Bit; absent or not a number: the record time)',
  ),
  gelf_host_key: prop<string | null>(
    parseWord,
    null,
    "GELF: record key used as host (unset: host, as in Fluent Bit; absent: the relay's hostname)",
  ),
  gelf_level_key: prop<string | null>(
    parseWord,
    null,
    'GELF: record key used as level (unset: level, as in Fluent Bit; 0-7 or a syslog keyword)',
  ),
  workers: prop(parseWorkers, 1, 'Worker threads, one connection each (0 means 1; at most 64)'),
  idle_interval: prop(parseSeconds, 20, 'Obsolete, ignored: pings now probe the connection', {
    obsolete:
      "'idle_interval' is obsolete and ignored: pings now probe the connection (see ping_interval, ping_timeout)",
  }),
  'net.keepalive': prop(parseBoolean, true, 'Keep the connection open between flushes'),
  'net.keepalive_idle_timeout': prop(
    parseSeconds,
    0,
    'Close a connection idle this many seconds; 0 = never (Fluent Bit: 30; pings check it instead)',
  ),
  'net.connect_timeout': prop(positiveSeconds, 10, 'Seconds allowed for TCP connect and handshake'),
  retry_limit: prop(parseRetryLimit, 1, 'Retries after the first try: N, no_limits or no_retries'),
  ping_interval: prop(parseSeconds, 20, 'Seconds between pings on an idle connection; 0 = no pings'),
  ping_timeout: prop(positiveSeconds, 10, 'Reconnect when a ping gets no pong within this many seconds'),
  compress: prop(parseBoolean, false, 'permessage-deflate compression'),
  delivery: prop(
    oneOf(DELIVERY),
    'confirm' as DeliveryMode,
    'confirm: a chunk counts as sent when a later pong returns; write: when written',
  ),
  mem_buf_limit: prop<number | null>(
    positive(parseSize),
    null,
    'Bytes buffered for this output before inputs pause (default: smallest input mem_buf_limit, ' +
      'else 32M or, if more, workers × inflight_chunks × chunk_limit_size)',
    { shown: '32M' },
  ),
  chunk_limit_size: prop(positive(parseSize), 2 * MIB, 'A chunk (one WebSocket message) is sealed at this size', {
    shown: '2M',
  }),
  inflight_chunks: prop(int(1, 64), 4, 'Chunks sent per connection and awaiting confirmation'),
  match: prop<string | null>(
    parseWord,
    null,
    "Tag pattern of the records to send ('*' wildcards); '*' when one input and one output",
  ),
  match_regex: prop<string | null>(parseRegex, null, 'Regular expression on the tag, instead of match'),
  alias: prop<string | null>(parseWord, null, 'Instance name used in logs and metrics instead of websocket.N'),
  ...OUTPUT_STORAGE_KEYS,
  http_user: prop<string | null>(parseText, null, 'User name for HTTP Basic authentication of the handshake'),
  http_passwd: prop<string | null>(parseText, null, 'Password for HTTP Basic authentication (with http_user)', {
    secret: true,
  }),
  bearer_token: prop<string | null>(parseText, null, 'Token sent as Authorization: Bearer TOKEN in the handshake', {
    secret: true,
  }),
  ...CLIENT_TLS_KEYS,
  'tls.key_passwd': secret(CLIENT_TLS_KEYS['tls.key_passwd']),
  privatekeyraw: secret(CLIENT_TLS_KEYS.privatekeyraw),
} as const satisfies Schema;

/**
 * Default output Mem_Buf_Limit when neither the output nor any input sets one, unless the
 * chunks the workers may have in flight add up to more. 32 MiB holds every chunk four workers
 * can have in flight with the default chunk size; a bigger buffer only delays backpressure and
 * raises the peak RSS, at the same records/s (docs/PERFORMANCE.md, "Figures behind the code").
 */
export const DEFAULT_OUTPUT_MEM_BUF_LIMIT = 32 * MIB;

export const INPUT_SCHEMAS = {
  tcp: TCP_SCHEMA,
  http: HTTP_SCHEMA,
  forward: FORWARD_SCHEMA,
  dummy: DUMMY_SCHEMA,
  cpu: CPU_SCHEMA,
  mem: MEM_SCHEMA,
} as const;
export const OUTPUT_SCHEMAS = {
  websocket: WEBSOCKET_SCHEMA,
  stdout: STDOUT_SCHEMA,
  null: NULL_SCHEMA,
  websocket_server: WEBSOCKET_SERVER_SCHEMA,
} as const;

export type InputPlugin = keyof typeof INPUT_SCHEMAS;
export type OutputPlugin = keyof typeof OUTPUT_SCHEMAS;
/** A section kind as help and the README list it. */
export type SchemaKind = 'service' | InputPlugin | OutputPlugin;

export function schemaFor(kind: SchemaKind): Schema {
  if (kind === 'service') return SERVICE_SCHEMA;
  if (Object.hasOwn(INPUT_SCHEMAS, kind)) return INPUT_SCHEMAS[kind as InputPlugin];
  return OUTPUT_SCHEMAS[kind as OutputPlugin];
}
