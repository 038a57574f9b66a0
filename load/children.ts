// Child processes for the bench: spawning (always process.execPath), a tail of their stderr for
// error messages, free ports, waiting for a TCP port, and killing everything in `finally`.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

const TAIL_BYTES = 4096;
const live = new Set<ChildProcess>();

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Last ~4 KiB of stdout + stderr. */
  stderrTail(): string;
  /** null while running. */
  exitCode(): number | string | null;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

/** Starts `node <args>` with an IPC channel; stdout and stderr go, interleaved, to a tail. */
export function spawnNode(name: string, args: readonly string[], cwd: string): Child {
  const proc = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  live.add(proc);
  let tail = '';
  for (const stream of [proc.stdout, proc.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (s: string) => {
      tail = (tail + s).slice(-TAIL_BYTES);
    });
  }
  let code: number | string | null = null;
  const exited = new Promise<void>((resolve) => {
    proc.on('exit', (c, signal) => {
      code = c ?? signal ?? 'unknown';
      live.delete(proc);
      resolve();
    });
    proc.on('error', (err) => {
      tail += `\nspawn error: ${err.message}`;
      code = code ?? 'spawn error';
      live.delete(proc);
      resolve();
    });
  });
  return {
    name,
    proc,
    pid: proc.pid ?? -1,
    stderrTail: () => tail,
    exitCode: () => code,
    exited,
  };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function kill(child: Child, graceMs = 2000): Promise<void> {
  if (child.exitCode() !== null) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Last resort (process exit, Ctrl-C): SIGKILL whatever is still running. */
export function killAllNow(): void {
  for (const p of live) p.kill('SIGKILL');
  live.clear();
}

/** A port free right now on 127.0.0.1 (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function tryConnect(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Waits until something accepts TCP connections on 127.0.0.1:port. Returns null when it does,
 * else why not: the child exited, or the deadline passed.
 */
export async function waitForTcp(port: number, child: Child, timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode() !== null) return `exited (${child.exitCode()}) before accepting on port ${port}`;
    if (await tryConnect(port, 500)) return null;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (child.exitCode() !== null) return `exited (${child.exitCode()}) before accepting on port ${port}`;
  return `not accepting on port ${port} after ${timeoutMs / 1000} s`;
}

/**
 * The gist of a stderr tail on one line: the last line that reads like an error ("…Error…",
 * "error:", "wsrelay: …"), else the last few lines; stack frames are skipped.
 */
export function tailLines(text: string, lines = 3): string {
  const kept = text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0 && !/^\s+at /.test(l) && !/^Node\.js v\d/.test(l));
  const err = kept.filter((l) => /^(\w*Error\b|wsrelay:)|\berror\b/i.test(l.trim())).pop();
  const t = err ?? kept.slice(-lines).join(' | ');
  return t.length > 0 ? t.trim() : '(no output)';
}
