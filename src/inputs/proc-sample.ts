// The arithmetic of Fluent Bit's cpu and mem inputs, on /proc text: parsing /proc/stat,
// /proc/PID/stat, /proc/PID/status and /proc/meminfo, and turning two samples into the
// percentages of a cpu record. No I/O here, so it is tested on fixed text.

/**
 * Ticks per second of /proc's time fields. Linux reports them in USER_HZ, which is 100 on
 * every architecture Node runs on (sysconf(_SC_CLK_TCK), which Node does not expose).
 */
export const USER_HZ = 100;

/** One cpu line of /proc/stat: busy ticks split as Fluent Bit splits them, and all ticks. */
export interface CpuTicks {
  /** user + nice */
  readonly user: number;
  readonly system: number;
  /** Every field of the line (idle, iowait, irq, softirq, steal included). */
  readonly total: number;
}

export interface SystemCpuSample {
  /** The aggregate `cpu` line: all cores together. */
  readonly all: CpuTicks;
  /** `cpuN` lines by N, in the file's order. */
  readonly cores: ReadonlyArray<{ readonly id: number; readonly ticks: CpuTicks }>;
}

export type CpuRecord = Record<string, number>;

function ticksOf(fields: readonly string[]): CpuTicks | null {
  // user nice system idle [iowait irq softirq steal]: guest and guest_nice are already in user.
  const values = fields.slice(0, 8).map(Number);
  if (values.length < 4 || values.some((v) => !Number.isFinite(v) || v < 0)) return null;
  const [user = 0, nice = 0, system = 0] = values;
  return { user: user + nice, system, total: values.reduce((a, b) => a + b, 0) };
}

/** The cpu lines of /proc/stat; null when there is no aggregate line or a line is not numbers. */
export function parseProcStat(text: string): SystemCpuSample | null {
  let all: CpuTicks | null = null;
  const cores: Array<{ id: number; ticks: CpuTicks }> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const [name = '', ...fields] = line.trim().split(/\s+/);
    const ticks = ticksOf(fields);
    if (ticks === null) return null;
    if (name === 'cpu') all = ticks;
    else if (/^cpu\d+$/.test(name)) cores.push({ id: Number(name.slice(3)), ticks });
  }
  return all === null ? null : { all, cores };
}

function percent(ticks: number, total: number): number {
  return total > 0 ? Math.min(100, Math.max(0, (ticks * 100) / total)) : 0;
}

/**
 * Fluent Bit's system record from two samples: `cpu_p`, `user_p`, `system_p` as a share of the
 * whole machine (0-100 whatever the core count), then `cpuN.p_cpu`, `cpuN.p_user`,
 * `cpuN.p_system` per core (0-100 each). Fluent Bit divides the ticks by the nominal interval
 * and the core count; dividing by the ticks that elapsed gives the same share without the
 * timer's jitter pushing it past 100.
 */
export function systemCpuRecord(before: SystemCpuSample, now: SystemCpuSample): CpuRecord {
  const shares = (a: CpuTicks, b: CpuTicks) => {
    const total = b.total - a.total;
    const user = b.user - a.user;
    const system = b.system - a.system;
    return { cpu: percent(user + system, total), user: percent(user, total), system: percent(system, total) };
  };
  const all = shares(before.all, now.all);
  const record: CpuRecord = { cpu_p: all.cpu, user_p: all.user, system_p: all.system };
  const previous = new Map(before.cores.map((core) => [core.id, core.ticks]));
  for (const core of now.cores) {
    const s = shares(previous.get(core.id) ?? core.ticks, core.ticks);
    record[`cpu${core.id}.p_cpu`] = s.cpu;
    record[`cpu${core.id}.p_user`] = s.user;
    record[`cpu${core.id}.p_system`] = s.system;
  }
  return record;
}

/** The fields of /proc/PID/stat after the command name (which may hold spaces and parens). */
function statFields(text: string): string[] | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  return text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
}

/** utime and stime (fields 14 and 15 of proc(5)) in ticks. */
export interface ProcessCpuTicks {
  readonly user: number;
  readonly system: number;
}

export function parsePidStat(text: string): ProcessCpuTicks | null {
  const fields = statFields(text);
  // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) fields[12].
  const user = Number(fields?.[11]);
  const system = Number(fields?.[12]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) return null;
  return { user, system };
}

/**
 * Fluent Bit's PID record: the process's ticks over the elapsed time, as a share of one core
 * (as Fluent Bit computes it, so a busy multi-threaded process can pass 100).
 */
export function processCpuRecord(before: ProcessCpuTicks, now: ProcessCpuTicks, elapsedMs: number): CpuRecord {
  const capacity = (elapsedMs / 1000) * USER_HZ;
  const share = (ticks: number) => (capacity > 0 ? Math.max(0, (ticks * 100) / capacity) : 0);
  const user = share(now.user - before.user);
  const system = share(now.system - before.system);
  return { cpu_p: user + system, user_p: user, system_p: system };
}

/** `Key:   value kB` lines of /proc/meminfo or /proc/PID/status, values in kB. */
export function parseKbLines(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([^:]+):\s*(\d+)/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) values.set(match[1], Number(match[2]));
  }
  return values;
}

export type MemRecord = {
  readonly 'Mem.total': number;
  readonly 'Mem.used': number;
  readonly 'Mem.free': number;
  readonly 'Swap.total': number;
  readonly 'Swap.used': number;
  readonly 'Swap.free': number;
};

/**
 * Fluent Bit's mem record, in kB: used is total minus MemFree (sysinfo's freeram), but free is
 * MemAvailable when the kernel has it (3.14+), so used + free may exceed total, as in Fluent Bit.
 */
export function memRecord(meminfo: ReadonlyMap<string, number>): MemRecord | null {
  const total = meminfo.get('MemTotal');
  const memFree = meminfo.get('MemFree');
  if (total === undefined || memFree === undefined) return null;
  const swapTotal = meminfo.get('SwapTotal') ?? 0;
  const swapFree = meminfo.get('SwapFree') ?? 0;
  return {
    'Mem.total': total,
    'Mem.used': total - memFree,
    'Mem.free': meminfo.get('MemAvailable') ?? memFree,
    'Swap.total': swapTotal,
    'Swap.used': swapTotal - swapFree,
    'Swap.free': swapFree,
  };
}

/** Resident bytes from /proc/PID/status (VmRSS, the same pages as stat's rss field). */
export function residentBytes(status: ReadonlyMap<string, number>): number | null {
  const kb = status.get('VmRSS');
  return kb === undefined ? null : kb * 1024;
}

const UNITS = ['b', 'K', 'M', 'G', 'T', 'P', 'E'];

/** Fluent Bit's human-readable size: `512b`, `1.5K`, `12.3M`. */
export function humanSize(bytes: number): string {
  let unit = 0;
  let scale = 1;
  while (unit < UNITS.length - 1 && bytes >= scale * 1024) {
    scale *= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes}b` : `${(bytes / scale).toFixed(1)}${UNITS[unit] ?? ''}`;
}
