// The bench scenarios: which relay runs between generator and sink, and how it is fed.

export interface Scenario {
  readonly name: string;
  /** Arguments after `node`, relative to the project root, for the given ports. */
  relayArgs(inPort: number, outPort: number): string[];
  /** WebSocket connections the relay should open to the sink (one per worker). */
  readonly wsConnections: number;
  /** Fixed-rate generator (records/s); absent: as fast as the relay accepts. */
  readonly rate?: number;
  /** Records for this scenario given --records (fixed-rate runs are capped to stay short). */
  records(n: number): number;
  /** Only run when --only selects it (or with --all). */
  readonly optIn?: boolean;
}

type OutFormat = 'json_lines' | 'json' | 'msgpack';

function wsrelay(format: OutFormat, workers: number, extra: { rate?: number; optIn?: boolean } = {}): Scenario {
  const rate = extra.rate;
  const rateTag = rate ? ` @${rate / 1000}k/s` : '';
  return {
    name: `wsrelay tcp→ws ${format} workers=${workers}${rateTag}`,
    relayArgs: (inPort, outPort) => [
      'dist/src/cli.js',
      '-i', 'tcp', '-p', 'listen=127.0.0.1', '-p', `port=${inPort}`, '-p', 'format=json',
      '-o', 'websocket', '-p', 'host=127.0.0.1', '-p', `port=${outPort}`, '-p', 'uri=/',
      '-p', `format=${format}`, '-p', `workers=${workers}`,
      '-m', '*', '-f', '1', '-q',
    ],
    wsConnections: workers,
    ...(rate ? { rate } : {}),
    records: rate ? (n) => Math.min(n, rate * 6) : (n) => n,
    ...(extra.optIn ? { optIn: true } : {}),
  };
}

const noopArgs = (inPort: number, outPort: number): string[] =>
  ['dist/load/noop-relay.js', '--port', `${inPort}`, '--sink-port', `${outPort}`];

export const SCENARIOS: readonly Scenario[] = [
  { name: 'noop-ceiling', relayArgs: noopArgs, wsConnections: 1, records: (n) => n },
  wsrelay('json_lines', 1),
  wsrelay('json_lines', 2),
  wsrelay('json_lines', 4),
  wsrelay('msgpack', 2),
  wsrelay('json', 2),
  // Latency at a fixed 100k records/s (600k records, 6 s each); opt-in (--all or --only @100k).
  { name: 'noop-ceiling @100k/s', relayArgs: noopArgs, wsConnections: 1, rate: 100_000, records: (n) => Math.min(n, 600_000), optIn: true },
  wsrelay('json_lines', 2, { rate: 100_000, optIn: true }),
];

export function selectScenarios(only: string | undefined, all: boolean): Scenario[] {
  if (only !== undefined) return SCENARIOS.filter((s) => s.name.includes(only));
  return SCENARIOS.filter((s) => all || !s.optIn);
}
