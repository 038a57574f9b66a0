// Schemas of the plugins beyond the core tcp → websocket pair: the http, forward, dummy, cpu and
// mem inputs and the stdout, null and websocket_server outputs. Keys and defaults follow Fluent Bit (and Fluentd's
// in_http for the port of the seed's curl example).
import type { DateFormat, ServerFrameFormat, SlowClientPolicy } from './types.js';
import { badValue, parseBoolean, parseSeconds, parseSize, parseWord, type ValueParser } from './values.js';
import { int, oneOf, parseDateKey, parseRegex, positive, prop, secret, type Schema } from './schema-kit.js';
import { LISTENER_TLS_KEYS } from '../tls/config.js';
import { INPUT_STORAGE_KEYS } from '../storage/config.js';
import { LISTENER_LIMIT_KEYS } from './net-limits.js';

const DATE_FORMATS: readonly DateFormat[] = ['double', 'epoch', 'epoch_ms', 'iso8601', 'java_sql_timestamp'];
const LOCAL_FORMATS = ['json_lines', 'json', 'json_stream'] as const;
export type LocalOutputFormat = (typeof LOCAL_FORMATS)[number];

/** The dummy record must be a JSON object: checked at start, not at the first emission. */
const parseJsonObject: ValueParser<string> = (v, ctx) => {
  try {
    const parsed: unknown = JSON.parse(v);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return JSON.stringify(parsed);
  } catch {
    // reported below
  }
  throw badValue(ctx, 'a JSON object', v);
};

const parsePositiveNumber: ValueParser<number> = (v, ctx) => {
  const n = Number(v.trim());
  if (!Number.isFinite(n) || n <= 0) throw badValue(ctx, 'a number > 0', v);
  return n;
};

const memBufLimit = prop<number | null>(
  positive(parseSize),
  null,
  'Pause this input when this much is buffered (size)',
);
const match = prop<string | null>(parseWord, null, "Tag pattern of the records to take ('*' wildcards)");
const matchRegex = prop<string | null>(parseRegex, null, 'Regular expression on the tag, instead of match');
const alias = (plugin: string) =>
  prop<string | null>(parseWord, null, `Instance name used in logs and metrics instead of ${plugin}.N`);

export const HTTP_SCHEMA = {
  listen: prop(parseWord, '0.0.0.0', 'Address to listen on'),
  port: prop(int(0, 65535), 8888, 'TCP port to listen on (Fluentd in_http uses 9880; 8888 as in the seed example)'),
  tag: prop<string | null>(
    parseWord,
    null,
    'Tag for a POST to /; otherwise the URL path is the tag (foo/bar → foo.bar)',
    {
      shown: 'http.N',
    },
  ),
  tag_key: prop<string | null>(parseWord, null, 'Take the tag from this record key when present'),
  buffer_max_size: prop(positive(parseSize), 4 * 1024 * 1024, 'Largest accepted body; larger gets 413', {
    shown: '4M',
  }),
  buffer_chunk_size: prop(parseSize, 512 * 1024, 'Accepted for Fluent Bit compatibility; no effect', { shown: '512K' }),
  successful_response_code: prop(
    (v, ctx) => {
      const code = int(200, 204)(v, ctx);
      if (code !== 200 && code !== 201 && code !== 204) throw badValue(ctx, '200, 201 or 204', v);
      return code;
    },
    204,
    'Status answered when the records are buffered: 200, 201 or 204',
  ),
  mem_buf_limit: memBufLimit,
  alias: alias('http'),
  ...INPUT_STORAGE_KEYS,
  ...LISTENER_LIMIT_KEYS,
  ...LISTENER_TLS_KEYS,
  'tls.key_passwd': secret(LISTENER_TLS_KEYS['tls.key_passwd']),
} as const satisfies Schema;

