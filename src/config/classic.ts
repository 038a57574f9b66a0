// Fluent Bit's classic config format (`[INPUT]` / `Key Value`) → RawPipeline. Only the syntax
// is handled here; resolve.ts validates keys and values, so every property keeps the file and
// line it was written on. The helpers shared with yaml.ts (file reading, @INCLUDE globs,
// ${VAR} expansion, the section builder) live here too, so both formats behave the same.
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ConfigError, formatLocation, type ConfigErrorCode } from './errors.js';
import type { RawPipeline, RawProperty, RawSection, SourceLocation } from './types.js';

export type SectionKind = RawSection['kind'];

/** Fluent Bit sections wsrelay knows of but does not implement: refused by name, not as typos. */
const UNSUPPORTED_SECTIONS = new Set(['parser', 'multiline_parser', 'custom', 'plugins', 'upstream', 'node']);

export function parseClassicConfig(path: string, env: NodeJS.ProcessEnv = process.env): RawPipeline {
  const draft = new PipelineDraft(path);
  const vars = new Map<string, string>();
  readClassicFile(path, null, { draft, vars, env, open: [] });
  // Expansion runs once everything is read: Fluent Bit keeps one variable table for the whole
  // configuration, so an @SET applies to every value whatever file or line it is on.
  return draft.finish(vars, env);
}

interface ClassicContext {
  readonly draft: PipelineDraft;
  readonly vars: Map<string, string>;
  readonly env: NodeJS.ProcessEnv;
  /** Real paths of the files being read, outermost first: an include cycle would never end. */
  readonly open: string[];
}

function readClassicFile(file: string, from: SourceLocation | null, ctx: ClassicContext): void {
  const text = readConfigText(file, from);
  const release = enterFile(file, from, ctx.open);
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
      const m = /^(\S+)(?:\s+(.*))?$/.exec(line);
      const key = m?.[1] ?? line;
      const value = m?.[2] ?? '';
      if (current === null) {
        throw syntax(`property '${key}' is outside any section: put it under [SERVICE], [INPUT] or [OUTPUT]`, at);
      }
      current.add(key, value, at);
    }
  }
  release();
}

function openSection(line: string, at: SourceLocation, draft: PipelineDraft): SectionDraft {
  const m = /^\[\s*([^\]\s]*)\s*\]$/.exec(line);
  if (m === null) throw syntax(`malformed section header '${line}': expected e.g. [INPUT]`, at);
  const name = m[1] ?? '';
  const kind = name.toLowerCase();
  if (kind === 'service' || kind === 'input' || kind === 'output') return draft.section(kind, at);
  if (kind === 'filter') throw filtersUnsupported(at);
  if (UNSUPPORTED_SECTIONS.has(kind)) {
    throw new ConfigError('WSR_CONFIG_UNSUPPORTED', `[${name}] sections are not supported`, { at });
  }
  throw syntax(`unknown section [${name}] (wsrelay understands [SERVICE], [INPUT] and [OUTPUT])`, at);
}

function directive(line: string, at: SourceLocation, ctx: ClassicContext): void {
  const m = /^(@\S+)(?:\s+(.*))?$/.exec(line);
  const name = (m?.[1] ?? line).toUpperCase();
  const arg = m?.[2] ?? '';
  if (name === '@INCLUDE') {
    if (arg === '') throw syntax('@INCLUDE without a file', at);
    // The path may use variables known so far (it has to be read now, before the end).
    const pattern = expandVariables(arg, ctx.vars, ctx.env, at, null);
    for (const file of resolveInclude(pattern, at)) readClassicFile(file, at, ctx);
  } else if (name === '@SET') {
    const eq = arg.indexOf('=');
    const key = eq < 0 ? '' : arg.slice(0, eq).trim();
    if (key === '') throw syntax(`malformed @SET '${arg}': expected @SET NAME=value`, at);
    ctx.vars.set(key, arg.slice(eq + 1).trim());
  } else {
    throw syntax(`unknown directive ${m?.[1] ?? line} (known: @INCLUDE, @SET)`, at);
  }
}

// ---- shared with yaml.ts -------------------------------------------------------------------

/** A malformed file: wrong syntax, a section or directive wsrelay does not know. */
export function syntax(detail: string, at: SourceLocation | null, code: ConfigErrorCode = 'WSR_CONFIG_USAGE'): ConfigError {
  return new ConfigError(code, detail, { at });
}

export function filtersUnsupported(at: SourceLocation): ConfigError {
  return new ConfigError('WSR_CONFIG_UNSUPPORTED', 'filters are not supported yet', { at, section: 'FILTER' });
}

