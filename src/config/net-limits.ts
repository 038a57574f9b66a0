// Limits every network input (tcp, http, forward) shares: how many connections it holds, how
// long a connection may stay silent, and how long a record that has begun may take to arrive.
// One schema fragment, spread into each input's schema, so the keys, defaults and README rows
// are the same everywhere. Names follow Fluent Bit's `net.*` keys where it has one.
import { int, positiveSeconds, prop, type Schema } from './schema-kit.js';
import { parseSeconds } from './values.js';

export interface ListenerLimits {
  /** Connections held at once; a connection beyond it is closed at accept. 0 = no limit. */
  readonly maxConnections: number;
  /** Close a connection that sent nothing for this long (ms); 0 = never. */
  readonly ioTimeoutMs: number;
  /**
   * A record (line, forward message, HTTP request) that has begun must be complete within this
   * (ms): slowloris senders that dribble a byte now and then are closed.
   */
  readonly recordTimeoutMs: number;
}

export const LISTENER_LIMIT_KEYS = {
  'net.max_connections': prop(
    int(0, 1_000_000),
    1024,
    'Connections held at once; more are closed at accept and counted (0 = no limit)',
  ),
  'net.io_timeout': prop(
    parseSeconds,
    0,
    'Close a connection silent for this many seconds; 0 = never (Fluent Bit default)',
  ),
  'net.record_timeout': prop(
    positiveSeconds,
    30,
    'Seconds a begun record (line, message, HTTP request) may take to arrive; slower senders are closed',
  ),
} as const satisfies Schema;

export function resolveListenerLimits(v: {
  readonly 'net.max_connections': number;
  readonly 'net.io_timeout': number;
  readonly 'net.record_timeout': number;
}): ListenerLimits {
  return {
    maxConnections: v['net.max_connections'],
    ioTimeoutMs: Math.round(v['net.io_timeout'] * 1000),
    recordTimeoutMs: Math.round(v['net.record_timeout'] * 1000),
  };
}
