// The [SERVICE] keys of Fluent Bit that wsrelay had no row for (src/flb_config.c,
// service_configs[]), with Fluent Bit's defaults, so that a stock Fluent Bit [SERVICE] runs
// unchanged. A few have an effect here (Health_Check and HC_*, storage.backlog.mem_limit,
// Parsers_File, Daemon Off); the others are accepted and named in one warning at start.
import { ConfigError, formatLocation } from './errors.js';
import { parseBoolean, parseSize, type ValueParser } from './values.js';
import { int, oneOf, prop, repeat, parseText, positive } from './schema-kit.js';
import { lastAt } from './sections.js';
import type { RawSection } from './raw.js';

const KIB = 1024;
const MIB = 1024 * KIB;

/** Any text: for keys kept only so that configs load (no effect, not validated further). */
const anyText: ValueParser<string> = (v) => v.trim();
const NO_EFFECT = 'Accepted for Fluent Bit compatibility; no effect';

export const HEALTH_KEYS = {
  health_check: prop(
    parseBoolean,
    false,
    'Serve GET /api/v1/health on the metrics server: 500 when HC_Errors_Count or HC_Retry_Failure_Count is exceeded within HC_Period',
  ),
  hc_errors_count: prop(
    int(0, 1_000_000_000),
    5,
    'Health_Check: failed flushes (all outputs) allowed within HC_Period',
  ),
  hc_retry_failure_count: prop(
    int(0, 1_000_000_000),
    5,
    'Health_Check: chunks given up after Retry_Limit allowed within HC_Period',
  ),
  hc_period: prop(int(1, 86_400), 60, 'Health_Check: the window, in seconds'),
} as const;

export const SERVICE_COMPAT_KEYS = {
  daemon: prop(parseBoolean, false, 'Off only: run wsrelay under systemd or another supervisor (see OPERATIONS.md)'),
  parsers_file: repeat(
    parseText,
    'File of [PARSER] and [MULTILINE_PARSER] sections (or YAML parsers:), read and validated at start; relative to the file it is written in',
  ),
  'storage.backlog.mem_limit': prop(
    positive(parseSize),
    5 * MIB,
    'Backlog found under storage.path at start: bytes of it loaded into memory per output (with storage.max_chunks_up); the rest waits on disk',
    { shown: '5M' },
  ),
  plugins_file: prop(anyText, '', NO_EFFECT, { shown: 'none' }),
  streams_file: prop(anyText, '', NO_EFFECT, { shown: 'none' }),
  'sp.convert_from_str_to_num': prop(parseBoolean, true, NO_EFFECT),
  'json.convert_nan_to_null': prop(parseBoolean, false, NO_EFFECT),
  'json.escape_unicode': prop(parseBoolean, true, NO_EFFECT),
  'dns.mode': prop(oneOf(['udp', 'tcp']), 'udp', NO_EFFECT, { shown: 'UDP' }),
  'dns.resolver': prop(anyText, '', `${NO_EFFECT} (Node's resolver is used)`, { shown: 'none' }),
  'dns.prefer_ipv4': prop(parseBoolean, false, NO_EFFECT),
  'dns.prefer_ipv6': prop(parseBoolean, false, NO_EFFECT),
  'storage.metrics': prop(parseBoolean, true, `${NO_EFFECT} (storage metrics are always exported)`),
  'storage.checksum': prop(parseBoolean, false, `${NO_EFFECT} (chunk files always carry a checksum)`),
  'storage.backlog.flush_on_shutdown': prop(parseBoolean, false, NO_EFFECT),
  'storage.delete_irrecoverable_chunks': prop(
    parseBoolean,
    false,
    `${NO_EFFECT} (a corrupt chunk file is moved aside as .corrupt)`,
  ),
  'storage.trim_files': prop(parseBoolean, false, NO_EFFECT),
  'storage.type': prop(
    oneOf(['memory', 'filesystem']),
    'memory',
    `${NO_EFFECT} without storage.inherit (set storage.type on each input)`,
  ),
  'storage.inherit': prop(parseBoolean, false, 'Off only: set storage.type on each input'),
  coro_stack_size: prop(anyText, '24576', NO_EFFECT),
  multiline_buffer_limit: prop(anyText, '2MB', NO_EFFECT),
  enable_chunk_trace: prop(parseBoolean, false, NO_EFFECT),
  hot_reload: prop(parseBoolean, false, `${NO_EFFECT} (restart to reload)`),
  'hot_reload.ensure_thread_safety': prop(parseBoolean, true, NO_EFFECT),
  'hot_reload.timeout': prop(anyText, '0', NO_EFFECT),
  'windows.maxstdio': prop(anyText, '512', NO_EFFECT),
} as const;

/** Keys accepted without effect: one warning at start names those a config sets. */
export const NO_EFFECT_SERVICE_KEYS: ReadonlySet<string> = new Set(
  Object.keys(SERVICE_COMPAT_KEYS).filter(
    (k) => !['parsers_file', 'storage.backlog.mem_limit', 'storage.inherit'].includes(k),
  ),
);

/**
 * Daemon On and storage.inherit On are refused: the first would fork away from the supervisor
 * that restarts the relay, the second would keep in memory what the user asked to be on disk.
 * The keys set without effect are named in one warning (with the user's spelling).
 */
export function checkServiceCompat(
  section: RawSection,
  values: { daemon: boolean; 'storage.inherit': boolean },
  warnings: string[],
): void {
  if (values.daemon) {
    throw new ConfigError(
      'WSR_CONFIG_UNSUPPORTED',
      "property 'Daemon': On is not supported: run wsrelay under systemd or another supervisor: see docs/OPERATIONS.md",
      { at: lastAt(section, 'daemon'), key: 'daemon', section: 'SERVICE' },
    );
  }
  if (values['storage.inherit']) {
    throw new ConfigError(
      'WSR_CONFIG_UNSUPPORTED',
      "property 'storage.inherit': On is not supported: set storage.type on each input",
      { at: lastAt(section, 'storage.inherit'), key: 'storage.inherit', section: 'SERVICE' },
    );
  }
  const written: string[] = [];
  let first: RawSection['at'] | null = null;
  for (const p of section.properties) {
    const key = p.key.trim();
    if (!NO_EFFECT_SERVICE_KEYS.has(key.toLowerCase())) continue;
    first ??= p.at;
    if (!written.some((w) => w.toLowerCase() === key.toLowerCase())) written.push(key);
  }
  if (first !== null) {
    warnings.push(
      `${formatLocation(first)}: [SERVICE] accepted for Fluent Bit compatibility, no effect in wsrelay: ${written.join(', ')}`,
    );
  }
}
