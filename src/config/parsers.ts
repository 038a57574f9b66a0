// Parsers_File: a file of Fluent Bit parsers, read and validated at start (a later issue puts
// them to use). Classic format: [PARSER] and [MULTILINE_PARSER] sections of `Key Value` lines;
// YAML (.yaml/.yml): top-level `parsers:` and `multiline_parsers:` lists. Read with the config
// reader (files.ts: regular files only, the same size limits); every error names file:line.
//
// Regular expressions are Onigmo's (Ruby) in Fluent Bit: `(?<name>...)` groups are the same in
// JavaScript; \h, \A, \z and \Z are translated; `/.../` around a regex is dropped, as Fluent
// Bit does. A regex JavaScript cannot compile is refused at its line.
import { dirname, extname, isAbsolute, resolve as resolvePath } from 'node:path';
import { ConfigError, COMMAND_LINE, excerpt, formatLocation } from './errors.js';
import { ConfigFiles } from './files.js';
import { splitWord, syntax } from './classic.js';
import { readYamlParsers } from './yaml.js';
import { parseBoolean, parseInteger, parseWord, type ValueParser } from './values.js';
import { oneOf, parseText, prop, repeat, type Schema } from './schema-kit.js';
import { readSection } from './sections.js';
import type { RawProperty, RawSection, SourceLocation } from './raw.js';

export type ParserFormat = 'json' | 'regex' | 'ltsv' | 'logfmt';

export interface ParserConfig {
  readonly name: string;
  readonly format: ParserFormat;
  /** The regex as JavaScript compiles it (format regex), else null. */
  readonly regex: string | null;
  readonly timeKey: string | null;
  readonly timeFormat: string | null;
  readonly timeKeep: boolean;
  readonly timeStrict: boolean;
  readonly timeOffset: string | null;
  readonly types: string | null;
  readonly decodeFieldAs: readonly string[];
  readonly skipEmptyValues: boolean;
  readonly at: SourceLocation;
}

export interface MultilineParserConfig {
  readonly name: string;
  readonly type: 'regex' | 'endswith' | 'equal';
  readonly parser: string | null;
  readonly keyContent: string | null;
  readonly flushTimeoutMs: number;
  readonly rules: ReadonlyArray<{ readonly from: string; readonly regex: string; readonly to: string }>;
  readonly at: SourceLocation;
}

export interface ParsersConfig {
  readonly parsers: readonly ParserConfig[];
  readonly multilineParsers: readonly MultilineParserConfig[];
}

/** A section of a parsers file before validation. */
export interface RawParserSection {
  readonly kind: 'parser' | 'multiline_parser';
  readonly properties: RawProperty[];
  readonly at: SourceLocation;
}

const FORMATS: readonly ParserFormat[] = ['json', 'regex', 'ltsv', 'logfmt'];
const optional = (parse: ValueParser<string>): ValueParser<string | null> => parse;

/** flb_parser.c's keys. */
const PARSER_SCHEMA = {
  name: prop<string | null>(optional(parseWord), null, 'Parser name'),
  format: prop<ParserFormat | null>(oneOf(FORMATS), null, 'json|regex|ltsv|logfmt'),
  regex: prop<string | null>(optional(parseText), null, 'Regex (format regex)'),
  time_key: prop<string | null>(optional(parseWord), null, 'Key of the time'),
  time_format: prop<string | null>(optional(parseText), null, 'strptime format of the time'),
  time_keep: prop(parseBoolean, false, 'Keep the time key'),
  time_strict: prop(parseBoolean, true, 'Refuse a time longer than the format'),
  time_offset: prop<string | null>(optional(parseText), null, 'Time zone offset'),
  time_system_timezone: prop(parseBoolean, false, 'Use the system time zone'),
  types: prop<string | null>(optional(parseText), null, 'key:type list'),
  decode_field: repeat(parseText, 'Decoder'),
  decode_field_as: repeat(parseText, 'Decoder'),
  skip_empty_values: prop(parseBoolean, true, 'Skip empty values'),
} as const satisfies Schema;

const ML_TYPES = ['regex', 'endswith', 'equal'] as const;

