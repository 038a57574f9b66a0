// Command line → CliCommand. Accepts Fluent Bit's own command lines (for the options and
// plugins wsrelay supports), with getopt's spellings: `-p k=v`, `-pk=v`, `--prop k=v`,
// `--prop=k=v`, clustered flags (`-vv`, `-vD`). Values are only collected here, as
// RawProperty with their argv position; resolve.ts validates them, so a command line and a
// config file get the same checks and the same messages.
import { COMMAND_LINE, ConfigError } from '../config/errors.js';
import type { LogLevel } from '../config/types.js';
import type { RawPipeline, RawProperty, RawSection, SourceLocation } from '../config/raw.js';

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'sink'; listen: string; port: number; print: boolean }
  | { kind: 'relay'; pipeline: RawPipeline; configFile: string | null; dryRun: boolean; demo: boolean };

export interface CliOption {
  readonly short: string;
  readonly long: string;
  /** Placeholder of the value (`NAME`), or null for a flag. */
  readonly arg: string | null;
  readonly description: string;
}

/** Every option, in the order --help lists them (Fluent Bit's order and wording where it has one). */
export const CLI_OPTIONS: readonly CliOption[] = [
  {
    short: 'c',
    long: 'config',
    arg: 'FILE',
    description: 'specify a configuration file (classic .conf or YAML .yaml/.yml)',
  },
  { short: 'D', long: 'dry-run', arg: null, description: 'validate the configuration and exit' },
  {
    short: 'f',
    long: 'flush',
    arg: 'SECONDS',
    description: 'flush interval in seconds, fractions allowed (default: 1)',
  },
  { short: 'i', long: 'input', arg: 'INPUT', description: 'start an input: a plugin name, or tcp://LISTEN:PORT' },
  { short: 'm', long: 'match', arg: 'MATCH', description: "set the last output's match, same as '-p match=abc'" },
  {
    short: 'o',
    long: 'output',
    arg: 'OUTPUT',
    description: 'start an output: a plugin name, or ws:// (wss://) HOST:PORT/URI',
  },
  { short: 'p', long: 'prop', arg: 'KEY=VALUE', description: 'set a property of the last input or output' },
  { short: 't', long: 'tag', arg: 'TAG', description: "set the last input's tag, same as '-p tag=abc'" },
  { short: 'v', long: 'verbose', arg: null, description: 'more logging: debug, then trace (-vv)' },
  { short: 'q', long: 'quiet', arg: null, description: 'log errors only' },
  { short: 'H', long: 'http', arg: null, description: 'enable the HTTP metrics server' },
  { short: 'P', long: 'port', arg: 'PORT', description: 'HTTP metrics server port (default: 2020)' },
  { short: 'V', long: 'version', arg: null, description: 'show the version and exit' },
  { short: 'h', long: 'help', arg: null, description: 'print this help and exit' },
];

const BY_SHORT = new Map(CLI_OPTIONS.map((o) => [o.short, o]));
const BY_LONG = new Map(CLI_OPTIONS.map((o) => [o.long, o]));

/** Defaults of the `sink` subcommand, shared with --help. */
export const SINK_DEFAULTS = { listen: '127.0.0.1', port: 9000 } as const;

const LEVELS: readonly LogLevel[] = ['off', 'error', 'warn', 'info', 'debug', 'trace'];

function at(line: number): SourceLocation {
  return { file: COMMAND_LINE, line };
}

function usage(message: string, line: number): ConfigError {
  return new ConfigError('WSR_CONFIG_USAGE', message, { at: at(line) });
}

/** argv without node and the script path. */
export function parseArgv(argv: readonly string[]): CliCommand {
  if (argv[0] === 'sink') return parseSink(argv);
  return new RelayParser(argv).parse();
}

class RelayParser {
  // Line 0: the service section is implied, no argument starts it.
  private readonly service: RawSection = { kind: 'service', plugin: '', properties: [], at: at(0) };
  private readonly inputs: RawSection[] = [];
  private readonly outputs: RawSection[] = [];
  private last: RawSection | null = null;
  private configFile: string | null = null;
  private dryRun = false;
  private level: { value: LogLevel; line: number } | null = null;

  constructor(private readonly argv: readonly string[]) {}