export const FORWARD_SCHEMA = {
  listen: prop(parseWord, '0.0.0.0', 'Address to listen on'),
  port: prop(int(0, 65535), 24224, 'TCP port to listen on'),
  tag: prop<string | null>(parseWord, null, "Replace every incoming tag with this one (default: keep the sender's)"),
  tag_prefix: prop<string | null>(parseWord, null, 'Prefix added to every incoming tag'),
  buffer_max_size: prop(
    positive(parseSize),
    6 * 1024 * 1024,
    'Largest accepted message; a larger one closes the connection',
    {
      shown: '6M',
    },
  ),
  buffer_chunk_size: prop(parseSize, 1024 * 1024, 'Accepted for Fluent Bit compatibility; no effect', { shown: '1M' }),
  shared_key: prop<string | null>(parseWord, null, 'Require the forward protocol handshake with this shared key', {
    secret: true,
  }),
  self_hostname: prop<string | null>(parseWord, null, 'Host name announced in the handshake', { shown: 'host name' }),
  mem_buf_limit: memBufLimit,
  alias: alias('forward'),
  ...INPUT_STORAGE_KEYS,
  ...LISTENER_LIMIT_KEYS,
  ...LISTENER_TLS_KEYS,
  'tls.key_passwd': secret(LISTENER_TLS_KEYS['tls.key_passwd']),
} as const satisfies Schema;

export const DUMMY_SCHEMA = {
  dummy: prop(parseJsonObject, '{"message":"dummy"}', 'The record to generate (a JSON object)'),
  rate: prop(parsePositiveNumber, 1, 'Events per second'),
  copies: prop(int(1, 1_000_000), 1, 'Records per event'),
  samples: prop(int(0, Number.MAX_SAFE_INTEGER), 0, 'Stop after this many events; 0 = never'),
  tag: prop<string | null>(parseWord, null, 'Tag of the records', { shown: 'dummy.N' }),
  mem_buf_limit: memBufLimit,
  alias: alias('dummy'),
  ...INPUT_STORAGE_KEYS,
} as const satisfies Schema;

/** Fluent Bit's cpu and mem keys: both intervals 0 means its default, 1 s. */
const PROC_SCHEMA = {
  interval_sec: prop(int(0, 86_400), 1, 'Seconds between samples (added to interval_nsec)'),
  interval_nsec: prop(int(0, 999_999_999), 0, 'Nanoseconds between samples (added to interval_sec)'),
  pid: prop(int(0, 4_194_304), 0, 'Sample only this process; 0 = the whole machine'),
  mem_buf_limit: memBufLimit,
  ...INPUT_STORAGE_KEYS,
} as const satisfies Schema;

export const CPU_SCHEMA = {
  ...PROC_SCHEMA,
  tag: prop<string | null>(parseWord, null, 'Tag of the records', { shown: 'cpu.N' }),
  alias: alias('cpu'),
} as const satisfies Schema;

export const MEM_SCHEMA = {
  ...PROC_SCHEMA,
  tag: prop<string | null>(parseWord, null, 'Tag of the records', { shown: 'mem.N' }),
  alias: alias('mem'),
} as const satisfies Schema;

export const STDOUT_SCHEMA = {
  format: prop(oneOf(LOCAL_FORMATS), 'json_lines' as LocalOutputFormat, `Format: ${LOCAL_FORMATS.join('|')}`),
  json_date_key: prop<string | null>(parseDateKey, 'date', 'Key of the timestamp added to records; false = none'),
  json_date_format: prop(
    oneOf<DateFormat>(DATE_FORMATS, { epoch_millis: 'epoch_ms', epoch_milliseconds: 'epoch_ms' }),
    'double' as DateFormat,
    `Timestamp format: ${DATE_FORMATS.join('|')}`,
  ),
  match,
  match_regex: matchRegex,
  alias: alias('stdout'),
} as const satisfies Schema;

export const NULL_SCHEMA = {
  match,
  match_regex: matchRegex,
  alias: alias('null'),
} as const satisfies Schema;

// ---- websocket_server -----------------------------------------------------------------------

