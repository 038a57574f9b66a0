// One error type for everything a user can get wrong in a command line or a config file.
// The message always starts with where the mistake is (file:line, or the argv position) and
// the section it belongs to, because the user fixes it by going there; `code` is stable so
// callers and tests can branch on it without parsing the text.
import type { SourceLocation } from './raw.js';

export type ConfigErrorCode =
  /** A property name no plugin of that kind knows. */
  | 'WSR_CONFIG_UNKNOWN_KEY'
  /** A value that does not parse (number, boolean, enum, size...). */
  | 'WSR_CONFIG_BAD_VALUE'
  /** An -i/-o/Name that names no supported plugin. */
  | 'WSR_CONFIG_UNKNOWN_PLUGIN'
  /** Something required is absent (no input, no output). */
  | 'WSR_CONFIG_MISSING'
  /** A malformed command line (unknown option, option without its value...). */
  | 'WSR_CONFIG_USAGE'
  /** Recognised, but not available in this version ([FILTER] sections, processors). */
  | 'WSR_CONFIG_UNSUPPORTED'
  /**
   * Beyond a bound on what a configuration may hold: a file over its size limit, includes
   * nested too deep or too many files, a value too long after ${VAR} expansion, too much YAML
   * aliasing. The message names the limit.
   */
  | 'WSR_CONFIG_LIMIT';

/** The text shown for a location: `command line, argument 7` or `/etc/wsrelay.conf:12`. */
export function formatLocation(at: SourceLocation): string {
  if (at.file === COMMAND_LINE) {
    // Line 0 is used for things the command line implies without a particular argument.
    return at.line > 0 ? `${COMMAND_LINE}, argument ${at.line}` : COMMAND_LINE;
  }
  return `${at.file}:${at.line}`;
}

/**
 * User text as an error message quotes it: at most `max` characters, so a 10 MB line in a
 * config file gives a one-line message, not a 10 MB one.
 */
export function excerpt(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** The `file` of every location that comes from argv. */
export const COMMAND_LINE = 'command line';

export interface ConfigErrorOptions {
  readonly at?: SourceLocation | null;
  /** Lowercase property key, when the error is about one. */
  readonly key?: string | null;
  /** Section label as shown between brackets: `OUTPUT websocket.0`, `SERVICE`. */
  readonly section?: string | null;
}

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly at: SourceLocation | null;
  readonly key: string | null;
  readonly section: string | null;
  /** The message without the location/section prefix, for callers that add their own. */
  readonly detail: string;

  constructor(code: ConfigErrorCode, detail: string, options: ConfigErrorOptions = {}) {
    const at = options.at ?? null;
    const section = options.section ?? null;
    const prefix = [at === null ? '' : `${formatLocation(at)}: `, section === null ? '' : `[${section}] `].join('');
    super(prefix + detail);
    this.name = 'ConfigError';
    this.code = code;
    this.at = at;
    this.key = options.key ?? null;
    this.section = section;
    this.detail = detail;
  }
}
