// RawPipeline (from argv or, later, a config file) → validated, defaulted, frozen
// PipelineConfig. All the Fluent Bit compatibility rules that are not about one value live
// here: instance naming, the implicit `*` match, last-one-wins keys, empty = default.
import { ConfigError, excerpt } from './errors.js';
import { resolveMatch, type OutputContext } from './match.js';
import {
  DEFAULT_OUTPUT_MEM_BUF_LIMIT,
  INPUT_SCHEMAS,
  OUTPUT_SCHEMAS,
  SERVICE_SCHEMA,
  TCP_SCHEMA,
  WEBSOCKET_SCHEMA,
} from './properties.js';
import {
  resolveDummy,
  resolveForward,
  resolveProcInput,
  resolveHttp,
  resolveNull,
  resolveStdout,
  resolveWebSocketServer,
} from './resolve-plugins.js';
import { claimName, lastAt, readSection } from './sections.js';
import { resolveAuthorization } from './auth.js';
import { resolveClientTls, resolveListenerTls, resolveMetricsTls } from '../tls/config.js';
import { resolveListenerLimits } from './net-limits.js';
import { checkListeners } from './listeners.js';
import { checkStoragePath } from '../storage/config.js';
import { scrub, secretsOf, withRedaction } from './secret.js';
import { checkServiceCompat } from './service-keys.js';
import { loadParsersFiles, parsersFilePath } from './parsers.js';
import type {
  InputConfig,
  OutputConfig,
  PipelineConfig,
  ServiceConfig,
  TcpInputConfig,
  WebSocketOutputConfig,
} from './types.js';
import type { RawPipeline, RawSection, SourceLocation } from './raw.js';

export interface ResolveResult {
  readonly config: PipelineConfig;
  /** Human-readable, each starting with its location: print them before starting. */
  readonly warnings: string[];
}

/**
 * Secrets (values of keys their schema marks secret, secret.ts) never leave this function in
 * clear: each section's config prints them as `(secret)` in JSON, and warnings and errors have
 * them replaced.
 */
