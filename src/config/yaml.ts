// Fluent Bit's YAML config format → RawPipeline, with the same rules as the classic format
// (classic.ts): `name` picks the plugin, values stay text for resolve.ts to validate, ${VAR}
// expansion, includes relative to the including file. Every property keeps the line of its
// key, taken from the yaml package's node ranges, so errors point where the user looks.
//
// Bounded, as the classic format (files.ts has the limits, docs/SECURITY.md the reasons): a YAML
// file is at most 1 MiB (the yaml package needs hundreds of bytes of heap per byte of input),
// `[`/`{` nest at most 64 deep (checked with the package's lexer, which costs little, before
// its parser, whose memory grows with every level), and what aliases (`*name`) reach is counted
// (billion laughs: the package's own maxAliasCount only guards toJS(), which is not used here,
// nodes are walked). Duplicate keys are found here with a Set: the package's uniqueKeys check
// compares every key with every other one, quadratic in the keys.
import {
  Lexer,
  LineCounter,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseDocument,
  visit,
  type Alias,
  type Document,
  type Node,
  type Pair,
} from 'yaml';
import { ConfigError, excerpt } from './errors.js';
import { PipelineDraft, filtersUnsupported, syntax, type SectionKind } from './classic.js';
import { CONFIG_LIMITS, ConfigFiles, limitError, resolveInclude } from './files.js';
import { Variables } from './variables.js';
import type { RawPipeline, SourceLocation } from './raw.js';

/** Top-level and pipeline keys Fluent Bit has and wsrelay does not: refused by name. */
const UNSUPPORTED_KEYS = new Set([
  'parsers',
  'multiline_parsers',
  'customs',
  'plugins',
  'upstream_servers',
  'stream_processor',
]);

export function parseYamlConfig(path: string, env: NodeJS.ProcessEnv = process.env): RawPipeline {
  const draft = new PipelineDraft(path);
  const vars = new Variables(env);
  readYamlFile(path, null, { draft, vars, files: new ConfigFiles('yaml'), aliases: { nodes: 0 } });
  // As in classic.ts: one variable table for the whole configuration, applied at the end.
  return draft.finish(vars);
}

interface YamlContext {
  readonly draft: PipelineDraft;
  readonly vars: Variables;
  readonly files: ConfigFiles;
  /** Nodes reached through aliases so far, in every file: CONFIG_LIMITS.yamlAliasNodes. */
  readonly aliases: { nodes: number };
}

function readYamlFile(file: string, from: SourceLocation | null, ctx: YamlContext): void {
  ctx.files.read(file, from, (text) => readYamlText(file, text, ctx));
}

/** The line of the first `[` or `{` nested deeper than the limit, or 0. */
function tooDeep(text: string): number {
  let depth = 0;
  let line = 1;
  // The lexer yields flow indicators as tokens of their own, so a `[` inside a scalar or a
  // comment is not counted. \x02, \x18 and \x1f are its markers, not text of the file.
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') {
      if (++depth > CONFIG_LIMITS.yamlFlowDepth) return line;
    } else if (token === ']' || token === '}') {
      depth = Math.max(0, depth - 1);
    } else if (token !== '\x02' && token !== '\x18' && token !== '\x1f') {
      for (let i = token.indexOf('\n'); i >= 0; i = token.indexOf('\n', i + 1)) line++;
    }
  }
  return 0;
}

function parse(file: string, text: string, lines: LineCounter): Document.Parsed {
  const deep = tooDeep(text);
  if (deep > 0) {
    throw limitError(`YAML collections ([ ] and { }) nested more than ${CONFIG_LIMITS.yamlFlowDepth} deep`, {
      file,
      line: deep,
    });
  }
  try {
    // uniqueKeys: false, checked in YamlFile.entries instead (linear; see the top).
    return parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  } catch (error) {
    // The package reports problems in doc.errors; anything thrown is a bug or exhaustion.
    throw syntax(`invalid YAML: ${excerpt(error instanceof Error ? error.message : String(error))}`, { file, line: 1 });
  }
}