  parse(): CliCommand {
    const { argv } = this;
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] ?? '';
      const line = i + 1;
      let result: 'help' | 'version' | null = null;
      if (arg.startsWith('--') && arg.length > 2) {
        const eq = arg.indexOf('=');
        const name = arg.slice(2, eq < 0 ? undefined : eq);
        const option = BY_LONG.get(name);
        if (option === undefined) throw usage(`unknown option '--${name}' (see --help)`, line);
        if (option.arg === null) {
          if (eq >= 0) throw usage(`option '--${name}' takes no value`, line);
          result = this.apply(option, '', line);
        } else if (eq >= 0) {
          result = this.apply(option, arg.slice(eq + 1), line);
        } else {
          result = this.apply(option, this.valueAfter(i, `--${name}`), line + 1);
          i++;
        }
      } else if (arg.startsWith('-') && arg.length > 1) {
        // getopt clusters: each letter is a flag until one takes a value, which is the rest of
        // the argument (`-pport=1`, `-f1`) or the next argument.
        for (let j = 1; j < arg.length && result === null; j++) {
          const letter = arg[j] ?? '';
          const option = BY_SHORT.get(letter);
          if (option === undefined)
            throw usage(`unknown option '-${letter}'${arg.length > 2 ? ` in '${arg}'` : ''} (see --help)`, line);
          if (option.arg === null) {
            result = this.apply(option, '', line);
            continue;
          }
          const rest = arg.slice(j + 1);
          if (rest !== '') {
            result = this.apply(option, rest, line);
          } else {
            result = this.apply(option, this.valueAfter(i, `-${letter}`), line + 1);
            i++;
          }
          break;
        }
      } else {
        throw usage(`unexpected argument '${arg}' (options start with '-'; see --help)`, line);
      }
      if (result !== null) return { kind: result };
    }
    if (this.level !== null) {
      this.service.properties.push({ key: 'log_level', value: this.level.value, at: at(this.level.line) });
    }
    return {
      kind: 'relay',
      pipeline: { service: this.service, inputs: this.inputs, outputs: this.outputs },
      configFile: this.configFile,
      dryRun: this.dryRun,
      // With no argument at all the caller runs its built-in demo pipeline.
      demo: argv.length === 0,
    };
  }

  private valueAfter(i: number, spelled: string): string {
    const value = this.argv[i + 1];
    if (value === undefined) throw usage(`option '${spelled}' needs a value`, i + 1);
    return value;
  }

  /** `line` is the position of the argument that holds the value. */
  private apply(option: CliOption, value: string, line: number): 'help' | 'version' | null {
    switch (option.short) {
      case 'h':
        return 'help';
      case 'V':
        return 'version';
      case 'i':
      case 'o':
        this.startSection(option.short === 'i' ? 'input' : 'output', value, line);
        break;
      case 'p': {
        const section = this.requireLast('-p', line);
        const eq = value.indexOf('=');
        const key = eq < 0 ? '' : value.slice(0, eq).trim();
        if (key === '') throw usage(`option '-p' expects key=value, got '${value}'`, line);
        section.properties.push({ key, value: value.slice(eq + 1), at: at(line) });
        break;
      }
      case 't':
        this.lastOf(this.inputs, '-t', 'an -i', line).properties.push(prop('tag', value, line));
        break;
      case 'm':
        this.lastOf(this.outputs, '-m', 'an -o', line).properties.push(prop('match', value, line));
        break;
      case 'f':
        this.service.properties.push(prop('flush', value, line));
        break;
      case 'c':
        this.configFile = value;
        break;
      case 'D':
        this.dryRun = true;
        break;
      case 'H':
        this.service.properties.push(prop('http_server', 'on', line));
        break;
      case 'P':
        this.service.properties.push(prop('http_port', value, line));
        break;
      case 'q':
        this.level = { value: 'error', line };
        break;
      case 'v': {
        // Each -v raises the level one step from where it is (info → debug → trace).
        const current = LEVELS.indexOf(this.level?.value ?? 'info');
        this.level = { value: LEVELS[Math.min(current + 1, LEVELS.length - 1)] ?? 'trace', line };
        break;
      }
    }
    return null;
  }

  private startSection(kind: 'input' | 'output', value: string, line: number): void {
    const url = splitUrl(value, line);
    const properties: RawProperty[] = [];
    let plugin = value.trim();
    if (url !== null) {
      plugin = url.scheme === 'ws' || url.scheme === 'wss' ? 'websocket' : url.scheme;
      // wss:// is TLS, as in a browser; a later -p tls=off still wins (last one wins).
      if (url.scheme === 'wss' && kind === 'output') properties.push(prop('tls', 'on', line));
      // Fluent Bit maps an input URL onto its listen address, an output URL onto host/port/uri.
      if (url.host !== '') properties.push(prop(kind === 'input' ? 'listen' : 'host', url.host, line));
      if (url.port !== null) properties.push(prop('port', url.port, line));
      if (url.path !== '' && kind === 'output') properties.push(prop('uri', url.path, line));
      if (url.path !== '' && url.path !== '/' && kind === 'input') {
        throw usage(`an input URL has no path: '${value}'`, line);
      }
    }
    const section: RawSection = { kind, plugin, properties, at: at(line) };
    (kind === 'input' ? this.inputs : this.outputs).push(section);
    this.last = section;
  }

  private requireLast(spelled: string, line: number): RawSection {
    if (this.last === null) throw usage(`option '${spelled}' needs an -i or -o before it`, line);
    return this.last;
  }

  private lastOf(list: RawSection[], spelled: string, needs: string, line: number): RawSection {
    const section = list[list.length - 1];
    if (section === undefined) throw usage(`option '${spelled}' needs ${needs} before it`, line);
    return section;
  }
}

