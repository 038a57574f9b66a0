// Where foreign bytes or events enter the relay, what escapes is caught here: a defect of ours
// that one peer's data or one chunk provokes must cost that connection or that chunk — counted
// with a reason, logged once per burst — never the process and everyone else's records.
import type { SealedChunk } from '../chunk/chunk-builder.js';
import type { Logger } from '../log.js';
import type { InputStats, OutputStats } from './stats.js';

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * An output's sealed-chunk callback that cannot throw: a chunk it fails on is dropped and
 * counted as output_error, and the output goes on with the next one.
 */
export function containChunk(
  label: string,
  stats: OutputStats,
  log: Logger,
  deliver: (chunk: SealedChunk) => void,
): (chunk: SealedChunk) => void {
  return (chunk) => {
    try {
      deliver(chunk);
    } catch (error) {
      stats.dropped.output_error += chunk.records;
      log.burst(
        'error',
        `${label} output_error`,
        `dropped chunk ${chunk.id} (${chunk.records} records): the output failed on it: ${describeError(error)}`,
      );
    }
  };
}

/** What a connection's handler needs to give up on it. */
export interface Containment {
  readonly stats: InputStats;
  readonly log: Logger;
  readonly input: string;
}

/**
 * A connection's event handler that cannot throw: what escapes closes that connection (counted
 * as internal_error) and nothing else. `close` is how this connection is let go.
 */
export function containConnection<A extends unknown[]>(
  where: Containment,
  peer: string,
  close: () => void,
  handler: (...args: A) => void,
): (...args: A) => void {
  return (...args) => {
    try {
      handler(...args);
    } catch (error) {
      where.stats.closed.internal_error++;
      where.log.burst(
        'error',
        `closed ${where.input} internal_error`,
        `closed the connection from ${peer}: the relay failed on what it sent: ${describeError(error)}`,
      );
      try {
        close();
      } catch {
        // Already gone.
      }
    }
  };
}
