// CPU time and memory of a process and of each of its threads, from /proc (Linux only).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

function clockTicks(): number {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return v > 0 ? v : 100;
  } catch {
    return 100;
  }
}
const TICKS_PER_S = clockTicks();

export interface ThreadSample {
  readonly tid: number;
  /** /proc/<pid>/task/<tid>/comm: Node 20 names every thread "node" unless the code renames it. */
  readonly comm: string;
  /** Clock ticks after boot when the thread started (field 22). */
  readonly startTicks: number;
  /** utime + stime, seconds. */
  readonly cpuS: number;
}

export interface ProcSample {
  /** utime + stime of the whole process (dead threads included), seconds. */
  readonly cpuS: number;
  readonly rssMB: number;
  /** Peak resident set so far (VmHWM). */
  readonly hwmMB: number;
  readonly threads: ThreadSample[];
}

/** Fields after "pid (comm) ", so index 0 is field 3 (state). comm may contain spaces. */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

function read(path: string): string | null {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function cpuOf(fields: string[]): number {
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

function statusKB(status: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : 0;
}

/** null when the process is gone. */
export function sampleProc(pid: number): ProcSample | null {
  const stat = read(`/proc/${pid}/stat`);
  const status = read(`/proc/${pid}/status`);
  if (stat === null || status === null) return null;
  const threads: ThreadSample[] = [];
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    // raced with exit
  }
  for (const t of tids) {
    const tstat = read(`/proc/${pid}/task/${t}/stat`);
    const comm = read(`/proc/${pid}/task/${t}/comm`);
    if (tstat === null || comm === null) continue;
    const f = statFields(tstat);
    threads.push({ tid: Number(t), comm: comm.trim(), startTicks: Number(f[19]), cpuS: cpuOf(f) });
  }
  threads.sort((a, b) => a.tid - b.tid);
  return {
    cpuS: cpuOf(statFields(stat)),
    rssMB: statusKB(status, 'VmRSS') / 1024,
    hwmMB: statusKB(status, 'VmHWM') / 1024,
    threads,
  };
}

export interface ThreadCpu {
  readonly label: string;
  readonly cpuS: number;
}

/**
 * CPU seconds per thread between two samples. Node 20 names every thread "node", so labels are:
 *   "main"         the thread whose tid is the pid (the event loop);
 *   its own name   when the code renamed it (/proc/thread-self/comm);
 *   "helpers"      summed: threads Node starts while booting, i.e. within 30 ms of the first
 *                  non-main thread (V8 platform threads: concurrent GC and JIT; libuv pool),
 *                  plus any later thread that used less than 10 ms in the window;
 *   "thread#1"…    the other, later threads, in creation order: in the relay, its worker
 *                  threads (worker_threads).
 * Threads gone before the end sample are not listed (their time is in the process total).
 */
export function threadCpu(pid: number, start: ProcSample, end: ProcSample): ThreadCpu[] {
  const before = new Map(start.threads.map((t) => [t.tid, t.cpuS]));
  const main = end.threads.find((t) => t.tid === pid);
  const mainComm = main?.comm ?? 'node';
  const others = end.threads.filter((t) => t.tid !== pid);
  const firstStart = Math.min(...others.map((t) => t.startTicks));
  const bootWindow = Math.ceil(0.03 * TICKS_PER_S);
  const out: ThreadCpu[] = [];
  let helpers = 0;
  let late = 0;
  if (main) out.push({ label: 'main', cpuS: main.cpuS - (before.get(pid) ?? 0) });
  for (const t of others) {
    const cpu = t.cpuS - (before.get(t.tid) ?? 0);
    if (t.comm !== mainComm) out.push({ label: t.comm, cpuS: cpu });
    else if (t.startTicks <= firstStart + bootWindow || cpu < 0.01) helpers += cpu;
    else out.push({ label: `thread#${++late}`, cpuS: cpu });
  }
  out.push({ label: 'helpers', cpuS: helpers });
  return out;
}

/** CPU seconds the whole machine has spent in processes (all CPUs, /proc/stat user + nice +
 *  system + steal; irq/softirq left out: loopback TCP of our own processes runs there).
 *  Compared with our processes' CPU, it shows what else ran during a run. */
export function machineBusyS(): number {
  const line = read('/proc/stat')?.split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[7] ?? 0);
  return busy / TICKS_PER_S;
}