/** flb_ml_parser's keys. */
const MULTILINE_SCHEMA = {
  name: prop<string | null>(optional(parseWord), null, 'Multiline parser name'),
  type: prop<(typeof ML_TYPES)[number] | null>(
    oneOf<(typeof ML_TYPES)[number]>(ML_TYPES, { eq: 'equal' }),
    null,
    'regex|endswith|equal',
  ),
  parser: prop<string | null>(optional(parseWord), null, 'Parser applied first'),
  key_content: prop<string | null>(optional(parseWord), null, 'Key holding the text'),
  key_pattern: prop<string | null>(optional(parseWord), null, 'Key for endswith/equal'),
  key_group: prop<string | null>(optional(parseWord), null, 'Key of the group'),
  flush_timeout: prop((v, ctx) => parseInteger(v, ctx, 1, 86_400_000), 4000, 'Milliseconds'),
  match_string: prop<string | null>(optional(parseText), null, 'endswith/equal string'),
  negate: prop(parseBoolean, false, 'Negate the match'),
  rule: repeat(parseText, 'rule "state" "/regex/" "next_state"'),
} as const satisfies Schema;

/** Onigmo → JavaScript for what Fluent Bit's parsers use; `/re/` loses its slashes. */
export function translateRegex(written: string): string {
  let re = written.trim();
  if (re.length >= 2 && re.startsWith('/') && re.endsWith('/')) re = re.slice(1, -1);
  let out = '';
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    if (c === '\\' && i + 1 < re.length) {
      const n = re[i + 1];
      i++;
      if (n === 'h') out += '[0-9a-fA-F]';
      else if (n === 'H') out += '[^0-9a-fA-F]';
      else if (n === 'A') out += '^';
      else if (n === 'z' || n === 'Z') out += '$';
      else out += `\\${n}`;
    } else {
      out += c;
    }
  }
  return out;
}

function compile(written: string, at: SourceLocation, section: string, key: string): string {
  const re = translateRegex(written);
  try {
    new RegExp(re);
  } catch (error) {
    const why = error instanceof Error ? error.message.replace(/^Invalid regular expression: /, '') : String(error);
    throw new ConfigError(
      'WSR_CONFIG_BAD_VALUE',
      `property '${key}': not a regular expression JavaScript compiles: ${excerpt(why, 200)}`,
      { at, key: key.toLowerCase(), section },
    );
  }
  return re;
}

/** `"state" "/regex/" "next"` (quoted with " or '). */
function splitRule(text: string): string[] | null {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c !== '"' && c !== "'") return null;
    const end = text.indexOf(c, i + 1);
    if (end < 0) return null;
    parts.push(text.slice(i + 1, end));
    i = end + 1;
  }
  return parts;
}

/** readSection reads a section's properties only; RawSection's kind does not name parsers. */
function asSection(s: RawParserSection): RawSection {
  return { kind: 'service', plugin: '', properties: s.properties, at: s.at };
}

function required<T>(value: T | null, what: string, key: string, s: RawParserSection): T {
  if (value !== null) return value;
  throw new ConfigError('WSR_CONFIG_MISSING', `has no ${key}`, { at: s.at, section: what });
}

