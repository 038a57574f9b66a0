// Resolvers of the plugins beyond tcp and websocket: http, forward, dummy, cpu and mem inputs, stdout and
// null outputs. Same rules as resolve.ts: names per plugin, aliases unique, defaults applied.
import { hostname } from 'node:os';
import { ConfigError } from './errors.js';
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
import { resolveMatch, type OutputContext } from './match.js';
import { claimName, lastAt, readSection } from './sections.js';
import { resolveListenerTls, resolveServerTls } from '../tls/config.js';
import { resolveListenerLimits } from './net-limits.js';
import type {
  CpuInputConfig,
  DummyInputConfig,
  ForwardInputConfig,
  HttpInputConfig,
  MemInputConfig,
  NullOutputConfig,
  StdoutOutputConfig,
  WebSocketServerOutputConfig,
} from './types.js';
import type { RawSection, SourceLocation } from './raw.js';

type Names = Map<string, SourceLocation>;

export function resolveHttp(section: RawSection, index: number, names: Names, warnings: string[]): HttpInputConfig {
  const indexed = `http.${index}`;
  const label = `INPUT ${indexed}`;
  const v = readSection(HTTP_SCHEMA, section, label, warnings);
  const name = v.alias ?? indexed;
  claimName(name, section, label, names);
  return {
    plugin: 'http',
    name,
    tag: v.tag ?? indexed,
    tagKey: v.tag_key,
    listen: v.listen,
    port: v.port,
    bufferMaxSizeBytes: v.buffer_max_size,
    successfulResponseCode: v.successful_response_code as 200 | 201 | 204,
    memBufLimitBytes: v.mem_buf_limit,
    tls: resolveListenerTls(v, { section, label, warnings }),
    storageType: v['storage.type'],
    limits: resolveListenerLimits(v),
  };
}

export function resolveForward(
  section: RawSection,
  index: number,
  names: Names,
  warnings: string[],
): ForwardInputConfig {
  const indexed = `forward.${index}`;
  const label = `INPUT ${indexed}`;
  const v = readSection(FORWARD_SCHEMA, section, label, warnings);
  const name = v.alias ?? indexed;
  claimName(name, section, label, names);
  return {
    plugin: 'forward',
    name,
    tag: v.tag,
    tagPrefix: v.tag_prefix,
    listen: v.listen,
    port: v.port,
    bufferMaxSizeBytes: v.buffer_max_size,
    sharedKey: v.shared_key,
    selfHostname: v.self_hostname ?? hostname(),
    memBufLimitBytes: v.mem_buf_limit,
    tls: resolveListenerTls(v, { section, label, warnings }),
    storageType: v['storage.type'],
    limits: resolveListenerLimits(v),
  };
}

export function resolveDummy(section: RawSection, index: number, names: Names, warnings: string[]): DummyInputConfig {
  const indexed = `dummy.${index}`;
  const label = `INPUT ${indexed}`;
  const v = readSection(DUMMY_SCHEMA, section, label, warnings);
  const name = v.alias ?? indexed;
  claimName(name, section, label, names);
  return {
    plugin: 'dummy',
    name,
    tag: v.tag ?? indexed,
    dummy: v.dummy,
    rate: v.rate,
    copies: v.copies,
    samples: v.samples,
    memBufLimitBytes: v.mem_buf_limit,
    storageType: v['storage.type'],
  };
}

/** Fluent Bit's rule: both intervals 0 (or unset) is its default of one second. */
function intervalMs(sec: number, nsec: number): number {
  const ms = sec * 1000 + nsec / 1e6;
  return ms > 0 ? ms : 1000;
}

export function resolveProcInput(
  plugin: 'cpu' | 'mem',
  section: RawSection,
  index: number,
  names: Names,
  warnings: string[],
): CpuInputConfig | MemInputConfig {
  const indexed = `${plugin}.${index}`;
  const label = `INPUT ${indexed}`;
  const v = readSection(plugin === 'cpu' ? CPU_SCHEMA : MEM_SCHEMA, section, label, warnings);
  const name = v.alias ?? indexed;
  claimName(name, section, label, names);
  return {
    plugin,
    name,
    tag: v.tag ?? indexed,
    intervalMs: intervalMs(v.interval_sec, v.interval_nsec),
    pid: v.pid === 0 ? null : v.pid,
    memBufLimitBytes: v.mem_buf_limit,
    storageType: v['storage.type'],
  };
}

export function resolveStdout(section: RawSection, index: number, ctx: OutputContext): StdoutOutputConfig {
  const indexed = `stdout.${index}`;
  const label = `OUTPUT ${indexed}`;
  const v = readSection(STDOUT_SCHEMA, section, label, ctx.warnings);
  const name = v.alias ?? indexed;
  claimName(name, section, label, ctx.names);
  return {
    plugin: 'stdout',
    name,
    match: resolveMatch(v.match, v.match_regex, section, label, ctx),
    matchRegex: v.match_regex,
    format: v.format,
    dateKey: v.json_date_key,
    dateFormat: v.json_date_format,
  };
}

export function resolveNull(section: RawSection, index: number, ctx: OutputContext): NullOutputConfig {
  const indexed = `null.${index}`;
  const label = `OUTPUT ${indexed}`;
  const v = readSection(NULL_SCHEMA, section, label, ctx.warnings);
  const name = v.alias ?? indexed;
  claimName(name, section, label, ctx.names);
  return {
    plugin: 'null',
    name,
    match: resolveMatch(v.match, v.match_regex, section, label, ctx),
    matchRegex: v.match_regex,
  };
}

export function resolveWebSocketServer(
  section: RawSection,
  index: number,
  ctx: OutputContext,
): WebSocketServerOutputConfig {
  const indexed = `websocket_server.${index}`;
  const label = `OUTPUT ${indexed}`;
  const v = readSection(WEBSOCKET_SERVER_SCHEMA, section, label, ctx.warnings);
  const name = v.alias ?? indexed;
  claimName(name, section, label, ctx.names);
  const conflict = (key: string, message: string): ConfigError =>
    new ConfigError('WSR_CONFIG_BAD_VALUE', message, { at: lastAt(section, key) ?? section.at, key, section: label });
  if (v.format === 'json_lines' && v.use_msgpack) {
    throw conflict('format', "property 'format': json_lines is JSON text; it cannot be combined with use_msgpack on");
  }
  return {
    plugin: 'websocket_server',
    name,
    match: resolveMatch(v.match, v.match_regex, section, label, ctx),
    matchRegex: v.match_regex,
    listen: v.host ?? v.listen,
    port: v.port,
    paths: v.path,
    useMsgpack: v.use_msgpack,
    addTag: v.add_tag,
    addTime: v.add_time,
    format: v.format,
    bufferedMessages: v.buffered_messages,
    token: v.token,
    maxClients: v.max_clients,
    pingIntervalSeconds: v.ping_interval,
    allowedOrigins: v.allowed_origins,
    maxClientQueueBytes: v.max_client_queue,
    slowClientPolicy: v.slow_client_policy,
    tls: resolveServerTls(v, { section, label, warnings: ctx.warnings }),
    liveTail: v.live_tail,
  };
}
