// Reading one section against its schema, shared by every plugin's resolver: case-insensitive
// keys, last-one-wins, empty = default with a warning, unknown keys with a suggestion, and
// instance names that must stay unique.
import { ConfigError, excerpt, formatLocation } from './errors.js';
import type { PropertySpec, Schema, SchemaValues } from './schema-kit.js';
import { defaultSecretParts, recordSecrets } from './secret.js';
import type { ValueContext } from './values.js';
import type { RawSection, SourceLocation } from './raw.js';

/** An alias must stay unique: it is the metric label and the name in every log line. */
export function claimName(name: string, section: RawSection, label: string, names: Map<string, SourceLocation>): void {
  const previous = names.get(name);
  if (previous !== undefined) {
    throw new ConfigError(
      'WSR_CONFIG_BAD_VALUE',
      `property 'alias': the name '${excerpt(name)}' is already used at ${formatLocation(previous)}`,
      { at: lastAt(section, 'alias') ?? section.at, key: 'alias', section: label },
    );
  }
  names.set(name, section.at);
}

/** Where the last occurrence of `key` was written, for errors about a combination of keys. */
export function lastAt(section: RawSection, key: string): SourceLocation | null {
  const found = section.properties.filter((p) => p.key.trim().toLowerCase() === key);
  return found[found.length - 1]?.at ?? null;
}

/**
 * Reads every property of a section against its schema. Keys are case-insensitive; a later
 * occurrence of a key replaces an earlier one (Fluent Bit does so) except for repeatable keys;
 * an empty value restores the default with a warning (Fluent Bit 5.1.1 refuses it, which
 * breaks its own documented example with an empty `URI` line).
 */
export function readSection<S extends Schema>(
  schema: S,
  section: RawSection,
  label: string,
  warnings: string[],
): SchemaValues<S> {
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
    const parsed = spec.secret
      ? parseSecret(spec, p.value, section, { key: written, at: p.at, section: label, secret: true })
      : spec.parse(p.value, { key: written, at: p.at, section: label });
    if (spec.repeatable) {
      // Pushed, not copied: a copy per line would make a key repeated on every line quadratic.
      (values[key] as unknown[]).push(parsed);
    } else {
      values[key] = parsed;
    }
  }
  return values as SchemaValues<S>;
}

/**
 * A secret key's value: parsed, its secret parts recorded for redaction (secret.ts), and an
 * error that would quote it (a parser of src/tls, say, that builds its own message) scrubbed.
 */
function parseSecret(spec: PropertySpec, value: string, section: RawSection, ctx: ValueContext): unknown {
  let parsed: unknown;
  try {
    parsed = spec.parse(value, ctx);
  } catch (error) {
    // A spec that says which parts are secret (header: the value, not the name) words its own
    // errors; for the others the whole value is the secret. badValue already leaves it out;
    // a message that quotes it anyway, whole or cut short, is replaced.
    if (!(error instanceof ConfigError) || spec.secretParts !== undefined) throw error;
    const raw = value.trim();
    const head = raw.slice(0, 8);
    if (!error.detail.includes(raw) && !(head.length >= 4 && error.detail.includes(head))) throw error;
    throw new ConfigError(
      error.code,
      `property '${excerpt(ctx.key)}': not a valid value (not shown: the key is secret)`,
      { at: error.at, key: error.key, section: error.section },
    );
  }
  const parts = spec.secretParts === undefined ? defaultSecretParts(parsed) : spec.secretParts(parsed as never);
  recordSecrets(section, [...parts, value.trim()]);
  return parsed;
}

function unknownKey(schema: Schema, written: string, at: SourceLocation, label: string): ConfigError {
  const known = Object.keys(schema).filter((k) => schema[k]?.obsolete === undefined);
  const lower = written.toLowerCase();
  // The distance is at least the difference in length: no table for a key of 10 MB.
  const close = known.find(
    (k) => Math.abs(k.length - lower.length) <= 2 && editDistance(k, lower) <= Math.min(2, Math.floor(k.length / 3)),
  );
  const hint = close === undefined ? '' : `, did you mean '${close}'?`;
  return new ConfigError(
    'WSR_CONFIG_UNKNOWN_KEY',
    `unknown property '${excerpt(written)}'${hint} (known: ${known.join(', ')})`,
    { at, key: lower, section: label },
  );
}

/** Edit distance counting a swap of two neighbours as one edit (`prot` → `port`). */
function editDistance(a: string, b: string): number {
  // d[i][j] = distance between a[0..i) and b[0..j); keys are short, so a full table is fine.
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
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
