// The bench scenarios: which relay runs between generator and sink, and how it is fed.

export type InputProtocol = 'tcp' | 'http' | 'forward';

/** Server mode: the relay listens for WebSocket clients, which fanout-sink.ts opens. */
export interface Fanout {
  /** Clients that read everything; each must get every record once. */
  readonly clients: number;
  /** Clients that never read (the relay must cut them off; the others must not notice). */
  readonly slow: number;
}

export interface Scenario {
  readonly name: string;
  /** Arguments after `node`, relative to the project root, for the given ports (outPort: the
   *  sink's port, or in server mode the port the relay serves WebSocket clients on). */
  relayArgs(inPort: number, outPort: number): string[];
  /** WebSocket connections the relay should open to the sink (one per worker; 0 in server mode). */
  readonly wsConnections: number;
  /** What the generator speaks (default tcp: JSON lines). */
  readonly input?: InputProtocol;
  readonly fanout?: Fanout;
  /** Fixed-rate generator (records/s); absent: as fast as the relay accepts. */
  readonly rate?: number;
  /** Records for this scenario given --records (fixed-rate runs are capped to stay short). */
  records(n: number): number;
  /** Only run when --only selects it (or with --all). */
  readonly optIn?: boolean;
  /** The scenario this one is compared with in the summary (its ceiling). */
  readonly ceiling?: string;
  /** After the burst, watch the relay's RSS return to where it started (memory-after line). */
  readonly settle?: boolean;
}

type OutFormat = 'json_lines' | 'json' | 'msgpack';

const INPUT_ARGS: Readonly<Record<InputProtocol, (inPort: number) => string[]>> = {
  tcp: (inPort) => ['-i', 'tcp', '-p', 'listen=127.0.0.1', '-p', `port=${inPort}`, '-p', 'format=json'],
  http: (inPort) => ['-i', 'http', '-p', 'listen=127.0.0.1', '-p', `port=${inPort}`],
  forward: (inPort) => ['-i', 'forward', '-p', 'listen=127.0.0.1', '-p', `port=${inPort}`],
};

const NOOP_CEILING = 'noop-ceiling';
const FANOUT_CEILING = 'noop-fanout-ceiling ×100 clients';
/** Fan-out runs deliver records × clients: the records are capped so a run takes seconds. */
const FANOUT_RECORDS = 200_000;

const NOOP_CEILING_100K = 'noop-ceiling @100k/s';

function wsrelay(
  format: OutFormat,
  workers: number,
  extra: { rate?: number; optIn?: boolean; input?: InputProtocol; settle?: boolean } = {},
): Scenario {
  const rate = extra.rate;
  const input = extra.input ?? 'tcp';
  const rateTag = rate ? ` @${rate / 1000}k/s` : '';
  return {
    name: `wsrelay ${input}→ws ${format} workers=${workers}${rateTag}`,
    relayArgs: (inPort, outPort) => [
      'dist/src/cli.js',
      ...INPUT_ARGS[input](inPort),
      '-o',
      'websocket',
      '-p',
      'host=127.0.0.1',
      '-p',
      `port=${outPort}`,
      '-p',
      'uri=/',
      '-p',
      `format=${format}`,
      '-p',
      `workers=${workers}`,
      '-m',
      '*',
      '-f',
      '1',
      '-q',
    ],
    wsConnections: workers,
    ...(input !== 'tcp' ? { input } : {}),
    ...(rate ? { rate } : {}),
    records: rate ? (n) => Math.min(n, rate * 6) : (n) => n,
    ...(extra.optIn ? { optIn: true } : {}),
    // At a fixed rate both reach the rate: compare with the no-op relay at the same rate.
    ceiling: rate === 100_000 ? NOOP_CEILING_100K : NOOP_CEILING,
    ...(extra.settle ? { settle: true } : {}),
  };
}

/**
 * Server mode: tcp in, `websocket_server` out with json_lines frames (a chunk's messages in one
 * frame, for high-volume consumers), `clients` reading clients and `slow` never-reading ones.
 * The relay never slows its inputs for a client (a slow client is cut off instead), so it is fed
 * at a fixed rate: the figure is whether `clients` × rate records/s reach every client intact.
 * Flush 0.1 s: a live feed wants its tail soon, and the run's clock stops at the last record.
 * max_client_queue 16M (default 4M): ~2 s of lag at these rates, so a client whose process is
 * descheduled for a moment on the shared 2-core machine is not cut; the queued frames are shared
 * by all clients, so this costs memory once, not per client.
 */
function fanout(clients: number, slow: number, rate: number, optIn = false): Scenario {
  return {
    name: `wsrelay tcp→server json_lines ×${clients} clients${slow > 0 ? ` +${slow} never reading` : ''} @${rate / 1000}k/s`,
    relayArgs: (inPort, outPort) => [
      'dist/src/cli.js',
      ...INPUT_ARGS.tcp(inPort),
      '-o',
      'websocket_server',
      '-p',
      'listen=127.0.0.1',
      '-p',
      `port=${outPort}`,
      '-p',
      'format=json_lines',
      '-p',
      'max_client_queue=16M',
      '-m',
      '*',
      '-f',
      '0.1',
      '-q',
    ],
    wsConnections: 0,
    fanout: { clients, slow },
    rate,
    // ~4 s of records at the rate, at most FANOUT_RECORDS.
    records: (n) => Math.min(n, FANOUT_RECORDS, rate * 4),
    ...(optIn ? { optIn: true } : {}),
    ceiling: FANOUT_CEILING,
  };
}

const noopArgs = (inPort: number, outPort: number): string[] => [
  'dist/load/noop-relay.js',
  '--port',
  `${inPort}`,
  '--sink-port',
  `${outPort}`,
];

export const SCENARIOS: readonly Scenario[] = [
  { name: NOOP_CEILING, relayArgs: noopArgs, wsConnections: 1, records: (n) => n },
  wsrelay('json_lines', 1),
  wsrelay('json_lines', 2),
  wsrelay('json_lines', 4, { settle: true }),
  wsrelay('msgpack', 2),
  wsrelay('json', 2),
  wsrelay('json_lines', 2, { input: 'http' }),
  wsrelay('json_lines', 2, { input: 'forward' }),
  // Server mode: a pure `ws` broadcast of pre-built 64 KiB frames as the ceiling, then the relay.
  {
    name: FANOUT_CEILING,
    relayArgs: (inPort, outPort) => ['dist/load/noop-fanout.js', '--port', `${inPort}`, '--ws-port', `${outPort}`],
    wsConnections: 0,
    fanout: { clients: 100, slow: 0 },
    records: (n) => Math.min(n, FANOUT_RECORDS),
  },
  fanout(100, 0, 60_000),
  fanout(100, 1, 60_000),
  fanout(100, 0, 80_000, true),
  fanout(100, 0, 100_000, true),
  // Latency at a fixed 100k records/s (600k records, 6 s each); opt-in (--all or --only @100k).
  {
    name: NOOP_CEILING_100K,
    relayArgs: noopArgs,
    wsConnections: 1,
    rate: 100_000,
    records: (n) => Math.min(n, 600_000),
    optIn: true,
  },
  wsrelay('json_lines', 2, { rate: 100_000, optIn: true }),
];

export function selectScenarios(only: string | undefined, all: boolean): Scenario[] {
  if (only !== undefined) return SCENARIOS.filter((s) => s.name.includes(only));
  return SCENARIOS.filter((s) => all || !s.optIn);
}
