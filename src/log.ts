// Fluent Bit-style log lines on stderr:
//   [2026/11/23 08:14:25] [ info] [output:websocket:websocket.0] worker #0 started
// Works the same on the main thread and in worker threads (a worker's stderr is piped through
// the main thread by Node). Repeated warnings go through `burst()`, which prints the first one
// at once and then a single summary of how many were suppressed, so one bad peer spamming
// malformed lines cannot flood the log.
import { openSync, writeSync } from 'node:fs';
import type { LogLevel } from './config/types.js';

const levelRank: Record<LogLevel, number> = { off: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };
const levelLabel: Record<Exclude<LogLevel, 'off'>, string> = {
  error: 'error',
  warn: ' warn',
  info: ' info',
  debug: 'debug',
  trace: 'trace',
};

export interface LogSink {
  write(line: string): void;
}

const stderrSink: LogSink = { write: (line) => process.stderr.write(line) };

/**
 * `Log_File`: appends synchronously (O_APPEND), so the main thread and the worker threads can
 * share one file without interleaving inside a line; log lines are rare enough for that.
 */
export function logSink(path: string | null): LogSink {
  if (path === null) return stderrSink;
  const fd = openSync(path, 'a');
  return {
    write: (line) => {
      writeSync(fd, line);
    },
  };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export function timestampLabel(date: Date = new Date()): string {
  return (
    `${date.getFullYear()}/${pad2(date.getMonth() + 1)}/${pad2(date.getDate())} ` +
    `${pad2(date.getHours())}:${pad2(date.getMinutes())}:${pad2(date.getSeconds())}`
  );
}

interface BurstState {
  suppressed: number;
  timer: NodeJS.Timeout;
}

/** How long after a burst's first warning further ones are only counted. */
const BURST_WINDOW_MS = 10_000;
/**
 * Distinct bursts open at once. Keys name peers, and a flood of new peers must not hold a timer
 * and an entry each: past this, new keys share one burst.
 */
const MAX_OPEN_BURSTS = 1000;
const MANY_BURSTS_KEY = 'many distinct warnings';

export class Logger {
  private readonly rank: number;
  private readonly bursts: Map<string, BurstState>;

  constructor(
    readonly level: LogLevel,
    private readonly component: string = '',
    private readonly sink: LogSink = stderrSink,
    bursts?: Map<string, BurstState>,
  ) {
    this.rank = levelRank[level];
    this.bursts = bursts ?? new Map<string, BurstState>();
  }

  /** A logger for a sub-component, e.g. `output:websocket:websocket.0`; shares burst state. */
  child(component: string): Logger {
    return new Logger(this.level, component, this.sink, this.bursts);
  }

  enabled(level: Exclude<LogLevel, 'off'>): boolean {
    return levelRank[level] <= this.rank;
  }

  error(message: string): void {
    this.log('error', message);
  }
  warn(message: string): void {
    this.log('warn', message);
  }
  info(message: string): void {
    this.log('info', message);
  }
  debug(message: string): void {
    this.log('debug', message);
  }
  trace(message: string): void {
    this.log('trace', message);
  }

  log(level: Exclude<LogLevel, 'off'>, message: string): void {
    if (levelRank[level] > this.rank) return;
    const component = this.component ? ` [${this.component}]` : '';
    this.sink.write(`[${timestampLabel()}] [${levelLabel[level]}]${component} ${message}\n`);
  }

  /**
   * Logs `message` unless the same `key` was logged in the last 10 s; those are counted and
   * summarised once when the window closes.
   */
  burst(level: 'warn' | 'error', key: string, message: string): void {
    if (this.bursts.size >= MAX_OPEN_BURSTS && !this.bursts.has(key)) key = MANY_BURSTS_KEY;
    const state = this.bursts.get(key);
    if (state) {
      state.suppressed++;
      return;
    }
    this.log(level, message);
    const timer = setTimeout(() => {
      const ended = this.bursts.get(key);
      this.bursts.delete(key);
      if (ended && ended.suppressed > 0) {
        this.log(level, `${ended.suppressed} more like the last (${key}) in ${BURST_WINDOW_MS / 1000} s`);
      }
    }, BURST_WINDOW_MS);
    timer.unref();
    this.bursts.set(key, { suppressed: 0, timer });
  }

  /** Prints pending burst summaries now (used at shutdown). */
  flushBursts(): void {
    for (const [key, state] of this.bursts) {
      clearTimeout(state.timer);
      if (state.suppressed > 0) this.log('warn', `${state.suppressed} more like the last (${key})`);
    }
    this.bursts.clear();
  }
}