export function resolvePipeline(raw: RawPipeline): ResolveResult {
  const sections = [raw.service, ...raw.inputs, ...raw.outputs];
  const warnings: string[] = [];
  try {
    const config = resolveSections(raw, warnings);
    const secrets = secretsOf(sections);
    return { config, warnings: warnings.map((w) => scrub(w, secrets)) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const secrets = secretsOf(sections);
    const detail = scrub(error.detail, secrets, true);
    if (detail === error.detail) throw error;
    throw new ConfigError(error.code, detail, { at: error.at, key: error.key, section: error.section });
  }
}

function resolveSections(raw: RawPipeline, warnings: string[]): PipelineConfig {
  const service = resolveService(raw.service, warnings);
  const names = new Map<string, SourceLocation>();
  const counters = new Map<string, number>();
  const inputs = raw.inputs.map((s) => resolveInput(s, nextIndex(counters, s), names, warnings));
  checkStoragePath(service.storagePath, raw.inputs, inputs);
  const single = raw.inputs.length === 1 && raw.outputs.length === 1;
  const outputs = raw.outputs
    .map((s) => resolveOutput(s, nextIndex(counters, s), { names, warnings, single, inputs }))
    .map((o) =>
      o.plugin === 'websocket' ? { ...o, storageBacklogMemLimitBytes: service.storageBacklogMemLimitBytes } : o,
    );
  if (inputs.length === 0) throw missing('input', '-i tcp');
  if (outputs.length === 0) throw missing('output', '-o websocket://127.0.0.1:9000/');
  checkListeners(raw, service, inputs, outputs); // two listeners on one address:port
  // Every section hides every secret: a token repeated as another section's value is a token.
  const secrets = secretsOf([raw.service, ...raw.inputs, ...raw.outputs]);
  for (const section of [service, ...inputs, ...outputs]) withRedaction(section, secrets);
  return deepFreeze({ service, inputs, outputs });
}

function missing(what: 'input' | 'output', example: string): ConfigError {
  return new ConfigError(
    'WSR_CONFIG_MISSING',
    `no ${what} configured: add one, e.g. \`wsrelay -i tcp -o websocket://127.0.0.1:9000/\` ` +
      `(${example}), run \`wsrelay\` alone for the demo, or see \`wsrelay --help\``,
  );
}

/** Fluent Bit numbers instances per plugin, in order of appearance: tcp.0, tcp.1, websocket.0. */
function nextIndex(counters: Map<string, number>, section: RawSection): number {
  const plugin = section.plugin.trim().toLowerCase();
  const n = counters.get(plugin) ?? 0;
  counters.set(plugin, n + 1);
  return n;
}

function resolveService(section: RawSection, warnings: string[]): ServiceConfig {
  const v = readSection(SERVICE_SCHEMA, section, 'SERVICE', warnings);
  if (v['scheduler.cap'] < v['scheduler.base']) {
    const at = lastAt(section, 'scheduler.cap') ?? lastAt(section, 'scheduler.base');
    throw new ConfigError(
      'WSR_CONFIG_BAD_VALUE',
      `property 'scheduler.cap' (${v['scheduler.cap']}) must not be below scheduler.base (${v['scheduler.base']})`,
      { at, key: 'scheduler.cap', section: 'SERVICE' },
    );
  }
  checkServiceCompat(section, v, warnings);
  const parsersFiles = section.properties
    .filter((p) => p.key.trim().toLowerCase() === 'parsers_file' && p.value.trim() !== '')
    .map((p) => ({ path: parsersFilePath(p.value.trim(), p.at), at: p.at }));
  return {
    http: {
      enabled: v.http_server,
      listen: v.http_listen,
      port: v.http_port,
      tls: resolveMetricsTls(v, { section, label: 'SERVICE', warnings }),
    },
    logFile: v.log_file,
    storagePath: v['storage.path'],
    storageSync: v['storage.sync'],
    storageMaxChunksUp: v['storage.max_chunks_up'],
    storageBacklogMemLimitBytes: v['storage.backlog.mem_limit'],
    healthCheck: {
      enabled: v.health_check,
      errorsCount: v.hc_errors_count,
      retryFailureCount: v.hc_retry_failure_count,
      periodSeconds: v.hc_period,
    },
    parsers: loadParsersFiles(parsersFiles, warnings),
    flushSeconds: v.flush,
    graceSeconds: v.grace,
    logLevel: v.log_level,
    schedulerBaseSeconds: v['scheduler.base'],
    schedulerCapSeconds: v['scheduler.cap'],
  };
}

function checkPlugin(section: RawSection, supported: Readonly<Record<string, unknown>>): string {
  const plugin = section.plugin.trim().toLowerCase();
  if (Object.hasOwn(supported, plugin)) return plugin;
  const list = Object.keys(supported).join(', ');
  const what =
    plugin === ''
      ? `${section.kind} without a plugin name`
      : `unknown ${section.kind} plugin '${excerpt(section.plugin)}'`;
  throw new ConfigError('WSR_CONFIG_UNKNOWN_PLUGIN', `${what} (supported: ${list})`, { at: section.at });
}

function resolveInput(
  section: RawSection,
  index: number,
  names: Map<string, SourceLocation>,
  warnings: string[],
): InputConfig {
  switch (checkPlugin(section, INPUT_SCHEMAS)) {
    case 'http':
      return resolveHttp(section, index, names, warnings);
    case 'forward':
      return resolveForward(section, index, names, warnings);
    case 'dummy':
      return resolveDummy(section, index, names, warnings);
    case 'cpu':
      return resolveProcInput('cpu', section, index, names, warnings);
    case 'mem':
      return resolveProcInput('mem', section, index, names, warnings);
    default:
      return resolveTcp(section, index, names, warnings);
  }
}

function resolveOutput(section: RawSection, index: number, ctx: OutputContext): OutputConfig {
  switch (checkPlugin(section, OUTPUT_SCHEMAS)) {
    case 'stdout':
      return resolveStdout(section, index, ctx);
    case 'null':
      return resolveNull(section, index, ctx);
    case 'websocket_server':
      return resolveWebSocketServer(section, index, ctx);
    default:
      return resolveWebSocket(section, index, ctx);
  }
}

function resolveTcp(
  section: RawSection,
  index: number,
  names: Map<string, SourceLocation>,
  warnings: string[],
): TcpInputConfig {
  const indexed = `tcp.${index}`;
  const label = `INPUT ${indexed}`;
  const v = readSection(TCP_SCHEMA, section, label, warnings);
  const name = v.alias ?? indexed;
  claimName(name, section, label, names);
  return {
    plugin: 'tcp',
    name,
    // Fluent Bit's default tag is the indexed instance name even when an alias is set.
    tag: v.tag ?? indexed,
    listen: v.listen,
    port: v.port,
    format: v.format,
    separator: v.separator,
    bufferSizeBytes: v.buffer_size,
    memBufLimitBytes: v.mem_buf_limit,
    tls: resolveListenerTls(v, { section, label, warnings }),
    storageType: v['storage.type'],
    limits: resolveListenerLimits(v),
  };
}

function resolveWebSocket(section: RawSection, index: number, ctx: OutputContext): WebSocketOutputConfig {
  const indexed = `websocket.${index}`;
  const label = `OUTPUT ${indexed}`;
  const v = readSection(WEBSOCKET_SCHEMA, section, label, ctx.warnings);
  const name = v.alias ?? indexed;
  claimName(name, section, label, ctx.names);

  const match = resolveMatch(v.match, v.match_regex, section, label, ctx);
  // An output's buffer defaults to the tightest limit its inputs asked for, so a user who set
  // Mem_Buf_Limit on the input (the Fluent Bit place for it) gets what they expect.
  const inputLimits = ctx.inputs.map((i) => i.memBufLimitBytes).filter((n): n is number => n !== null);
  // Else a buffer that never holds back a chunk the workers could be sending.
  const inFlightBytes = v.workers * v.inflight_chunks * v.chunk_limit_size;
  const memBufLimitBytes =
    v.mem_buf_limit ??
    (inputLimits.length > 0 ? Math.min(...inputLimits) : Math.max(DEFAULT_OUTPUT_MEM_BUF_LIMIT, inFlightBytes));

  const tls = resolveClientTls(v, { section, label, warnings: ctx.warnings });
  return {
    plugin: 'websocket',
    name,
    match,
    matchRegex: v.match_regex,
    host: v.host,
    port: v.port,
    uri: v.uri,
    headers: v.header,
    format: v.format,
    dateKey: v.json_date_key,
    dateFormat: v.json_date_format,
    gelf: {
      shortMessageKey: v.gelf_short_message_key,
      fullMessageKey: v.gelf_full_message_key,
      timestampKey: v.gelf_timestamp_key,
      hostKey: v.gelf_host_key,
      levelKey: v.gelf_level_key,
    },
    workers: v.workers,
    keepalive: v['net.keepalive'],
    keepaliveIdleTimeoutSeconds: v['net.keepalive_idle_timeout'],
    connectTimeoutSeconds: v['net.connect_timeout'],
    retryLimit: v.retry_limit,
    pingIntervalSeconds: v.ping_interval,
    pingTimeoutSeconds: v.ping_timeout,
    compress: v.compress,
    delivery: v.delivery,
    memBufLimitBytes,
    chunkLimitBytes: v.chunk_limit_size,
    inflightPerWorker: v.inflight_chunks,
    tls,
    authorization: resolveAuthorization(v, tls !== null, section, label, ctx.warnings),
    storageTotalLimitBytes: v['storage.total_limit_size'],
    storageTotalLimitPolicy: v['storage.total_limit_policy'],
    storageBacklogMemLimitBytes: 0, // set from [SERVICE] by resolveSections
  };
}

/** The engine shares these objects across modules: freezing makes an accidental write throw. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
