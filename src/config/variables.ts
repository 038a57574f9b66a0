// `${NAME}` and `${NAME:-default}` in config values: from the config's own variables (@SET,
// YAML `env:`), then the environment. One table for the whole configuration (Fluent Bit keeps
// one), applied once everything is read.
//
// Expansion is a single pass, as in Fluent Bit (flb_env_var_translate): a variable's value is
// inserted as it is, a `${...}` inside it is not expanded again. So `@SET A=${A}` gives the
// text `${A}`, and nesting cannot grow exponentially. What can still grow is repetition (a
// value of a thousand `${BIG}`): each value is bounded after expansion, and so are all values
// together (CONFIG_LIMITS.valueBytes, expandedBytes). The scan is linear: indexOf, no regex.
import { ConfigError, excerpt } from './errors.js';
import { CONFIG_LIMITS, limitError, showBytes } from './files.js';
import type { SourceLocation } from './raw.js';

export class Variables {
  private readonly defined = new Map<string, string>();
  /** Bytes of every value expanded so far, for CONFIG_LIMITS.expandedBytes. */
  private expanded = 0;

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** @SET NAME=value, or an `env:` entry; a later one replaces an earlier one. */
  define(name: string, value: string): void {
    this.defined.set(name, value);
  }

  /**
   * `value` with its variables replaced. `key` is the property the value belongs to (null for
   * an include path): it is named in errors. No error quotes the value, which may be a secret.
   */
  expand(value: string, at: SourceLocation, key: string | null): string {
    let out = '';
    let from = 0;
    let replaced = false;
    for (;;) {
      const open = value.indexOf('${', from);
      if (open < 0) break;
      const close = value.indexOf('}', open + 2);
      if (close < 0) break; // `${` without its `}` stays text
      const piece = value.slice(from, open) + this.lookup(value.slice(open + 2, close), at, key);
      if (out.length + piece.length > CONFIG_LIMITS.valueBytes) throw this.tooLong(at, key, true);
      out += piece;
      replaced = true;
      from = close + 1;
    }
    out = replaced ? out + value.slice(from) : value;
    if (out.length > CONFIG_LIMITS.valueBytes) throw this.tooLong(at, key, replaced);
    this.expanded += out.length;
    if (this.expanded > CONFIG_LIMITS.expandedBytes) {
      throw limitError(
        `${what(key)}: the values of this configuration add up to more than ` +
          `${showBytes(CONFIG_LIMITS.expandedBytes)}${replaced ? ' after ${VAR} expansion' : ''}`,
        at,
        key,
      );
    }
    return out;
  }

  private lookup(inner: string, at: SourceLocation, key: string | null): string {
    const sep = inner.indexOf(':-');
    const name = (sep < 0 ? inner : inner.slice(0, sep)).trim();
    const fallback = sep < 0 ? undefined : inner.slice(sep + 2);
    if (name === '')
      throw new ConfigError('WSR_CONFIG_BAD_VALUE', `${what(key)}: empty variable name in \${}`, { at, key });
    const found = this.defined.get(name) ?? this.env[name];
    // As in a shell, the default also replaces an empty value.
    if (found !== undefined && (found !== '' || fallback === undefined)) return found;
    if (fallback !== undefined) return fallback;
    // An empty host or port would fail later, far from the cause.
    const shown = excerpt(name);
    throw new ConfigError(
      'WSR_CONFIG_BAD_VALUE',
      `variable '${shown}' is not defined (set it with @SET, in env:, or in the environment; or write \${${shown}:-default})`,
      { at, key },
    );
  }

  private tooLong(at: SourceLocation, key: string | null, replaced: boolean): ConfigError {
    return limitError(
      `${what(key)}: the value is longer than ${showBytes(CONFIG_LIMITS.valueBytes)}` +
        `${replaced ? ' after ${VAR} expansion' : ''}`,
      at,
      key,
    );
  }
}

function what(key: string | null): string {
  return key === null ? 'include path' : `property '${excerpt(key)}'`;
}
