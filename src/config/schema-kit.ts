// The building blocks of a property schema: a spec per key (parser, default, how --help shows
// the default, one-line description) and the typed values a section resolves to. Shared by
// properties.ts (core plugins) and plugin-schemas.ts (the others).
import {
  badValue,
  parseEnum,
  parseInteger,
  parseSeconds,
  parseWord,
  type ValueParser,
} from './values.js';

interface SpecBase {
  /** The default as --help and the README show it (`32 (KB)`, `none`, `instance name`). */
  readonly shownDefault: string;
  /** One line, no trailing period. */
  readonly description: string;
  /** Set for keys kept only so old configs load: the warning printed when one is used. */
  readonly obsolete?: string;
}

export interface SingleProperty<T> extends SpecBase {
  readonly repeatable: false;
  readonly parse: ValueParser<T>;
  readonly default: T;
}

/** A key that may be given several times; every value is kept, in order. */
export interface RepeatableProperty<T> extends SpecBase {
  readonly repeatable: true;
  readonly parse: ValueParser<T>;
  readonly default: readonly T[];
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
  return String(value);
}

export function prop<T>(
  parse: ValueParser<T>,
  def: T,
  description: string,
  extra: { shown?: string; obsolete?: string } = {},
): SingleProperty<T> {
  const spec = { repeatable: false as const, parse, default: def, description, shownDefault: extra.shown ?? show(def) };
  return extra.obsolete === undefined ? spec : { ...spec, obsolete: extra.obsolete };
}

export function repeat<T>(parse: ValueParser<T>, description: string): RepeatableProperty<T> {
  return { repeatable: true, parse, default: [], description, shownDefault: 'none' };
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
