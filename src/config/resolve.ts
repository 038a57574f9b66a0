// RawPipeline (from argv or, later, a config file) → validated, defaulted, frozen
// PipelineConfig. All the Fluent Bit compatibility rules that are not about one value live
// here: instance naming, the implicit `*` match, last-one-wins keys, empty = default.
import { ConfigError, formatLocation } from './errors.js';
import {
  DEFAULT_OUTPUT_MEM_BUF_LIMIT,
  INPUT_SCHEMAS,
  OUTPUT_SCHEMAS,
  SERVICE_SCHEMA,
  TCP_SCHEMA,
  WEBSOCKET_SCHEMA,
  type Schema,
  type SchemaValues,
} from './properties.js';
import type {
  PipelineConfig,
  RawPipeline,
  RawSection,
  ServiceConfig,
  SourceLocation,
  TcpInputConfig,
  WebSocketOutputConfig,
} from './types.js';

export interface ResolveResult {
  readonly config: PipelineConfig;
  /** Human-readable, each starting with its location: print them before starting. */
  readonly warnings: string[];
}

export function resolvePipeline(raw: RawPipeline): ResolveResult {
  const warnings: string[] = [];
  const service = resolveService(raw.service, warnings);
  const names = new Map<string, SourceLocation>();
  const counters = new Map<string, number>();
  const inputs = raw.inputs.map((s) => resolveTcp(s, nextIndex(counters, s), names, warnings));
  const single = raw.inputs.length === 1 && raw.outputs.length === 1;
  const outputs = raw.outputs.map((s) =>
    resolveWebSocket(s, nextIndex(counters, s), { names, warnings, single, inputs }),
  );
  if (inputs.length === 0) throw missing('input', '-i tcp');
  if (outputs.length === 0) throw missing('output', '-o websocket://127.0.0.1:9000/');
  return { config: deepFreeze({ service, inputs, outputs }), warnings };
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
  return {
    http: { enabled: v.http_server, listen: v.http_listen, port: v.http_port },
    logFile: v.log_file,
    storagePath: v['storage.path'],
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
  const what = plugin === '' ? `${section.kind} without a plugin name` : `unknown ${section.kind} plugin '${section.plugin}'`;
  throw new ConfigError('WSR_CONFIG_UNKNOWN_PLUGIN', `${what} (supported: ${list})`, { at: section.at });
}

/** An alias must stay unique: it is the metric label and the name in every log line. */
function claimName(name: string, section: RawSection, label: string, names: Map<string, SourceLocation>): void {
  const previous = names.get(name);
  if (previous !== undefined) {
    throw new ConfigError(
      'WSR_CONFIG_BAD_VALUE',
      `property 'alias': the name '${name}' is already used at ${formatLocation(previous)}`,
      { at: lastAt(section, 'alias') ?? section.at, key: 'alias', section: label },
    );
  }
  names.set(name, section.at);
}

function resolveTcp(
  section: RawSection,
  index: number,
  names: Map<string, SourceLocation>,
  warnings: string[],
): TcpInputConfig {
  checkPlugin(section, INPUT_SCHEMAS);
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
  };
}

interface OutputContext {
  readonly names: Map<string, SourceLocation>;
  readonly warnings: string[];
  /** Exactly one input and one output: a missing Match means `*` (Fluent Bit). */
  readonly single: boolean;
  readonly inputs: readonly TcpInputConfig[];
}

function resolveWebSocket(section: RawSection, index: number, ctx: OutputContext): WebSocketOutputConfig {
  checkPlugin(section, OUTPUT_SCHEMAS);
  const indexed = `websocket.${index}`;
  const label = `OUTPUT ${indexed}`;
  const v = readSection(WEBSOCKET_SCHEMA, section, label, ctx.warnings);
  const name = v.alias ?? indexed;
  claimName(name, section, label, ctx.names);

  let match = v.match;
  if (match === null && v.match_regex === null) {
    if (ctx.single) {
      match = '*';
    } else {
      ctx.warnings.push(
        `${formatLocation(section.at)}: [${label}] has neither match nor match_regex: it will receive no records`,
      );
    }
  }
  // An output's buffer defaults to the tightest limit its inputs asked for, so a user who set
  // Mem_Buf_Limit on the input (the Fluent Bit place for it) gets what they expect.
  const inputLimits = ctx.inputs.map((i) => i.memBufLimitBytes).filter((n): n is number => n !== null);
  const memBufLimitBytes =
    v.mem_buf_limit ?? (inputLimits.length > 0 ? Math.min(...inputLimits) : DEFAULT_OUTPUT_MEM_BUF_LIMIT);

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
  };
}

/** Where the last occurrence of `key` was written, for errors about a combination of keys. */
function lastAt(section: RawSection, key: string): SourceLocation | null {
  const found = section.properties.filter((p) => p.key.trim().toLowerCase() === key);
  return found[found.length - 1]?.at ?? null;
}

/**
 * Reads every property of a section against its schema. Keys are case-insensitive; a later
 * occurrence of a key replaces an earlier one (Fluent Bit does so) except for repeatable keys;
 * an empty value restores the default with a warning (Fluent Bit 5.1.1 refuses it, which
 * breaks its own documented example with an empty `URI` line).
 */
function readSection<S extends Schema>(schema: S, section: RawSection, label: string, warnings: string[]): SchemaValues<S> {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) values[key] = spec.repeatable ? [] : spec.default;

  for (const p of section.properties) {
    const written = p.key.trim();
    const key = written.toLowerCase();
    const spec = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (spec === undefined) throw unknownKey(schema, written, p.at, label);
    const where = `${formatLocation(p.at)}: [${label}]`;
    if (spec.obsolete !== undefined) warnings.push(`${where} ${spec.obsolete}`);
    if (p.value.trim() === '') {
      warnings.push(`${where} property '${written}' is empty: using the default (${spec.shownDefault})`);
      if (!spec.repeatable) values[key] = spec.default;
      continue;
    }
    const parsed = spec.parse(p.value, { key: written, at: p.at, section: label });
    if (spec.repeatable) {
      values[key] = [...(values[key] as readonly unknown[]), parsed];
    } else {
      values[key] = parsed;
    }
  }
  return values as SchemaValues<S>;
}

function unknownKey(schema: Schema, written: string, at: SourceLocation, label: string): ConfigError {
  const known = Object.keys(schema).filter((k) => schema[k]?.obsolete === undefined);
  const lower = written.toLowerCase();
  const close = known.find((k) => editDistance(k, lower) <= Math.min(2, Math.floor(k.length / 3)));
  const hint = close === undefined ? '' : `, did you mean '${close}'?`;
  return new ConfigError(
    'WSR_CONFIG_UNKNOWN_KEY',
    `unknown property '${written}'${hint} (known: ${known.join(', ')})`,
    { at, key: lower, section: label },
  );
}

/** Edit distance counting a swap of two neighbours as one edit (`prot` → `port`). */
function editDistance(a: string, b: string): number {
  // d[i][j] = distance between a[0..i) and b[0..j); keys are short, so a full table is fine.
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    const rowI = d[i] ?? [];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      rowI[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The engine shares these objects across modules: freezing makes an accidental write throw. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
