// The building blocks of a property schema: a spec per key (parser, default, how --help shows
// the default, one-line description) and the typed values a section resolves to. Shared by
// properties.ts (core plugins) and plugin-schemas.ts (the others).
import { badValue, parseEnum, parseInteger, parseSeconds, parseWord, type ValueParser } from './values.js';
import { REDACTED } from './secret.js';

interface SpecBase {
  /** The default as --help and the README show it (`32 (KB)`, `none`, `instance name`). */
  readonly shownDefault: string;
  /** One line, no trailing period. */
  readonly description: string;
  /** Set for keys kept only so old configs load: the warning printed when one is used. */
  readonly obsolete?: string;
  /**
   * A password, token, key or credential. Its value is never printed: a parse error does not
   * quote it, and wherever the resolved config is printed as JSON (--dry-run) the value shows
   * as `(secret)` (see secret.ts). test/secrets.test.ts fails for a key whose name looks like
   * a secret (passw, token, auth, ...) without this flag.
   */
  readonly secret: boolean;
}

export interface SingleProperty<T> extends SpecBase {
  readonly repeatable: false;
  readonly parse: ValueParser<T>;
  readonly default: T;
  /** For a secret key: the secret strings in a parsed value (default: the value if a string). */
  secretParts?(value: T): readonly string[];
}

/** A key that may be given several times; every value is kept, in order. */
export interface RepeatableProperty<T> extends SpecBase {
  readonly repeatable: true;
  readonly parse: ValueParser<T>;
  readonly default: readonly T[];
  /** For a secret key: the secret strings in one parsed value (default: the value if a string). */
  secretParts?(value: T): readonly string[];
}

export type PropertySpec = SingleProperty<unknown> | RepeatableProperty<unknown>;
export type Schema = Readonly<Record<string, PropertySpec>>;

/** The typed values read from a section: one value per key, an array for repeatable keys. */
export type SchemaValues<S extends Schema> = {
  readonly [K in keyof S]: S[K] extends RepeatableProperty<infer T>
    ? readonly T[]
    : S[K] extends SingleProperty<infer T>
      ? T
      : never;
};

export function show(value: unknown): string {
  if (value === null) return 'none';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || value === undefined)
    return String(value);
  // A list default shows as String() shows a list: its items joined by commas.
  if (Array.isArray(value)) return value.join(',');
  return JSON.stringify(value);
}

export function prop<T>(
  parse: ValueParser<T>,
  def: T,
  description: string,
  extra: { shown?: string; obsolete?: string; secret?: boolean } = {},
): SingleProperty<T> {
  const secretFlag = extra.secret ?? false;
  const shownDefault = extra.shown ?? (secretFlag && def !== null ? REDACTED : show(def));
  const spec = { repeatable: false as const, parse, default: def, description, shownDefault, secret: secretFlag };
  return extra.obsolete === undefined ? spec : { ...spec, obsolete: extra.obsolete };
}

export function repeat<T>(
  parse: ValueParser<T>,
  description: string,
  extra: { secret?: boolean; secretParts?: (value: T) => readonly string[] } = {},
): RepeatableProperty<T> {
  const spec: RepeatableProperty<T> = {
    repeatable: true,
    parse,
    default: [],
    description,
    shownDefault: 'none',
    secret: extra.secret ?? false,
  };
  return extra.secretParts === undefined ? spec : { ...spec, secretParts: extra.secretParts };
}

/**
 * `spec` marked secret: for keys whose spec is made elsewhere (the tls.* fragments of
 * src/tls/config.ts), at the place a schema takes them in.
 */
export function secret<S extends PropertySpec>(spec: S): S {
  const shownDefault = !spec.repeatable && spec.default !== null ? REDACTED : spec.shownDefault;
  return { ...spec, secret: true, shownDefault };
}

export const int =
  (min: number, max: number): ValueParser<number> =>
  (v, ctx) =>
    parseInteger(v, ctx, min, max);

/** Seconds that must be > 0: a zero flush or timeout would spin or fire at once. */
export const positiveSeconds: ValueParser<number> = (v, ctx) => {
  const n = parseSeconds(v, ctx);
  if (n <= 0) throw badValue(ctx, 'a number of seconds > 0', v);
  return n;
};

export const positive =
  (parse: ValueParser<number>): ValueParser<number> =>
  (v, ctx) => {
    const n = parse(v, ctx);
    if (n <= 0) throw badValue(ctx, 'a size > 0', v);
    return n;
  };

export const oneOf =
  <T extends string>(allowed: readonly T[], aliases: Readonly<Record<string, T>> = {}): ValueParser<T> =>
  (v, ctx) =>
    parseEnum(v, ctx, allowed, aliases);

export const parseRegex: ValueParser<string> = (v, ctx) => {
  try {
    new RegExp(v);
  } catch {
    throw badValue(ctx, 'a valid regular expression', v);
  }
  return v;
};

/** A path, a password, a user name: anything but empty (paths may contain spaces). */
export const parseText: ValueParser<string> = (v, ctx) => {
  const text = v.trim();
  if (text === '') throw badValue(ctx, 'a value', v);
  return text;
};

/** Fluent Bit's http output turns the date key off with a boolean false: do the same here. */
export const parseDateKey: ValueParser<string | null> = (v, ctx) => {
  const word = v.trim().toLowerCase();
  return word === 'false' || word === 'off' || word === 'no' ? null : parseWord(v, ctx);
};
