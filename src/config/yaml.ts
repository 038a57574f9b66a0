// Fluent Bit's YAML config format → RawPipeline, with the same rules as the classic format
// (classic.ts): `name` picks the plugin, values stay text for resolve.ts to validate, ${VAR}
// expansion, includes relative to the including file. Every property keeps the line of its
// key, taken from the yaml package's node ranges, so errors point where the user looks.
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Pair } from 'yaml';
import { ConfigError } from './errors.js';
import {
  PipelineDraft,
  enterFile,
  expandVariables,
  filtersUnsupported,
  readConfigText,
  resolveInclude,
  syntax,
  type SectionKind,
} from './classic.js';
import type { RawPipeline, SourceLocation } from './types.js';

/** Top-level and pipeline keys Fluent Bit has and wsrelay does not: refused by name. */
const UNSUPPORTED_KEYS = new Set(['parsers', 'multiline_parsers', 'customs', 'plugins', 'upstream_servers', 'stream_processor']);

export function parseYamlConfig(path: string, env: NodeJS.ProcessEnv = process.env): RawPipeline {
  const draft = new PipelineDraft(path);
  const vars = new Map<string, string>();
  readYamlFile(path, null, { draft, vars, env, open: [] });
  // As in classic.ts: one variable table for the whole configuration, applied at the end.
  return draft.finish(vars, env);
}

interface YamlContext {
  readonly draft: PipelineDraft;
  readonly vars: Map<string, string>;
  readonly env: NodeJS.ProcessEnv;
  readonly open: string[];
}

function readYamlFile(file: string, from: SourceLocation | null, ctx: YamlContext): void {
  const text = readConfigText(file, from);
  const release = enterFile(file, from, ctx.open);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const reader = new YamlFile(file, text, lines, doc);
  const problem = doc.errors[0];
  if (problem !== undefined) {
    const at = { file, line: lines.linePos(problem.pos[0]).line };
    throw syntax(`invalid YAML: ${problem.message.split('\n')[0] ?? problem.code}`, at);
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
        for (const [k, v, kAt] of reader.entries(value, "'env'")) ctx.vars.set(k, reader.scalar(v, k, kAt));
      } else if (name === 'includes') {
        for (const item of reader.list(value, "'includes'", at)) {
          const itemAt = reader.at(item, at);
          const pattern = expandVariables(reader.scalar(item, 'includes', itemAt), ctx.vars, ctx.env, itemAt, null);
          for (const included of resolveInclude(pattern, itemAt)) readYamlFile(included, itemAt, ctx);
        }
      } else if (UNSUPPORTED_KEYS.has(name)) {
        throw new ConfigError('WSR_CONFIG_UNSUPPORTED', `'${key}' is not supported`, { at });
      } else {
        throw syntax(`unknown top-level key '${key}' (known: service, pipeline, env, includes)`, at);
      }
    }
  }
  release();
}

function readPipeline(reader: YamlFile, pipeline: unknown, ctx: YamlContext): void {
  for (const [key, value, at] of reader.entries(pipeline, "'pipeline'")) {
    const name = key.toLowerCase();
    if (name === 'filters') throw filtersUnsupported(at);
    const kind: SectionKind | null = name === 'inputs' ? 'input' : name === 'outputs' ? 'output' : null;
    if (kind === null) throw syntax(`unknown key '${key}' in 'pipeline' (known: inputs, outputs)`, at);
    for (const item of reader.list(value, `'${key}'`, at)) {
      // A section is located at its first line (`- name: tcp`), like `[INPUT]` in classic.
      const section = ctx.draft.section(kind, reader.at(item, at));
      for (const [k, v, kAt] of reader.entries(item, `an item of '${key}'`)) {
        if (k.toLowerCase() === 'processors') {
          throw new ConfigError('WSR_CONFIG_UNSUPPORTED', 'processors are not supported yet', { at: kAt });
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
  ) {}

  /** An alias (`*anchor`) stands for the node it names. */
  deref(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  /** The line a node starts on; `fallback` for a node without a range (an empty value). */
  at(node: unknown, fallback: SourceLocation): SourceLocation {
    const n = this.deref(node);
    const range = (isScalar(n) || isMap(n) || isSeq(n)) ? n.range : null;
    return range ? { file: this.file, line: this.lines.linePos(range[0]).line } : fallback;
  }

  /** The pairs of a map, as [key text, value node, location of the key]. */
  *entries(node: unknown, what: string): Generator<[string, unknown, SourceLocation]> {
    const n = this.deref(node);
    const fallback = { file: this.file, line: 1 };
    if (n === null || n === undefined || (isScalar(n) && n.value === null)) return; // `service:` left empty
    if (!isMap(n)) throw syntax(`${what} must be a map of 'key: value'`, this.at(n, fallback));
    for (const pair of n.items as Pair<unknown, unknown>[]) {
      const at = this.at(pair.key, this.at(n, fallback));
      const key = isScalar(this.deref(pair.key)) ? this.scalar(pair.key, 'key', at) : '';
      if (key.trim() === '') throw syntax(`${what}: keys must be plain words`, at);
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
   */
  scalar(node: unknown, key: string, at: SourceLocation): string {
    const n = this.deref(node);
    if (n === null || n === undefined) return '';
    if (!isScalar(n)) throw syntax(`'${key}' must be a single value, not a ${isMap(n) ? 'map' : 'list'}`, this.at(n, at));
    if (n.value === null) return '';
    if (typeof n.value === 'string') return n.value;
    if (n.type === 'PLAIN' && n.range) return this.text.slice(n.range[0], n.range[1]);
    return String(n.value);
  }
}
