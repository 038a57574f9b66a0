// Messages exchanged over IPC between bench.ts and its children (generator, sink, noop relay).
// Children send plain objects; the parent validates them with the guards below, so nothing
// untyped crosses a module boundary.

/** Wall-clock milliseconds with fractions: performance.timeOrigin + performance.now(). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface SinkStats {
  /** Records decoded whose seq is in [0, N), duplicates included. */
  readonly received: number;
  /** Distinct seq values in [0, N). */
  readonly unique: number;
  /** received − unique: extra deliveries of a seq already seen. */
  readonly duplicates: number;
  /** N − unique. */
  readonly missing: number;
  /** Records whose seq is a number but not an integer in [0, N). */
  readonly outOfRange: number;
  /** Lines/items that failed to decode, were not objects, or had no numeric seq. */
  readonly badRecords: number;
  readonly messages: number;
  readonly textMessages: number;
  readonly binaryMessages: number;
  readonly bytes: number;
  /** Messages also fully decoded (JSON.parse / msgpackr) to check the fast scanner. */
  readonly validatedMessages: number;
  /** Of those, messages where the full decode failed or disagreed with the scanner. */
  readonly invalidMessages: number;
  /** WebSocket connections accepted so far (all of them, closed ones included). */
  readonly connections: number;
  /** Wall ms of the first and last record received; 0 when none. */
  readonly firstAt: number;
  readonly lastAt: number;
  /** Wall ms when unique reached N; 0 when it never did. */
  readonly completeAt: number;
  /** Latency now − t, milliseconds; -1 when no record carried t. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** The sink's own CPU time (user + system) since it started, seconds. */
  readonly cpuS: number;
  /** Server-mode runs (fanout-sink.ts): received is then every delivery to every client,
   *  unique the fewest distinct seqs any client got, missing/duplicates the worst client's. */
  readonly fanout?: FanoutStats;
}

export interface FanoutStats {
  /** Clients that read everything, and of those, the ones that got every seq. */
  readonly clients: number;
  readonly completeClients: number;
  /** Clients whose messages differed from the first client's (each then checked on its own). */
  readonly divergedClients: number;
  /** Records delivered, all reading clients together. */
  readonly deliveries: number;
  /** Clients that never read (the relay should cut them off). */
  readonly slowClients: number;
  /** How connections ended: "12× slow 1013, …" (close codes as the clients saw them). */
  readonly closeCodes: string;
}

export type SinkMessage =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'connection'; readonly connections: number }
  | { readonly type: 'progress'; readonly received: number; readonly unique: number; readonly at: number }
  | { readonly type: 'stats'; readonly reason: 'complete' | 'request'; readonly stats: SinkStats };

export type SinkCommand = { readonly type: 'report' };

export type GeneratorMessage =
  | { readonly type: 'connected'; readonly at: number }
  | { readonly type: 'started'; readonly at: number }
  | { readonly type: 'progress'; readonly records: number; readonly at: number }
  | {
      readonly type: 'done';
      readonly at: number;
      readonly records: number;
      readonly bytes: number;
      /** CPU used while writing; cpuTotalS: since the process started (line building included). */
      readonly cpuS: number;
      readonly cpuTotalS: number;
    }
  | { readonly type: 'error'; readonly message: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function nums(o: Record<string, unknown>, keys: readonly string[]): boolean {
  return keys.every((k) => typeof o[k] === 'number');
}

const STATS_KEYS: readonly (keyof SinkStats)[] = [
  'received',
  'unique',
  'duplicates',
  'missing',
  'outOfRange',
  'badRecords',
  'messages',
  'textMessages',
  'binaryMessages',
  'bytes',
  'validatedMessages',
  'invalidMessages',
  'connections',
  'firstAt',
  'lastAt',
  'completeAt',
  'p50',
  'p99',
  'max',
  'cpuS',
];

export function asSinkMessage(v: unknown): SinkMessage | null {
  if (!isObject(v)) return null;
  switch (v.type) {
    case 'listening':
      return nums(v, ['port']) ? (v as SinkMessage) : null;
    case 'connection':
      return nums(v, ['connections']) ? (v as SinkMessage) : null;
    case 'progress':
      return nums(v, ['received', 'unique', 'at']) ? (v as SinkMessage) : null;
    case 'stats':
      return (v.reason === 'complete' || v.reason === 'request') && isObject(v.stats) && nums(v.stats, STATS_KEYS)
        ? (v as SinkMessage)
        : null;
    default:
      return null;
  }
}

export function asSinkCommand(v: unknown): SinkCommand | null {
  return isObject(v) && v.type === 'report' ? { type: 'report' } : null;
}

export function asGeneratorMessage(v: unknown): GeneratorMessage | null {
  if (!isObject(v)) return null;
  switch (v.type) {
    case 'connected':
    case 'started':
      return nums(v, ['at']) ? (v as GeneratorMessage) : null;
    case 'progress':
      return nums(v, ['records', 'at']) ? (v as GeneratorMessage) : null;
    case 'done':
      return nums(v, ['at', 'records', 'bytes', 'cpuS', 'cpuTotalS']) ? (v as GeneratorMessage) : null;
    case 'error':
      return typeof v.message === 'string' ? (v as GeneratorMessage) : null;
    default:
      return null;
  }
}

/** CPU time (user + system) this process has used, seconds. */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Sends to the parent over IPC when there is one, else prints one JSON line on stdout. */
export function report(msg: SinkMessage | GeneratorMessage): void {
  if (process.send) process.send(msg);
  else process.stdout.write(JSON.stringify(msg) + '\n');
}