/** `/feed,/logs`: several paths may be served (eKuiper-style); each is an exact request path. */
const parsePaths: ValueParser<readonly string[]> = (v, ctx) => {
  const paths = v.split(',').map((p) => p.trim());
  for (const path of paths) {
    if (!path.startsWith('/') || /[\s?#]/.test(path))
      throw badValue(ctx, "paths starting with '/', comma-separated", v);
  }
  return [...new Set(paths)];
};

/** `https://a.example,http://localhost:3000`; `*` = any origin (the default). */
const parseOrigins: ValueParser<readonly string[] | null> = (v, ctx) => {
  const origins = v
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  if (origins.length === 0) throw badValue(ctx, "origins such as https://example.com, comma-separated, or '*'", v);
  if (origins.includes('*')) return null;
  for (const origin of origins) {
    if (!/^[a-z][a-z0-9+.-]*:\/\/[^/\s]+$/i.test(origin))
      throw badValue(ctx, 'origins such as https://example.com (no path)', v);
  }
  // Browsers send the scheme and host in lowercase; compare that way.
  return origins.map((o) => o.toLowerCase());
};

const SERVER_FORMATS: readonly ServerFrameFormat[] = ['message', 'json_lines'];
const SLOW_POLICIES: readonly SlowClientPolicy[] = ['close', 'drop_oldest'];

export const WEBSOCKET_SERVER_SCHEMA = {
  listen: prop(parseWord, '0.0.0.0', 'Address to listen on'),
  host: prop<string | null>(parseWord, null, "Same as listen (fluent-plugin-websocket's name); wins when set"),
  port: prop(int(0, 65535), 8080, 'TCP port to listen on (0 = any free port)'),
  path: prop(parsePaths, ['/'] as readonly string[], 'Paths accepting WebSocket clients, comma-separated', {
    shown: '/',
  }),
  use_msgpack: prop(parseBoolean, false, 'msgpack in BINARY frames; off: JSON in TEXT frames'),
  add_tag: prop(parseBoolean, true, 'Put the tag first in each message: [tag, time, record]'),
  add_time: prop(parseBoolean, false, 'Put the time (integer seconds) before the record'),
  format: prop(
    oneOf(SERVER_FORMATS),
    'message' as ServerFrameFormat,
    'message: one message per frame; json_lines: a frame holds many, one per line',
  ),
  buffered_messages: prop(
    int(0, 10_000_000),
    0,
    'Last N messages replayed to new clients; adds ids for ?last_id= resume',
  ),
  token: prop<string | null>(parseWord, null, 'Required from clients as ?token= or Authorization: Bearer', {
    secret: true,
  }),
  max_clients: prop(int(0, 1_000_000), 1000, 'Clients connected at once; more get HTTP 503; 0 = no limit'),
  ping_interval: prop(parseSeconds, 30, 'Seconds between pings; no pong by the next one cuts the client; 0 = none'),
  allowed_origins: prop<readonly string[] | null>(
    parseOrigins,
    null,
    "Origin header values allowed, comma-separated; others get 403; '*' = any",
    { shown: '*' },
  ),
  max_client_queue: prop(
    positive(parseSize),
    4 * 1024 * 1024,
    'Bytes queued for one client before slow_client_policy applies',
    {
      shown: '4M',
    },
  ),
  slow_client_policy: prop(
    oneOf(SLOW_POLICIES),
    'close' as SlowClientPolicy,
    'close: disconnect with 1013; drop_oldest: drop its oldest queued messages',
  ),
  tls: prop(parseBoolean, false, 'Serve wss:// and https:// (needs tls.crt_file and tls.key_file)'),
  'tls.crt_file': prop<string | null>(parseWord, null, 'Certificate chain file (PEM)'),
  'tls.key_file': prop<string | null>(parseWord, null, 'Private key file (PEM)'),
  'tls.key_passwd': secret(LISTENER_TLS_KEYS['tls.key_passwd']),
  live_tail: prop(parseBoolean, true, 'Serve a live-tail web page on GET /'),
  match,
  match_regex: matchRegex,
  alias: alias('websocket_server'),
} as const satisfies Schema;
