// GELF 1.1: one JSON object per record, each followed by "\n", one message per chunk.
// Fluent Bit lists gelf for its websocket output but falls back to msgpack; this follows the
// GELF spec (and Fluent Bit's gelf output where the spec leaves room), so Graylog accepts it.
import { BoundedCache } from '../bounded-cache.js';
import type { GelfKeys } from '../config/types.js';
import type { Encoder, EncoderOptions } from './types.js';
import type { RecordBody, TimedRecord } from '../chunk/record.js';

const EMPTY = Buffer.alloc(0);

// Syslog keywords accepted for the level, as Fluent Bit's gelf encoder accepts them
// (plus the common spellings "error" and "warn").
const SYSLOG_LEVELS: ReadonlyMap<string, number> = new Map([
  ['emerg', 0],
  ['alert', 1],
  ['crit', 2],
  ['err', 3],
  ['error', 3],
  ['warning', 4],
  ['warn', 4],
  ['notice', 5],
  ['info', 6],
  ['debug', 7],
]);

// Graylog drops additional fields whose name is not ^[\w.-]*$; Fluent Bit replaces the
// other characters with "_", so do the same.
const INVALID_NAME_CHARS = /[^A-Za-z0-9_.-]/g;

interface TopField {
  /** `_name` as written, `__id` for `id` (GELF reserves `_id`). */
  readonly name: string;
  /** `,"_name":`, ready to append. */
  readonly open: string;
  /** The name is not just `_` + key, so it may equal another key's name. */
  readonly derived: boolean;
}

// Record keys are few and repeat; the bound only guards against keys that never repeat.
const CACHE_LIMIT = 10_000;
const nameCache = new BoundedCache<string>(CACHE_LIMIT);
const topCache = new BoundedCache<TopField>(CACHE_LIMIT);

function fieldName(key: string): string {
  let name = nameCache.get(key);
  if (name === undefined) {
    name = key.replace(INVALID_NAME_CHARS, '_');
    nameCache.set(key, name);
  }
  return name;
}

function topField(key: string): TopField {
  let field = topCache.get(key);
  if (field === undefined) {
    const clean = fieldName(key);
    const name = key === 'id' ? '__id' : `_${clean}`;
    field = { name, open: `,"${name}":`, derived: key === 'id' || clean !== key };
    topCache.set(key, field);
  }
  return field;
}

function present(body: RecordBody, key: string | null): key is string {
  return key !== null && Object.hasOwn(body, key) && body[key] !== null && body[key] !== undefined;
}