/** The file's text without a BOM; `from` is the @INCLUDE that named it, null for the main file. */
export function readConfigText(file: string, from: SourceLocation | null): string {
  try {
    return readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String(e);
    const what = from === null ? `cannot read config file '${file}'` : `cannot read included file '${file}'`;
    throw new ConfigError('WSR_CONFIG_MISSING', `${what}: ${why}`, { at: from });
  }
}

/**
 * Marks `file` as being read and returns the function that unmarks it. Reading a file that is
 * already open is a cycle; reading one twice side by side (a diamond) is allowed.
 */
export function enterFile(file: string, from: SourceLocation | null, open: string[]): () => void {
  const real = realpathSync(file);
  if (open.includes(real)) {
    const chain = [...open.slice(open.indexOf(real)), real].join(' -> ');
    throw syntax(`include cycle: ${chain}`, from);
  }
  open.push(real);
  return () => void open.pop();
}

/**
 * The files an include names, relative to the including file. `*` and `?` are allowed in the
 * last path component (`conf.d/*.conf`); matches are sorted so the order of instances (tcp.0,
 * tcp.1...) does not depend on the file system. Matching nothing is an error, as in Fluent Bit.
 */
export function resolveInclude(pattern: string, from: SourceLocation): string[] {
  const path = isAbsolute(pattern) ? pattern : join(dirname(from.file), pattern);
  const last = basename(path);
  // A missing plain file is reported by readConfigText, with this include's location.
  if (!/[*?]/.test(last)) return [path];
  const dir = dirname(path);
  const re = globToRegExp(last);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new ConfigError('WSR_CONFIG_MISSING', `include '${pattern}': no directory '${dir}'`, { at: from });
  }
  const files = names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => join(dir, n))
    .filter((f) => statSync(f).isFile());
  if (files.length === 0) {
    throw new ConfigError('WSR_CONFIG_MISSING', `include '${pattern}' matches no file in '${dir}'`, { at: from });
  }
  return files;
}

/** `*` = any run of characters, `?` = one; like a shell, neither matches a leading dot. */
function globToRegExp(glob: string): RegExp {
  const body = [...glob].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('');
  return new RegExp(glob.startsWith('.') ? `^${body}$` : `^(?!\\.)${body}$`);
}

/**
 * `${NAME}` and `${NAME:-default}`: from the config's own variables (@SET, YAML `env:`), then
 * the environment. As in a shell, the default also replaces an empty value. A variable with no
 * value and no default is an error: an empty host or port would fail later, far from the cause.
 */
export function expandVariables(
  value: string,
  vars: ReadonlyMap<string, string>,
  env: NodeJS.ProcessEnv,
  at: SourceLocation,
  key: string | null,
): string {
  return value.replace(/\$\{([^}]*)\}/g, (_whole, inner: string) => {
    const sep = inner.indexOf(':-');
    const name = (sep < 0 ? inner : inner.slice(0, sep)).trim();
    const fallback = sep < 0 ? undefined : inner.slice(sep + 2);
    if (name === '') throw new ConfigError('WSR_CONFIG_BAD_VALUE', `empty variable name in '${value}'`, { at, key });
    const found = vars.get(name) ?? env[name];
    if (found !== undefined && (found !== '' || fallback === undefined)) return found;
    if (fallback !== undefined) return fallback;
    throw new ConfigError(
      'WSR_CONFIG_BAD_VALUE',
      `variable '${name}' is not defined (set it with @SET, in env:, or in the environment; or write \${${name}:-default})`,
      { at, key },
    );
  });
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
        throw syntax(`[${this.kind.toUpperCase()}] has two Name lines (the first at ${formatLocation(this.plugin.at)})`, at);
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

  finish(vars: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv): RawPipeline {
    const build = (s: SectionDraft): RawSection => {
      const what = `[${s.kind.toUpperCase()}]`;
      let plugin = '';
      if (s.kind !== 'service') {
        if (s.plugin === null) throw syntax(`${what} has no Name: add e.g. 'Name ${s.kind === 'input' ? 'tcp' : 'websocket'}'`, s.at, 'WSR_CONFIG_MISSING');
        plugin = expandVariables(s.plugin.value, vars, env, s.plugin.at, 'name').trim();
        if (plugin === '') throw syntax(`${what} has an empty Name`, s.plugin.at, 'WSR_CONFIG_MISSING');
      }
      const properties = s.properties.map((p) => ({
        key: p.key,
        value: expandVariables(p.value, vars, env, p.at, p.key.toLowerCase()),
        at: p.at,
      }));
      return { kind: s.kind, plugin, properties, at: s.at };
    };
    const sections = this.sections.map(build);
    return {
      service: this.service === null ? { kind: 'service', plugin: '', properties: [], at: { file: this.file, line: 0 } } : build(this.service),
      inputs: sections.filter((s) => s.kind === 'input'),
      outputs: sections.filter((s) => s.kind === 'output'),
    };
  }
}
