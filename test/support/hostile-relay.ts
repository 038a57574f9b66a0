// A real relay process for the hostile-input tests: started from classic config sections with
// the metrics server on, and measured from outside — its resident memory (VmRSS from
// /proc/<pid>/status) and how long its main thread takes to answer /healthz while a hostile
// sender works (the stall every other input and probe would see). Tests assert bounds on both.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runCli, type Child } from './child.js';
import { waitFor } from './relay.js';

export interface HostileRelay {
  readonly child: Child;
  readonly metricsPort: number;
  /** Exit code or signal once the process ended, null while it runs. */
  exitCode(): number | string | null;
  /** Resident set size now, in MB. */
  rssMb(): number;
  /** Milliseconds /healthz took to answer (rejects if it does not within timeoutMs). */
  healthz(timeoutMs?: number): Promise<number>;
  /**
   * Runs `work` while /healthz is asked every 20 ms; returns the longest answer time seen and
   * the highest RSS sampled (MB), both over the whole of `work` and until it settles after.
   */
  measure(work: () => Promise<void>): Promise<{ maxStallMs: number; peakRssMb: number }>;
  stop(): Promise<void>;
}

function get(port: number, path: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${path} did not answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * `sections` are classic-format section bodies (`[INPUT]\n    name tcp...`); the SERVICE section
 * with the metrics server is written first. Resolves once the metrics server listens.
 */
/**
 * glibc keeps the pages of freed large buffers (its mmap threshold grows with them), so after a
 * burst RSS says more about the allocator than about what the relay holds. A test asserting
 * what is held afterwards runs the relay with these (docs/SECURITY.md gives them to operators).
 */
export const RETURN_FREED_MEMORY: NodeJS.ProcessEnv = {
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

export async function startHostileRelay(
  sections: readonly string[],
  service: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<HostileRelay> {
  const metricsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'wsrelay-hostile-'));
  const config = join(dir, 'relay.conf');
  writeFileSync(
    config,
    [
      '[SERVICE]',
      '    flush 0.1',
      '    log_level info',
      '    http_server on',
      '    http_listen 127.0.0.1',
      `    http_port ${metricsPort}`,
      ...service.map((line) => `    ${line}`),
      ...sections,
      '',
    ].join('\n'),
  );
  const child = runCli(['-c', config], env);
  let exit: number | string | null = null;
  void child.exited.then((code) => {
    exit = code;
  });
  // `[engine] started` is the last line of a start that worked: every listener is up.
  await waitFor(() => exit !== null || child.stderr.includes('[engine] started'), 15_000, 'the relay to start');
  if (exit !== null) throw new Error(`the relay exited at start (${String(exit)}):\n${child.stderr}`);
  const pid = child.process.pid!;

  const rssMb = (): number => {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
    } catch {
      return 0; // the process is gone: exitCode() says so
    }
    const kb = /VmRSS:\s+(\d+) kB/.exec(status);
    return kb ? Number(kb[1]) / 1024 : 0;
  };
  const healthz = (timeoutMs = 30_000): Promise<number> => get(metricsPort, '/healthz', timeoutMs);

  return {
    child,
    metricsPort,
    exitCode: () => exit,
    rssMb,
    healthz,
    async measure(work) {
      let running = true;
      let maxStallMs = 0;
      let peakRssMb = rssMb();
      const probe = (async () => {
        while (running && exit === null) {
          const took = await healthz().catch(() => Infinity);
          maxStallMs = Math.max(maxStallMs, took);
          peakRssMb = Math.max(peakRssMb, rssMb());
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      try {
        await work();
        // What the work left behind (a queued decode, a chunk being sealed) shows in the next answers.
        for (let i = 0; i < 5 && exit === null; i++) {
          // Awaited first: the probe may record a longer stall while this one waits.
          const took = await healthz().catch(() => Infinity);
          maxStallMs = Math.max(maxStallMs, took);
          peakRssMb = Math.max(peakRssMb, rssMb());
        }
      } finally {
        running = false;
        await probe;
      }
      return { maxStallMs, peakRssMb };
    },
    async stop() {
      if (exit === null) {
        child.process.kill('SIGTERM');
        await child.exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