function prop(key: string, value: string, line: number): RawProperty {
  return { key, value, at: at(line) };
}

interface SplitUrl {
  readonly scheme: string;
  readonly host: string;
  readonly port: string | null;
  readonly path: string;
}

/** `ws://host:port/uri?q` → parts, kept as text so resolve.ts validates (and reports) them. */
function splitUrl(value: string, line: number): SplitUrl | null {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(value.trim());
  if (m === null) return null;
  const scheme = (m[1] ?? '').toLowerCase();
  const rest = m[2] ?? '';
  const cut = rest.search(/[/?]/);
  const authority = cut < 0 ? rest : rest.slice(0, cut);
  let path = cut < 0 ? '' : rest.slice(cut);
  if (path.startsWith('?')) path = `/${path}`;
  let host = authority;
  let port: string | null = null;
  if (authority.startsWith('[')) {
    // IPv6 literal: [::1]:8080
    const close = authority.indexOf(']');
    const after = close < 0 ? 'x' : authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw usage(`malformed address in '${value}'`, line);
    host = authority.slice(1, close);
    port = after === '' ? null : after.slice(1);
  } else {
    const colon = authority.indexOf(':');
    if (colon >= 0) {
      host = authority.slice(0, colon);
      port = authority.slice(colon + 1);
    }
  }
  return { scheme, host, port, path };
}

/** `wsrelay sink [--port 9000] [--listen 127.0.0.1] [--print]`: a WebSocket server to test against. */
function parseSink(argv: readonly string[]): CliCommand {
  let listen: string = SINK_DEFAULTS.listen;
  let port: number = SINK_DEFAULTS.port;
  let print = false;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const line = i + 1;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = name === arg ? null : arg.slice(eq + 1);
    const value = (): { text: string; line: number } => {
      if (inline !== null) return { text: inline, line };
      const next = argv[i + 1];
      if (next === undefined) throw usage(`option '${name}' needs a value`, line);
      i++;
      return { text: next, line: line + 1 };
    };
    if (name === '-h' || name === '--help') return { kind: 'help' };
    if (name === '--print' && inline === null) {
      print = true;
    } else if (name === '--listen') {
      const v = value();
      if (v.text.trim() === '' || /\s/.test(v.text.trim()))
        throw usage(`option '--listen' expects an address, got '${v.text}'`, v.line);
      listen = v.text.trim();
    } else if (name === '--port') {
      const v = value();
      const n = /^\d+$/.test(v.text.trim()) ? Number(v.text.trim()) : Number.NaN;
      if (!(n >= 0 && n <= 65535)) throw usage(`option '--port' expects an integer 0-65535, got '${v.text}'`, v.line);
      port = n;
    } else {
      throw usage(`unknown sink option '${arg}' (wsrelay sink [--port N] [--listen ADDR] [--print])`, line);
    }
  }
  return { kind: 'sink', listen, port, print };
}
