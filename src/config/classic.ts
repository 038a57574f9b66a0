// Fluent Bit's classic config format (`[INPUT]` / `Key Value`) → RawPipeline. Only the syntax
// is handled here; resolve.ts validates keys and values, so every property keeps the file and
// line it was written on. The helpers shared with yaml.ts (the section builder, syntax errors)
// live here too, so both formats behave the same; reading files and includes is files.ts,
// ${VAR} expansion variables.ts.
//
// Lines are split without regular expressions that backtrack: an anchored pattern with \s* on
// both sides of something optional is quadratic in the blanks, which the file chooses
// (docs/PERFORMANCE.md, "Figures behind the code"). Every step here is one pass over the line.
import { ConfigError, excerpt, formatLocation, type ConfigErrorCode } from './errors.js';
import { ConfigFiles, resolveInclude } from './files.js';
import { Variables } from './variables.js';
import type { RawPipeline, RawProperty, RawSection, SourceLocation } from './raw.js';

export type SectionKind = RawSection['kind'];

/** Fluent Bit sections wsrelay knows of but does not implement: refused by name, not as typos. */
const UNSUPPORTED_SECTIONS = new Set(['parser', 'multiline_parser', 'custom', 'plugins', 'upstream', 'node']);

export function parseClassicConfig(path: string, env: NodeJS.ProcessEnv = process.env): RawPipeline {
  const draft = new PipelineDraft(path);
  const vars = new Variables(env);
  readClassicFile(path, null, { draft, vars, files: new ConfigFiles('classic') });
  // Expansion runs once everything is read: Fluent Bit keeps one variable table for the whole
  // configuration, so an @SET applies to every value whatever file or line it is on.
  return draft.finish(vars);
}

interface ClassicContext {
  readonly draft: PipelineDraft;
  readonly vars: Variables;
  readonly files: ConfigFiles;
}

function readClassicFile(file: string, from: SourceLocation | null, ctx: ClassicContext): void {
  ctx.files.read(file, from, (text) => {
    // Each file starts outside any section (as in Fluent Bit); after an @INCLUDE the including
    // file carries on in the section it was in.
    let current: SectionDraft | null = null;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const at: SourceLocation = { file, line: i + 1 };
      // trim() also drops the \r of a CRLF line end, and any indentation (spaces or tabs).
      const line = (lines[i] ?? '').trim();
      if (line === '' || line.startsWith('#')) continue;

      if (line.startsWith('[')) {
        current = openSection(line, at, ctx.draft);
      } else if (line.startsWith('@')) {
        directive(line, at, ctx);
      } else {
        const [key, value] = splitWord(line);
        if (current === null) {
          throw syntax(
            `property '${excerpt(key)}' is outside any section: put it under [SERVICE], [INPUT] or [OUTPUT]`,
            at,
          );
        }
        current.add(key, value, at);
      }
    }
  });
}

/**
 * A trimmed line → its first word and the rest after the blanks that follow it ('' when
 * none). `\s` is JavaScript's white space, which is what trim() removes.
 */
export function splitWord(line: string): [string, string] {
  const space = line.search(/\s/); // one character class, no quantifier: one pass
  return space < 0 ? [line, ''] : [line.slice(0, space), line.slice(space).trimStart()];
}

/** `[ NAME ]` → NAME; null when the line is not one word between brackets. */
function sectionName(line: string): string | null {
  if (line.length < 2 || !line.startsWith('[') || !line.endsWith(']')) return null;
  const name = line.slice(1, -1).trim();
  return /[\s\]]/.test(name) ? null : name;
}

function openSection(line: string, at: SourceLocation, draft: PipelineDraft): SectionDraft {
  const name = sectionName(line);
  if (name === null) throw syntax(`malformed section header '${excerpt(line)}': expected e.g. [INPUT]`, at);
  const kind = name.toLowerCase();
  if (kind === 'service' || kind === 'input' || kind === 'output') return draft.section(kind, at);
  if (kind === 'filter') throw filtersUnsupported(at);
  if (UNSUPPORTED_SECTIONS.has(kind)) {
    throw new ConfigError('WSR_CONFIG_UNSUPPORTED', `[${name}] sections are not supported`, { at });
  }
  throw syntax(`unknown section [${excerpt(name)}] (wsrelay understands [SERVICE], [INPUT] and [OUTPUT])`, at);
}