/** A standard string field: strings as they are, anything else as its JSON text. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function asNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function asLevel(value: unknown): number | null {
  const n = asNumber(value);
  if (n !== null) return n;
  return typeof value === 'string' ? (SYSLOG_LEVELS.get(value.toLowerCase()) ?? null) : null;
}

/** Fluent Bit's gelf timestamp: whole seconds and always three decimals ("%li.%03lu"). */
function recordTimestamp(sec: number, nsec: number): string {
  const ms = Math.floor(nsec / 1e6);
  return `${sec}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}`;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A leaf value as GELF takes it: arrays as their JSON text; undefined when it has no JSON. */
function leafJson(value: unknown): string | undefined {
  return Array.isArray(value) ? JSON.stringify(JSON.stringify(value)) : JSON.stringify(value);
}

// Names are made of [A-Za-z0-9_.-] only (see fieldName), so they go into quotes unescaped.
// `seen` drops a second field of the same name (`id` and `_id` both give `__id`, `{"a":{"b":1}}`
// and `a_b` both give `_a_b`): JSON would allow it, but which one Graylog keeps is unclear.
function addField(seen: Set<string>, name: string, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (isMap(value)) {
    let text = '';
    for (const key in value) text += addField(seen, `${name}_${fieldName(key)}`, value[key]);
    return text;
  }
  if (seen.has(name)) return '';
  seen.add(name);
  const json = leafJson(value);
  // A bigint or function has no JSON form; leave it out rather than write invalid JSON.
  return json === undefined ? '' : `,"${name}":${json}`;
}

/**
 * The additional fields. Distinct keys give distinct `_key` names, so the common record (no
 * nested map, no renamed key) needs no bookkeeping: a Set per record is a noticeable share of
 * GELF's cost (docs/PERFORMANCE.md, "Figures behind the code").
 */
function additionalFields(body: RecordBody, used: ReadonlyArray<string>): string {
  let text = '';
  for (const key in body) {
    if (used.includes(key)) continue;
    const value = body[key];
    if (value === null || value === undefined) continue;
    const field = topField(key);
    if (field.derived || isMap(value)) return checkedFields(body, used);
    const json = leafJson(value);
    if (json !== undefined) text += field.open + json;
  }
  return text;
}

function checkedFields(body: RecordBody, used: ReadonlyArray<string>): string {
  const seen = new Set<string>();
  let text = '';
  for (const key in body) {
    if (!used.includes(key)) text += addField(seen, topField(key).name, body[key]);
  }
  return text;
}

/**
 * Fluent Bit's defaults (flb_msgpack_to_gelf in src/flb_pack_gelf.c, and its gelf output's
 * docs): an unset Gelf_*_Key means the record key of the GELF field's own name. A configured
 * key replaces the default: with gelf_level_key severity, a `level` key is an additional field.
 */
export const GELF_DEFAULT_KEYS: { readonly [K in keyof GelfKeys]-?: string } = {
  shortMessageKey: 'short_message',
  fullMessageKey: 'full_message',
  timestampKey: 'timestamp',
  hostKey: 'host',
  levelKey: 'level',
};

/** The keys in effect: each configured one, else Fluent Bit's default. */
export function gelfKeys(configured: GelfKeys): { readonly [K in keyof GelfKeys]: string } {
  return {
    shortMessageKey: configured.shortMessageKey ?? GELF_DEFAULT_KEYS.shortMessageKey,
    fullMessageKey: configured.fullMessageKey ?? GELF_DEFAULT_KEYS.fullMessageKey,
    timestampKey: configured.timestampKey ?? GELF_DEFAULT_KEYS.timestampKey,
    hostKey: configured.hostKey ?? GELF_DEFAULT_KEYS.hostKey,
    levelKey: configured.levelKey ?? GELF_DEFAULT_KEYS.levelKey,
  };
}

// Beyond Fluent Bit (which drops a record without its short_message key): the usual message
// keys, then the record's JSON, since Graylog refuses a message without short_message.
const SHORT_MESSAGE_FALLBACKS = ['short_message', 'log', 'message'] as const;

function findShortMessage(body: RecordBody, configured: string | null): string | null {
  // Graylog rejects an empty short_message, so an empty value does not count.
  if (present(body, configured) && body[configured] !== '') return configured;
  for (const key of SHORT_MESSAGE_FALLBACKS) {
    if (present(body, key) && body[key] !== '') return key;
  }
  return null;
}

/** One GELF object, without the trailing newline. `keys`: unset ones take Fluent Bit's defaults. */
export function gelfRecord(record: TimedRecord, configured: GelfKeys, hostname: string): string {
  return encodeRecord(record, gelfKeys(configured), hostname);
}

function encodeRecord(record: TimedRecord, keys: { readonly [K in keyof GelfKeys]: string }, hostname: string): string {
  const body = record.body;
  const used: string[] = [];

  let host = hostname;
  const hostKey = present(body, keys.hostKey) ? keys.hostKey : present(body, 'host') ? 'host' : null;
  if (hostKey !== null) {
    host = asText(body[hostKey]);
    used.push(hostKey);
  }

  let shortMessage: string | null = null;
  const shortKey = findShortMessage(body, keys.shortMessageKey);
  if (shortKey !== null) {
    shortMessage = asText(body[shortKey]);
    used.push(shortKey);
  }
  shortMessage ??= JSON.stringify(body);

  let text = `{"version":"1.1","host":${JSON.stringify(host)},"short_message":${JSON.stringify(shortMessage)}`;

  if (present(body, keys.fullMessageKey)) {
    text += `,"full_message":${JSON.stringify(asText(body[keys.fullMessageKey]))}`;
    used.push(keys.fullMessageKey);
  }

  const ownTime = present(body, keys.timestampKey) ? asNumber(body[keys.timestampKey]) : null;
  if (ownTime !== null) {
    text += `,"timestamp":${JSON.stringify(ownTime)}`;
    used.push(keys.timestampKey);
  } else {
    text += `,"timestamp":${recordTimestamp(record.time.sec, record.time.nsec)}`;
  }

  const level = present(body, keys.levelKey) ? asLevel(body[keys.levelKey]) : null;
  if (level !== null) {
    text += `,"level":${JSON.stringify(level)}`;
    used.push(keys.levelKey);
  }

  return `${text}${additionalFields(body, used)}}`;
}

export function createGelfEncoder(options: EncoderOptions): Encoder {
  const { hostname } = options;
  const keys = gelfKeys(options.gelf);
  return {
    binary: false,
    encode(records: ReadonlyArray<TimedRecord>): Buffer {
      if (records.length === 0) return EMPTY;
      let text = '';
      for (let i = 0; i < records.length; i++) {
        text += encodeRecord(records[i], keys, hostname);
        text += '\n';
      }
      return Buffer.from(text, 'utf8');
    },
  };
}