function readYamlText(file: string, text: string, ctx: YamlContext): void {
  const lines = new LineCounter();
  const doc = parse(file, text, lines);
  const reader = new YamlFile(file, text, lines, doc, ctx.aliases);
  const problem = doc.errors[0];
  if (problem !== undefined) {
    const at = { file, line: lines.linePos(problem.pos[0]).line };
    throw syntax(`invalid YAML: ${excerpt(problem.message.split('\n')[0] ?? problem.code, 200)}`, at);
  }
  const root = reader.deref(doc.contents);
  if (root !== null && root !== undefined) {
    for (const [key, value, at] of reader.entries(root, 'the top level')) {
      const name = key.toLowerCase();
      if (name === 'service') {
        const service = ctx.draft.section('service', at);
        for (const [k, v, kAt] of reader.entries(value, "'service'")) {
          for (const [text, vAt] of reader.values(v, k, kAt)) service.add(k, text, vAt);
        }
      } else if (name === 'pipeline') {
        readPipeline(reader, value, ctx);
      } else if (name === 'env') {
        for (const [k, v, kAt] of reader.entries(value, "'env'")) ctx.vars.define(k, reader.scalar(v, k, kAt));
      } else if (name === 'includes') {
        for (const item of reader.list(value, "'includes'", at)) {
          const itemAt = reader.at(item, at);
          const pattern = ctx.vars.expand(reader.scalar(item, 'includes', itemAt), itemAt, null);
          for (const included of resolveInclude(pattern, itemAt)) readYamlFile(included, itemAt, ctx);
        }
      } else if (UNSUPPORTED_KEYS.has(name)) {
        throw new ConfigError('WSR_CONFIG_UNSUPPORTED', `'${key}' is not supported`, { at });
      } else {
        throw syntax(`unknown top-level key '${excerpt(key)}' (known: service, pipeline, env, includes)`, at);
      }
    }
  }
}

/**
 * The sections of a YAML parsers file (Parsers_File, parsers.ts): `parsers:` and
 * `multiline_parsers:` lists of maps; a list value (`rules:`) is the key repeated.
 */
export function readYamlParsers(
  file: string,
  text: string,
): Array<{
  kind: 'parser' | 'multiline_parser';
  properties: Array<{ key: string; value: string; at: SourceLocation }>;
  at: SourceLocation;
}> {
  const lines = new LineCounter();
  const doc = parse(file, text, lines);
  const reader = new YamlFile(file, text, lines, doc, { nodes: 0 });
  const problem = doc.errors[0];
  if (problem !== undefined) {
    throw syntax(`invalid YAML: ${excerpt(problem.message.split('\n')[0] ?? problem.code, 200)}`, {
      file,
      line: lines.linePos(problem.pos[0]).line,
    });
  }
  const sections: ReturnType<typeof readYamlParsers> = [];
  const root = reader.deref(doc.contents);
  if (root === null || root === undefined) return sections;
  for (const [key, value, at] of reader.entries(root, 'the top level')) {
    const name = key.toLowerCase();
    if (name !== 'parsers' && name !== 'multiline_parsers') {
      throw syntax(`unknown top-level key '${excerpt(key)}' in a parsers file (known: parsers, multiline_parsers)`, at);
    }
    for (const item of reader.list(value, `'${key}'`, at)) {
      const section = {
        kind: name === 'parsers' ? ('parser' as const) : ('multiline_parser' as const),
        properties: [] as Array<{ key: string; value: string; at: SourceLocation }>,
        at: reader.at(item, at),
      };
      for (const [k, v, kAt] of reader.entries(item, `an item of '${key}'`)) {
        // Fluent Bit's YAML spells the rule list `rules:` (each a map of state, regex, next_state).
        if (k.toLowerCase() === 'rules') {
          for (const rule of reader.list(v, "'rules'", kAt)) {
            const ruleAt = reader.at(rule, kAt);
            const parts: Record<string, string> = {};
            for (const [rk, rv, rAt] of reader.entries(rule, "an item of 'rules'"))
              parts[rk.toLowerCase()] = reader.scalar(rv, rk, rAt);
            // Quoted as the classic `rule` line is; a regex with a " in it gets ' quotes.
            const quote = (s: string | undefined): string => ((t) => (t.includes('"') ? `'${t}'` : `"${t}"`))(s ?? '');
            section.properties.push({
              key: 'rule',
              value: `${quote(parts.state)} ${quote(parts.regex)} ${quote(parts.next_state)}`,
              at: ruleAt,
            });
          }
          continue;
        }
        for (const [t, vAt] of reader.values(v, k, kAt)) section.properties.push({ key: k, value: t, at: vAt });
      }
      sections.push(section);
    }
  }
  return sections;
}

