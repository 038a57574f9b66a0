// Values that must never be printed: key passwords, bearer tokens, shared keys, Basic
// credentials, private keys, header values. `wsrelay --dry-run` prints the resolved config as
// JSON, errors quote values, logs print warnings: all of them see only a placeholder.
//
// Two mechanisms, both driven by the `secret` flag of a key's schema entry (schema-kit.ts):
//  - Secret wraps a value the config builds itself (the Authorization header, a TLS
//    passphrase): its JSON and its text are the placeholder, `.value` is the value;
//  - a secret key whose value the engine reads as a plain string (websocket_server `token`,
//    forward `shared_key`, header values) is recorded while its section is read
//    (readSection → recordSecrets); each resolved section then prints every string equal to
//    one of them as the placeholder (withRedaction), and errors and warnings about the
//    configuration have them replaced (scrub). So a new secret key is redacted by setting the
//    flag, without a printer to update.
import type { RawSection } from './raw.js';

/** What a secret prints as. */
export const REDACTED = '(secret)';

export class Secret {
  constructor(readonly value: string) {}

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }
}

/** The secret strings of each raw section, as readSection found them. */
const recorded = new WeakMap<RawSection, Set<string>>();

export function recordSecrets(section: RawSection, parts: readonly string[]): void {
  let set = recorded.get(section);
  if (set === undefined) recorded.set(section, (set = new Set()));
  for (const part of parts) if (part !== '') set.add(part);
}

/** Every secret string of `sections`. */
export function secretsOf(sections: readonly RawSection[]): ReadonlySet<string> {
  const all = new Set<string>();
  for (const section of sections) for (const part of recorded.get(section) ?? []) all.add(part);
  return all;
}

/** The secret strings in a parsed value when its schema entry does not say: the value itself. */
export function defaultSecretParts(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value instanceof Secret) return [value.value];
  if (Array.isArray(value)) return value.flatMap(defaultSecretParts);
  return [];
}

/**
 * A message (an error, a warning) with every secret in it replaced: the quoted parts
 * (`'...'`, how messages quote values) by a set lookup, in one pass; and, for a single error
 * message (`deep`), any secret of 4 characters or more found anywhere in it. Warnings can be
 * as many as lines, secrets too: the deep search is not done for each of them.
 */
export function scrub(text: string, secrets: ReadonlySet<string>, deep = false): string {
  if (secrets.size === 0) return text;
  if (secrets.has(text)) return REDACTED;
  const parts = text.split("'");
  // Every piece, not every other one: an apostrophe (Fluent Bit's) shifts the quoted ones.
  for (let i = 0; i < parts.length; i++) if (secrets.has(parts[i] ?? '')) parts[i] = REDACTED;
  let out = parts.join("'");
  if (deep) {
    for (const secret of secrets)
      if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * Gives `config` (one resolved section, not frozen yet) a toJSON that prints every string
 * equal to a secret as the placeholder. Not enumerable: the object's fields, equality and
 * copies are unchanged, the engine reads the real values. Only whole strings are replaced (a
 * set lookup each): a value the config derives from a secret must be wrapped in Secret.
 */
export function withRedaction<T extends object>(config: T, secrets: ReadonlySet<string>): T {
  if (secrets.size === 0) return config;
  const replacer = (_key: string, value: unknown): unknown =>
    typeof value === 'string' && secrets.has(value) ? REDACTED : value;
  Object.defineProperty(config, 'toJSON', {
    enumerable: false,
    value(this: T): unknown {
      return JSON.parse(JSON.stringify({ ...this }, replacer)) as unknown;
    },
  });
  return config;
}
