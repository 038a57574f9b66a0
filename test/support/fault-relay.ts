// The relay under test as a real child process (the CLI with a classic config file), with what
// a fault scenario needs from outside: its resident memory from /proc, its metrics over HTTP,
// SIGTERM, and kill -9 followed by a restart on the same config.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runCli, type Child } from './child.js';
import { parseExposition, type Family } from './prom-parse.js';
import { waitFor, waitForAsync } from './relay.js';

export interface RelaySpec {
  /** Input plugin and its properties (listen and port are filled in). */
  readonly input: { readonly plugin: 'tcp' | 'http' | 'forward'; readonly props?: Record<string, string> };
  /** websocket output properties (host, port and match are filled in). */
  readonly output?: Record<string, string>;
  readonly service?: Record<string, string>;
}

function section(name: string, props: Record<string, string>): string[] {
  return [`[${name}]`, ...Object.entries(props).map(([key, value]) => `    ${key} ${value}`)];
}

/** Reads VmRSS of a process, in bytes (0 once it is gone). */
export function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export class RelayProcess {
  child: Child;
  /** Every stderr line of every run (restarts included), for failure messages. */
  private readonly pastStderr: string[] = [];

  private constructor(
    readonly configFile: string,
    readonly inputPort: number,
    readonly metricsPort: number,
  ) {
    this.child = runCli(['-c', configFile]);
  }

  /** Writes the config file and starts the relay; resolves when its input and metrics listen. */
  static async start(
    spec: RelaySpec,
    serverPort: number,
    dir = mkdtempSync(join(tmpdir(), 'wsrelay-faults-')),
  ): Promise<RelayProcess> {
    const [inputPort, metricsPort] = [await freePort(), await freePort()];
    const file = join(dir, 'relay.conf');
    writeFileSync(
      file,
      [
        ...section('SERVICE', {
          flush: '0.2',
          log_level: 'info',
          http_server: 'on',
          http_listen: '127.0.0.1',
          http_port: String(metricsPort),
          ...spec.service,
        }),
        ...section('INPUT', {
          name: spec.input.plugin,
          listen: '127.0.0.1',
          port: String(inputPort),
          ...spec.input.props,
        }),
        ...section('OUTPUT', {
          name: 'websocket',
          match: '*',
          host: '127.0.0.1',
          port: String(serverPort),
          format: 'json_lines',
          ...spec.output,
        }),
        '',
      ].join('\n'),
    );
    const relay = new RelayProcess(file, inputPort, metricsPort);
    await relay.ready();
    return relay;
  }

  get pid(): number {
    return this.child.process.pid ?? 0;
  }

  get stderr(): string {
    return [...this.pastStderr, this.child.stderr].join('');
  }

  /** Input and metrics server listening, and the first handshake done (worker threads start late). */
  private async ready(): Promise<void> {
    const child = this.child;
    let exited: number | string | null = null;
    void child.exited.then((code) => {
      exited = code;
    });
    await waitFor(
      () =>
        exited !== null ||
        (child.stderr.includes(`listening on 127.0.0.1:${this.inputPort}`) &&
          child.stderr.includes(`listening on 127.0.0.1:${this.metricsPort}`) &&
          /handshake with \S+ succeeded/.test(child.stderr)),
      15_000,
      'the relay to listen and connect',
    );
    if (exited !== null) throw new Error(`the relay exited (${String(exited)}) at start:\n${child.stderr}`);
  }

  /** kill -9: no grace, no flush, nothing written after this instant. */
  async kill9(): Promise<void> {
    this.child.process.kill('SIGKILL');
    await this.child.exited;
  }

  /** The same command again (same config, ports and storage), after kill9(). */
  async restart(): Promise<void> {
    this.pastStderr.push(this.child.stderr, '--- restart ---\n');
    this.child = runCli(['-c', this.configFile]);
    await this.ready();
  }

  /** SIGTERM; resolves with the exit code. */
  async stop(): Promise<number | string> {
    this.child.process.kill('SIGTERM');
    const timer = setTimeout(() => this.child.process.kill('SIGKILL'), 15_000);
    const code = await this.child.exited;
    clearTimeout(timer);
    return code;
  }

  async metrics(): Promise<Map<string, Family>> {
    const response = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return parseExposition(await response.text());
  }

  /** Resolves once `accept` holds for the metric's value (scraped every 50 ms). */
  async metricUntil(name: string, accept: (value: number) => boolean, timeoutMs: number, what: string): Promise<void> {
    await waitForAsync(async () => accept(await this.metric(name)), timeoutMs, what);
  }

  /** Sum of a metric's samples whose labels include `labels`. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const family = (await this.metrics()).get(name);
    let sum = 0;
    for (const sample of family?.samples ?? []) {
      if (sample.name !== name) continue;
      if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) sum += sample.value;
    }
    return sum;
  }
}

/** Samples a process's RSS every `everyMs` and keeps the peak. */
export class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: () => number,
    everyMs = 50,
  ) {
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, rssBytes(this.pid()));
    }, everyMs);
  }

  stop(): number {
    clearInterval(this.timer);
    return this.peak;
  }
}