function readPipeline(reader: YamlFile, pipeline: unknown, ctx: YamlContext): void {
  for (const [key, value, at] of reader.entries(pipeline, "'pipeline'")) {
    const name = key.toLowerCase();
    if (name === 'filters') throw filtersUnsupported(at);
    const kind: SectionKind | null = name === 'inputs' ? 'input' : name === 'outputs' ? 'output' : null;
    if (kind === null) throw syntax(`unknown key '${excerpt(key)}' in 'pipeline' (known: inputs, outputs)`, at);
    for (const item of reader.list(value, `'${key}'`, at)) {
      // A section is located at its first line (`- name: tcp`), like `[INPUT]` in classic.
      const section = ctx.draft.section(kind, reader.at(item, at));
      for (const [k, v, kAt] of reader.entries(item, `an item of '${key}'`)) {
        if (k.toLowerCase() === 'processors') {
          throw new ConfigError('WSR_CONFIG_UNSUPPORTED', 'processors are not supported yet', { at: kAt });
        }
        if (k.toLowerCase() === 'name') {
          // `name: null` is how Fluent Bit's docs write the null output: the yaml package reads
          // a bare null as JS null, which is '' for every other key (empty = default).
          section.add(k, reader.scalar(v, k, kAt, true), kAt);
          continue;
        }
        for (const [text, vAt] of reader.values(v, k, kAt)) section.add(k, text, vAt);
      }
    }
  }
}

/** Typed access to one parsed file: the yaml package's nodes are `unknown` at this boundary. */
class YamlFile {
  constructor(
    private readonly file: string,
    private readonly text: string,
    private readonly lines: LineCounter,
    private readonly doc: Document.Parsed,
    private readonly aliases: { nodes: number },
  ) {}

  /** Nodes under each aliased node, counted once. */
  private readonly sizes = new WeakMap<object, number>();
  /** What each alias stands for, found in one pass over the document when the first is met. */
  private targets: Map<Alias, Node> | null = null;

  /**
   * The node an alias names: the last node anchored with its name before it, in document
   * order (as Alias.resolve, which walks the whole document at every call: quadratic).
   */
  private resolve(alias: Alias): Node | undefined {
    if (this.targets === null) {
      const targets = new Map<Alias, Node>();
      const anchored = new Map<string, Node>();
      visit(this.doc, {
        Node: (_key, node) => {
          if (isAlias(node)) {
            const target = anchored.get(node.source);
            if (target !== undefined) targets.set(node, target);
          } else if (node.anchor !== undefined) {
            anchored.set(node.anchor, node);
          }
        },
      });
      this.targets = targets;
    }
    return this.targets.get(alias);
  }

  /**
   * An alias (`*anchor`) stands for the node it names. Each time one is followed, the nodes
   * under it count against CONFIG_LIMITS.yamlAliasNodes: a list of aliases to lists of aliases
   * would otherwise make a walk exponential in the size of the file.
   */
  deref(node: unknown): unknown {
    if (!isAlias(node)) return node;
    const target = this.resolve(node);
    if (target === undefined) return target;
    this.aliases.nodes += this.size(target);
    if (this.aliases.nodes > CONFIG_LIMITS.yamlAliasNodes) {
      const at = node.range
        ? { file: this.file, line: this.lines.linePos(node.range[0]).line }
        : { file: this.file, line: 1 };
      throw limitError(
        `YAML aliases reach more than ${CONFIG_LIMITS.yamlAliasNodes} nodes in all ` +
          `(*${excerpt(node.source)} and those before it): write the values out instead`,
        at,
      );
    }
    return target;
  }

