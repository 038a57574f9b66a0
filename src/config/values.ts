// Value parsers for property values. They are stricter than Fluent Bit (which uses atoi and
// silently reads "abc" as 0): a typo should stop the relay at start-up with the key and the
// place it was written, not run with a surprising setting.
import { ConfigError, excerpt } from './errors.js';
import type { SourceLocation } from './raw.js';

/** What a parser needs to build an error that points at the mistake. */
export interface ValueContext {
  /** The key as the user wrote it (`Port`), shown in messages. */
  readonly key: string;
  readonly at: SourceLocation | null;
  /** Section label (`OUTPUT websocket.0`), or null. */
  readonly section: string | null;
  /** The key is secret (its schema says so): errors must not quote the value. */
  readonly secret?: boolean;
}

export type ValueParser<T> = (value: string, ctx: ValueContext) => T;

/**
 * A WSR_CONFIG_BAD_VALUE error: `property 'port': expected an integer 1-65535, got 'abc'`. The
 * value of a secret key is not quoted, a long one is cut.
 */
export function badValue(ctx: ValueContext, expected: string, value: string): ConfigError {
  return badValueSaying(
    ctx,
    expected,
    ctx.secret === true
      ? `a value of ${value.length} characters (not shown: the key is secret)`
      : `'${excerpt(value)}'`,
  );
}

/** As badValue, with what was got already worded (by a parser that knows what it may quote). */
export function badValueSaying(ctx: ValueContext, expected: string, got: string): ConfigError {
  return new ConfigError('WSR_CONFIG_BAD_VALUE', `property '${excerpt(ctx.key)}': expected ${expected}, got ${got}`, {
    at: ctx.at,
    key: ctx.key.toLowerCase(),
    section: ctx.section,
  });
}

const TRUE_WORDS = new Set(['on', 'true', 'yes', '1']);
const FALSE_WORDS = new Set(['off', 'false', 'no', '0']);

export function parseBoolean(value: string, ctx: ValueContext): boolean {
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw badValue(ctx, 'on or off (also true/false, yes/no, 1/0)', value);
}

export function parseInteger(value: string, ctx: ValueContext, min: number, max: number): number {
  const text = value.trim();
  // Digits only: Number('') is 0 and Number('0x10') is 16, neither of which a user meant.
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw badValue(ctx, `an integer ${min}-${max}`, value);
  }
  return n;
}

/** Non-negative seconds, fractions allowed (`0.25`, `.5`, `3`). */
export function parseSeconds(value: string, ctx: ValueContext, max = 1e9): number {
  const text = value.trim();
  const n = /^(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(n) || n > max) {
    throw badValue(ctx, max === 1e9 ? 'a number of seconds >= 0' : `a number of seconds 0-${max}`, value);
  }
  return n;
}

const SIZE_RE = /^(\d+(?:\.\d*)?|\.\d+)\s*(?:([kmg])(?:ib?|b)?|b)?$/i;
const UNIT: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

function sizeWith(value: string, ctx: ValueContext, bareUnit: string): number {
  const m = SIZE_RE.exec(value.trim());
  if (m === null) {
    throw badValue(ctx, 'a size such as 512, 32k, 2M or 1.5g', value);
  }
  const [, num = '', unitLetter] = m;
  // A bare number takes bareUnit; an explicit `b` suffix (no letter) always means bytes.
  const hasSuffix = /[a-z]$/i.test(value.trim());
  const unit = unitLetter !== undefined ? unitLetter.toLowerCase() : hasSuffix ? '' : bareUnit;
  const bytes = Math.floor(Number(num) * (UNIT[unit] ?? 1));
  if (!Number.isSafeInteger(bytes)) throw badValue(ctx, 'a size below 8 PiB', value);
  return bytes;
}

/** Size in bytes; `k`/`kb`/`kib` = 1024 (as Fluent Bit), case-insensitive, fractions allowed. */
export function parseSize(value: string, ctx: ValueContext): number {
  return sizeWith(value, ctx, '');
}

/** As parseSize, but a bare number means kilobytes (Fluent Bit tcp `Buffer_Size`/`Chunk_Size`). */
export function parseSizeKb(value: string, ctx: ValueContext): number {
  return sizeWith(value, ctx, 'k');
}

/** One of `allowed`, case-insensitive; `aliases` maps other spellings onto allowed values. */
export function parseEnum<T extends string>(
  value: string,
  ctx: ValueContext,
  allowed: readonly T[],
  aliases: Readonly<Record<string, T>> = {},
): T {
  const word = value.trim().toLowerCase();
  const found = allowed.find((a) => a === word) ?? aliases[word];
  if (found === undefined) throw badValue(ctx, `one of ${allowed.join('|')}`, value);
  return found;
}

const UNLIMITED_WORDS = new Set(['no_limits', 'false', 'off', 'unlimited']);

/** Retry_Limit: retries after the first try. Infinity = no limit. */
export function parseRetryLimit(value: string, ctx: ValueContext): number {
  const word = value.trim().toLowerCase();
  if (UNLIMITED_WORDS.has(word)) return Number.POSITIVE_INFINITY;
  if (word === 'no_retries') return 0;
  if (/^\d+$/.test(word) && Number.isSafeInteger(Number(word))) return Number(word);
  throw badValue(ctx, 'a number of retries >= 0, no_limits or no_retries', value);
}

/** A non-empty string without whitespace (host names, tags, aliases). */
export function parseWord(value: string, ctx: ValueContext): string {
  const text = value.trim();
  if (text === '' || /\s/.test(text)) throw badValue(ctx, 'a single word without spaces', value);
  return text;
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '0': '\0' };

/**
 * Turns `\n`, `\r\n`, `\t` written literally (as a shell passes `-p separator=\r\n`) into the
 * characters. Not trimmed: a separator may legitimately be a space.
 */
export function parseEscaped(value: string, ctx: ValueContext): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] ?? '';
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = value[i + 1] ?? '';
    const replacement = ESCAPES[next];
    if (replacement === undefined) {
      throw badValue(ctx, 'text where a backslash starts \\n, \\r, \\t, \\0 or \\\\', value);
    }
    out += replacement;
    i++;
  }
  return out;
}
