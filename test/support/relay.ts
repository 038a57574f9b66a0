// Starting a relay inside the test process (real engine, real worker threads, real sockets),
// sending it lines over real TCP connections, and waiting for conditions.
import { connect } from 'node:net';
import { resolvePipeline } from '../../src/config/resolve.js';
import type { RawProperty } from '../../src/config/raw.js';
import { Engine } from '../../src/engine/engine.js';
import type { TcpInput } from '../../src/inputs/tcp-input.js';
import { Logger } from '../../src/log.js';

const at = { file: 'test', line: 1 };

function props(entries: Record<string, string>): RawProperty[] {
  return Object.entries(entries).map(([key, value]) => ({ key, value, at }));
}

export interface TestRelay {
  readonly engine: Engine;
  /** The tcp input's bound port. */
  readonly port: number;
  readonly logs: string[];
  stop(): Promise<void>;
}

/** A tcp input on an ephemeral port → a websocket output to `outputPort`. */
export async function startRelay(
  outputPort: number,
  output: Record<string, string> = {},
  input: Record<string, string> = {},
  service: Record<string, string> = {},
): Promise<TestRelay> {
  const { config } = resolvePipeline({
    service: { kind: 'service', plugin: '', at, properties: props({ flush: '0.05', log_level: 'warn', ...service }) },
    inputs: [{ kind: 'input', plugin: 'tcp', at, properties: props({ listen: '127.0.0.1', port: '0', ...input }) }],
    outputs: [
      {
        kind: 'output',
        plugin: 'websocket',
        at,
        properties: props({ host: '127.0.0.1', port: String(outputPort), format: 'json_lines', match: '*', ...output }),
      },
    ],
  });
  const logs: string[] = [];
  const log = new Logger(config.service.logLevel, '', {
    write: (line) => {
      logs.push(line);
    },
  });
  const engine = new Engine(config, log);
  await engine.start();
  return {
    engine,
    port: (engine.inputs[0] as TcpInput).port,
    logs,
    stop: async () => {
      await engine.shutdown();
    },
  };
}

export interface SectionSpec {
  readonly plugin: string;
  readonly props?: Record<string, string>;
}

/** Any pipeline, from plugin names and properties, started in-process. */
export async function startPipeline(
  inputs: SectionSpec[],
  outputs: SectionSpec[],
  service: Record<string, string> = {},
): Promise<TestRelay> {
  const { config } = resolvePipeline({
    service: { kind: 'service', plugin: '', at, properties: props({ flush: '0.05', log_level: 'warn', ...service }) },
    inputs: inputs.map((i) => ({ kind: 'input', plugin: i.plugin, at, properties: props(i.props ?? {}) })),
    outputs: outputs.map((o) => ({ kind: 'output', plugin: o.plugin, at, properties: props(o.props ?? {}) })),
  });
  const logs: string[] = [];
  const log = new Logger(config.service.logLevel, '', {
    write: (line) => {
      logs.push(line);
    },
  });
  const engine = new Engine(config, log);
  await engine.start();
  const first = engine.inputs[0] as { port?: number } | undefined;
  return {
    engine,
    port: first?.port ?? 0,
    logs,
    stop: async () => {
      await engine.shutdown();
    },
  };
}

/** Writes the lines spread over `connections` TCP connections, and closes them. */
export async function sendLines(
  port: number,
  lines: readonly string[],
  connections = 1,
  terminator = '\n',
): Promise<void> {
  const groups: string[][] = Array.from({ length: connections }, () => []);
  lines.forEach((line, i) => groups[i % connections]!.push(line));
  await Promise.all(
    groups.map(
      (group) =>
        new Promise<void>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.end(group.map((line) => `${line}${terminator}`).join(''));
          });
          socket.on('error', reject);
          socket.on('close', () => resolve());
        }),
    ),
  );
}

export async function waitFor(condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** waitFor for a condition that must ask (an HTTP probe, a scrape), asked again `everyMs` after each answer. */
export async function waitForAsync(
  condition: () => Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Counts of each `seq` among records; returns the missing ones and how many arrived twice. */
export function seqReport(
  records: ReadonlyArray<Record<string, unknown>>,
  total: number,
): { missing: number[]; duplicates: number } {
  const seen = new Uint32Array(total);
  let duplicates = 0;
  for (const record of records) {
    const seq = record['seq'];
    if (typeof seq !== 'number' || seq < 0 || seq >= total) continue;
    if (seen[seq]! > 0) duplicates++;
    seen[seq]!++;
  }
  const missing: number[] = [];
  seen.forEach((count, seq) => {
    if (count === 0) missing.push(seq);
  });
  return { missing, duplicates };
}