  /** Nodes in the tree under `node`, aliases in it counting one (they are charged when followed). */
  private size(node: object): number {
    const known = this.sizes.get(node);
    if (known !== undefined) return known;
    let count = 0;
    const stack: unknown[] = [node];
    while (stack.length > 0) {
      const n = stack.pop();
      count++;
      if (isMap(n) || isSeq(n)) for (const item of n.items as unknown[]) stack.push(item);
      else if (isPair(n)) stack.push(n.key, n.value);
    }
    this.sizes.set(node, count);
    return count;
  }

  /** The line a node starts on; `fallback` for a node without a range (an empty value). */
  at(node: unknown, fallback: SourceLocation): SourceLocation {
    const n = this.deref(node);
    const range = isScalar(n) || isMap(n) || isSeq(n) ? n.range : null;
    return range ? { file: this.file, line: this.lines.linePos(range[0]).line } : fallback;
  }

  /** The pairs of a map, as [key text, value node, location of the key]. */
  *entries(node: unknown, what: string): Generator<[string, unknown, SourceLocation]> {
    const n = this.deref(node);
    const fallback = { file: this.file, line: 1 };
    if (n === null || n === undefined || (isScalar(n) && n.value === null)) return; // `service:` left empty
    if (!isMap(n)) throw syntax(`${what} must be a map of 'key: value'`, this.at(n, fallback));
    const seen = new Set<string>();
    for (const pair of n.items as Pair<unknown, unknown>[]) {
      const at = this.at(pair.key, this.at(n, fallback));
      const key = isScalar(this.deref(pair.key)) ? this.scalar(pair.key, 'key', at) : '';
      if (key.trim() === '') throw syntax(`${what}: keys must be plain words`, at);
      // The yaml package's own message, as when it checked (uniqueKeys is off: see the top).
      if (seen.has(key)) throw syntax('invalid YAML: Map keys must be unique', at);
      seen.add(key);
      yield [key, pair.value, at];
    }
  }

  /** The items of a list; an empty value is an empty list. */
  list(node: unknown, what: string, at: SourceLocation): unknown[] {
    const n = this.deref(node);
    if (n === null || n === undefined || (isScalar(n) && n.value === null)) return [];
    if (!isSeq(n)) throw syntax(`${what} must be a list ('- ...' items)`, this.at(n, at));
    return n.items;
  }

  /**
   * A property value: a scalar (located at its key: an empty value has no line of its own), or
   * a list of them meaning the key repeated (`header:`), each located at its `- ` item.
   */
  values(node: unknown, key: string, keyAt: SourceLocation): Array<[string, SourceLocation]> {
    const n = this.deref(node);
    if (!isSeq(n)) return [[this.scalar(n, key, keyAt), keyAt]];
    return n.items.map((item) => {
      const at = this.at(item, keyAt);
      return [this.scalar(item, key, at), at];
    });
  }

  /**
   * A scalar as text. Numbers and booleans keep their source spelling (`4`, `on`, `1.50`):
   * that is what Fluent Bit reads, and resolve.ts parses the text itself. `key:` alone is ''.
   * With `nullAsText`, a written null (`null`, `Null`, `~`) keeps its spelling, as Fluent Bit
   * (whose YAML values are all strings) reads it: for `name: null`.
   */
  scalar(node: unknown, key: string, at: SourceLocation, nullAsText = false): string {
    const n = this.deref(node);
    if (n === null || n === undefined) return '';
    if (!isScalar(n))
      throw syntax(`'${key}' must be a single value, not a ${isMap(n) ? 'map' : 'list'}`, this.at(n, at));
    if (n.value === null)
      return nullAsText && n.type === 'PLAIN' && n.range ? this.text.slice(n.range[0], n.range[1]) : '';
    if (typeof n.value === 'string') return n.value;
    if (n.type === 'PLAIN' && n.range) return this.text.slice(n.range[0], n.range[1]);
    // What is left is a tagged scalar (`!!int "5"`): the core schema makes it a number or a boolean.
    return typeof n.value === 'number' || typeof n.value === 'boolean' || typeof n.value === 'bigint'
      ? String(n.value)
      : JSON.stringify(n.value);
  }
}
