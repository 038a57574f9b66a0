// --help, in the layout of `fluent-bit --help`, generated from the option table in argv.ts and
// the property schemas in properties.ts so that it cannot fall behind the code. propertyTable
// gives the same rows to config-reference.ts, which generates docs/CONFIGURATION.md.
import { schemaFor, INPUT_SCHEMAS, OUTPUT_SCHEMAS, type SchemaKind } from '../config/properties.js';
import { CLI_OPTIONS, SINK_DEFAULTS } from './argv.js';

export interface PropertyRow {
  /** Lowercase key; users may write it in any case. */
  readonly key: string;
  /** As a user would write it (`32`, `2M`, `on`, `none`). */
  readonly default: string;
  readonly description: string;
  readonly repeatable: boolean;
  readonly obsolete: boolean;
}

/** One row per property of `kind` (`service`, `tcp`, `websocket`), in schema order. */
export function propertyTable(kind: SchemaKind): PropertyRow[] {
  return Object.entries(schemaFor(kind)).map(([key, spec]) => ({
    key,
    default: spec.shownDefault,
    description: spec.description,
    repeatable: spec.repeatable,
    obsolete: spec.obsolete !== undefined,
  }));
}

/** `left` padded to `width`, then `right`; a left column too wide gets its own line. */
function row(left: string, right: string, width: number): string {
  return left.length < width ? `${left.padEnd(width)}${right}` : `${left}\n${' '.repeat(width)}${right}`;
}

function section(title: string, kind: SchemaKind): string[] {
  const rows = propertyTable(kind).filter((r) => !r.obsolete);
  const keyWidth = Math.max(...rows.map((r) => r.key.length)) + 2;
  const defWidth = Math.min(Math.max(...rows.map((r) => r.default.length)) + 2, 14);
  const lines = [title];
  for (const r of rows) {
    // The schema says repeatable once (spec.repeatable), here and in CONFIGURATION.md alike.
    const description = r.repeatable ? `${r.description} (repeatable)` : r.description;
    lines.push(row(`    ${r.key.padEnd(keyWidth)}${r.default}`, description, 4 + keyWidth + defWidth));
  }
  return lines;
}

export function helpText(): string {
  const options = CLI_OPTIONS.map((o) => {
    const long = o.arg === null ? `--${o.long}` : `--${o.long}=${o.arg}`;
    return row(`  -${o.short}  ${long}`, o.description, 30);
  });
  const inputs = Object.keys(INPUT_SCHEMAS) as (keyof typeof INPUT_SCHEMAS)[];
  const outputs = Object.keys(OUTPUT_SCHEMAS) as (keyof typeof OUTPUT_SCHEMAS)[];
  return [
    'Usage: wsrelay [OPTION]',
    '       wsrelay sink [--port PORT] [--listen ADDR] [--print]',
    '',
    "A log relay: TCP (JSON lines) in, WebSocket out, with Fluent Bit's command line.",
    'Without arguments it runs a demo pipeline with a built-in sink.',
    '',
    'Available Options',
    ...options,
    '',
    'Subcommand',
    row('  sink', 'run a WebSocket server that counts (--print: prints) what it receives', 30),
    row('    --port=PORT', `port to listen on (default: ${SINK_DEFAULTS.port})`, 30),
    row('    --listen=ADDR', `address to listen on (default: ${SINK_DEFAULTS.listen})`, 30),
    row('    --print', 'print every message received', 30),
    '',
    `Inputs: ${inputs.join(', ')}`,
    `Outputs: ${outputs.join(', ')} (also ws://HOST:PORT/URI, wss://HOST:PORT/URI)`,
    '',
    'Properties are set with -p KEY=VALUE after -i/-o; keys are case-insensitive; an empty',
    'value means the default. Sizes take k, M, G (1024 based).',
    '',
    ...section('[SERVICE] (-f, -v, -q, -H, -P; or a [SERVICE] section)', 'service'),
    '',
    ...inputs.flatMap((name) => [...section(`Input ${name}`, name), '']),
    ...outputs.flatMap((name) => [...section(`Output ${name}`, name), '']),
    'Example',
    "  wsrelay -i tcp -p port=5170 -p format=json -o ws://127.0.0.1:9000/ -p format=json_lines -m '*' -f 1",
    '',
  ].join('\n');
}
