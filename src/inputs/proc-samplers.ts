// What the cpu and mem inputs read from /proc on each tick, and the record each makes of it.
// Reads are async (fs/promises): the files are a few KB, but /proc can be a FUSE mount (lxcfs in
// containers) that stalls, and a stalled read must not stall the event loop with it.
import { readFile } from 'node:fs/promises';
import {
  humanSize,
  memRecord,
  parseKbLines,
  parsePidStat,
  parseProcStat,
  processCpuRecord,
  residentBytes,
  systemCpuRecord,
  type ProcessCpuTicks,
  type SystemCpuSample,
} from './proc-sample.js';
import { monotonicMs } from '../time.js';

export type SampleRecord = Readonly<Record<string, number | string>>;

/** A record per tick, or why there is none this tick (logged, the tick skipped). */
export type SampleResult =
  { readonly record: SampleRecord } | { readonly skipped: string } | { readonly baseline: true };

export interface Sampler {
  sample(): Promise<SampleResult>;
}

/** Where /proc is: a test points it at fixed files. */
export interface ProcPaths {
  readonly root: string;
}

const DEFAULT_PROC: ProcPaths = { root: '/proc' };

async function read(path: string): Promise<string | Error> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The machine's cpu record: the first tick only takes the baseline, as Fluent Bit's init does. */
export class SystemCpuSampler implements Sampler {
  private before: SystemCpuSample | null = null;
  constructor(private readonly proc: ProcPaths = DEFAULT_PROC) {}

  async sample(): Promise<SampleResult> {
    const path = `${this.proc.root}/stat`;
    const text = await read(path);
    if (text instanceof Error) return { skipped: `cannot read ${path}: ${text.message}` };
    const now = parseProcStat(text);
    if (now === null) return { skipped: `${path} has no cpu line Fluent Bit's cpu input can read` };
    const before = this.before;
    this.before = now;
    return before === null ? { baseline: true } : { record: systemCpuRecord(before, now) };
  }
}

/** One process's cpu record (`PID`); a vanished process skips ticks until it is back. */
export class ProcessCpuSampler implements Sampler {
  private before: { ticks: ProcessCpuTicks; at: number } | null = null;
  constructor(
    private readonly pid: number,
    private readonly proc: ProcPaths = DEFAULT_PROC,
  ) {}

  async sample(): Promise<SampleResult> {
    const path = `${this.proc.root}/${this.pid}/stat`;
    const text = await read(path);
    const at = monotonicMs();
    if (text instanceof Error) {
      this.before = null;
      return { skipped: `cannot read ${path} (is process ${this.pid} running?): ${text.message}` };
    }
    const ticks = parsePidStat(text);
    if (ticks === null) return { skipped: `${path} is not a process stat line` };
    const before = this.before;
    this.before = { ticks, at };
    return before === null ? { baseline: true } : { record: processCpuRecord(before.ticks, ticks, at - before.at) };
  }
}

/**
 * The machine's memory, and with `PID` that process's resident size. As in Fluent Bit, a PID
 * that cannot be read is reported once and no longer measured (its number may be reused by an
 * unrelated process); the machine's fields go on.
 */
export class MemSampler implements Sampler {
  private pid: number | null;
  constructor(
    pid: number | null,
    private readonly proc: ProcPaths = DEFAULT_PROC,
    private readonly onPidLost: (reason: string) => void = () => undefined,
  ) {
    this.pid = pid;
  }

  async sample(): Promise<SampleResult> {
    const path = `${this.proc.root}/meminfo`;
    const [text, status] = await Promise.all([
      read(path),
      this.pid === null ? Promise.resolve(null) : read(`${this.proc.root}/${this.pid}/status`),
    ]);
    if (text instanceof Error) return { skipped: `cannot read ${path}: ${text.message}` };
    const mem = memRecord(parseKbLines(text));
    if (mem === null) return { skipped: `${path} has no MemTotal/MemFree` };
    if (status === null || this.pid === null) return { record: mem };
    const bytes = status instanceof Error ? null : residentBytes(parseKbLines(status));
    if (bytes === null) {
      const reason = status instanceof Error ? status.message : 'no VmRSS line';
      this.onPidLost(`could not measure PID ${this.pid} (${reason}): no longer measured`);
      this.pid = null;
      return { record: mem };
    }
    return { record: { ...mem, proc_bytes: bytes, proc_hr: humanSize(bytes) } };
  }
}