function directive(line: string, at: SourceLocation, ctx: ClassicContext): void {
  const [written, arg] = splitWord(line);
  const name = written.toUpperCase();
  if (name === '@INCLUDE') {
    if (arg === '') throw syntax('@INCLUDE without a file', at);
    // The path may use variables known so far (it has to be read now, before the end).
    const pattern = ctx.vars.expand(arg, at, null);
    for (const file of resolveInclude(pattern, at)) readClassicFile(file, at, ctx);
  } else if (name === '@SET') {
    const eq = arg.indexOf('=');
    const key = eq < 0 ? '' : arg.slice(0, eq).trim();
    // Only the first word is quoted: `@SET TOKEN abc` has a secret after it.
    if (key === '')
      throw syntax(
        `malformed @SET '${excerpt(splitWord(eq < 0 ? arg : arg.slice(0, eq))[0])}': expected @SET NAME=value`,
        at,
      );
    ctx.vars.define(key, arg.slice(eq + 1).trim());
  } else {
    throw syntax(`unknown directive ${excerpt(written)} (known: @INCLUDE, @SET)`, at);
  }
}

// ---- shared with yaml.ts -------------------------------------------------------------------

/** A malformed file: wrong syntax, a section or directive wsrelay does not know. */
export function syntax(
  detail: string,
  at: SourceLocation | null,
  code: ConfigErrorCode = 'WSR_CONFIG_USAGE',
): ConfigError {
  return new ConfigError(code, detail, { at });
}

export function filtersUnsupported(at: SourceLocation): ConfigError {
  return new ConfigError('WSR_CONFIG_UNSUPPORTED', 'filters are not supported yet', { at, section: 'FILTER' });
}

/** One section being read; properties keep their unexpanded text until finish(). */
export class SectionDraft {
  readonly properties: RawProperty[] = [];
  plugin: RawProperty | null = null;

  constructor(
    readonly kind: SectionKind,
    readonly at: SourceLocation,
  ) {}

  add(key: string, value: string, at: SourceLocation): void {
    // `Name` picks the plugin of an input/output; it is not one of the plugin's properties.
    if (this.kind !== 'service' && key.toLowerCase() === 'name') {
      if (this.plugin !== null) {
        throw syntax(
          `[${this.kind.toUpperCase()}] has two Name lines (the first at ${formatLocation(this.plugin.at)})`,
          at,
        );
      }
      this.plugin = { key, value, at };
    } else {
      this.properties.push({ key, value, at });
    }
  }
}

/** The sections of a whole configuration (all its files), in the order they were written. */
export class PipelineDraft {
  private service: SectionDraft | null = null;
  private readonly sections: SectionDraft[] = [];

  /** `file` locates the implied service section when the configuration has none. */
  constructor(private readonly file: string) {}

  /** Repeated [SERVICE] sections are one section, as in Fluent Bit. */
  section(kind: SectionKind, at: SourceLocation): SectionDraft {
    if (kind === 'service') {
      this.service ??= new SectionDraft('service', at);
      return this.service;
    }
    const s = new SectionDraft(kind, at);
    this.sections.push(s);
    return s;
  }

  finish(vars: Variables): RawPipeline {
    const build = (s: SectionDraft): RawSection => {
      const what = `[${s.kind.toUpperCase()}]`;
      let plugin = '';
      if (s.kind !== 'service') {
        if (s.plugin === null)
          throw syntax(
            `${what} has no Name: add e.g. 'Name ${s.kind === 'input' ? 'tcp' : 'websocket'}'`,
            s.at,
            'WSR_CONFIG_MISSING',
          );
        plugin = vars.expand(s.plugin.value, s.plugin.at, 'name').trim();
        if (plugin === '') throw syntax(`${what} has an empty Name`, s.plugin.at, 'WSR_CONFIG_MISSING');
      }
      const properties = s.properties.map((p) => ({
        key: p.key,
        value: vars.expand(p.value, p.at, p.key.toLowerCase()),
        at: p.at,
      }));
      return { kind: s.kind, plugin, properties, at: s.at };
    };
    const sections = this.sections.map(build);
    return {
      service:
        this.service === null
          ? { kind: 'service', plugin: '', properties: [], at: { file: this.file, line: 0 } }
          : build(this.service),
      inputs: sections.filter((s) => s.kind === 'input'),
      outputs: sections.filter((s) => s.kind === 'output'),
    };
  }
}