function resolveSectionList(
  sections: readonly RawParserSection[],
  warnings: string[],
  into: {
    parsers: ParserConfig[];
    multilineParsers: MultilineParserConfig[];
    names: Map<string, SourceLocation>;
  },
): void {
  for (const s of sections) {
    const label = s.kind === 'parser' ? 'PARSER' : 'MULTILINE_PARSER';
    const lastAt = (key: string): SourceLocation =>
      [...s.properties].reverse().find((p) => p.key.trim().toLowerCase() === key)?.at ?? s.at;
    if (s.kind === 'parser') {
      const v = readSection(PARSER_SCHEMA, asSection(s), label, warnings);
      const name = required(v.name, label, 'Name', s);
      const format = required(v.format, label, 'Format', s);
      let regex: string | null = null;
      if (format === 'regex') {
        const written = v.regex;
        if (written === null)
          throw new ConfigError('WSR_CONFIG_MISSING', 'Format regex needs a Regex', {
            at: s.at,
            section: `${label} ${name}`,
          });
        regex = compile(written, lastAt('regex'), `${label} ${name}`, 'Regex');
      }
      if (!claim(name, s, into.names, warnings, label)) continue;
      into.parsers.push({
        name,
        format,
        regex,
        timeKey: v.time_key,
        timeFormat: v.time_format,
        timeKeep: v.time_keep,
        timeStrict: v.time_strict,
        timeOffset: v.time_offset,
        types: v.types,
        decodeFieldAs: [...v.decode_field, ...v.decode_field_as],
        skipEmptyValues: v.skip_empty_values,
        at: s.at,
      });
    } else {
      const v = readSection(MULTILINE_SCHEMA, asSection(s), label, warnings);
      const name = required(v.name, label, 'Name', s);
      const type = required(v.type, label, 'Type', s);
      const ruleLines = s.properties.filter((p) => p.key.trim().toLowerCase() === 'rule');
      const rules = ruleLines.map((p) => {
        const parts = splitRule(p.value.trim());
        if (parts === null || parts.length !== 3) {
          throw new ConfigError('WSR_CONFIG_BAD_VALUE', 'property \'rule\': expected "state" "/regex/" "next_state"', {
            at: p.at,
            key: 'rule',
            section: `${label} ${name}`,
          });
        }
        const [from, re, to] = parts as [string, string, string];
        return { from, regex: compile(re, p.at, `${label} ${name}`, 'rule'), to };
      });
      if (type === 'regex' && rules.length === 0) {
        throw new ConfigError('WSR_CONFIG_MISSING', 'Type regex needs rule lines', {
          at: s.at,
          section: `${label} ${name}`,
        });
      }
      if (!claim(name, s, into.names, warnings, `${label}`)) continue;
      into.multilineParsers.push({
        name,
        type,
        parser: v.parser,
        keyContent: v.key_content,
        flushTimeoutMs: v.flush_timeout,
        rules,
        at: s.at,
      });
    }
  }
}

/** As Fluent Bit: a second parser of the same name is skipped (with a warning). */
function claim(
  name: string,
  s: RawParserSection,
  names: Map<string, SourceLocation>,
  warnings: string[],
  label: string,
): boolean {
  const key = `${label}:${name}`;
  const previous = names.get(key);
  if (previous === undefined) {
    names.set(key, s.at);
    return true;
  }
  warnings.push(
    `${formatLocation(s.at)}: [${label}] '${excerpt(name)}' is already defined at ${formatLocation(previous)}: this one is ignored (as Fluent Bit)`,
  );
  return false;
}

/** The sections of one classic parsers file. */
function readClassicParsers(file: string, text: string): RawParserSection[] {
  const sections: RawParserSection[] = [];
  let current: RawParserSection | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const at = { file, line: i + 1 };
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      const name = line.endsWith(']') ? line.slice(1, -1).trim().toLowerCase() : '';
      if (name !== 'parser' && name !== 'multiline_parser') {
        throw syntax(`unknown section '${excerpt(line)}' in a parsers file (known: [PARSER], [MULTILINE_PARSER])`, at);
      }
      current = { kind: name, properties: [], at };
      sections.push(current);
    } else if (line.startsWith('@')) {
      throw syntax(`'${excerpt(splitWord(line)[0])}' is not supported in a parsers file`, at);
    } else {
      const [key, value] = splitWord(line);
      if (current === null)
        throw syntax(`property '${excerpt(key)}' is outside any section: put it under [PARSER]`, at);
      current.properties.push({ key, value, at });
    }
  }
  return sections;
}

/** Where a Parsers_File value points: relative to the file it is written in (or the working directory). */
export function parsersFilePath(value: string, at: SourceLocation): string {
  if (isAbsolute(value) || at.file === COMMAND_LINE) return resolvePath(value);
  return resolvePath(dirname(at.file), value);
}

/** Reads and validates every Parsers_File of [SERVICE], in order. */
export function loadParsersFiles(
  files: ReadonlyArray<{ readonly path: string; readonly at: SourceLocation }>,
  warnings: string[],
): ParsersConfig {
  const into = {
    parsers: [] as ParserConfig[],
    multilineParsers: [] as MultilineParserConfig[],
    names: new Map<string, SourceLocation>(),
  };
  for (const { path, at } of files) {
    const ext = extname(path).toLowerCase();
    const yaml = ext === '.yaml' || ext === '.yml';
    let sections: RawParserSection[] = [];
    new ConfigFiles(yaml ? 'yaml' : 'classic').read(path, at, (text) => {
      sections = yaml ? readYamlParsers(path, text) : readClassicParsers(path, text);
    });
    resolveSectionList(sections, warnings, into);
  }
  return { parsers: into.parsers, multilineParsers: into.multilineParsers };
}
