// What a fault scenario reports, how the runners wait for the end of one, and the table
// `make faults` prints.
import type { FaultCounts, SeqLedger } from './fault-ledger.js';
import { waitFor } from './relay.js';
import type { TestServer } from './test-server.js';

export interface FaultReport extends FaultCounts {
  readonly scenario: string;
  /** Wall-clock seconds the scenario took, settling included. */
  readonly seconds: number;
  /** Lines received that no sender sent (must be 0: nothing invented). */
  readonly foreign: number;
  /**
   * Loss is the documented outcome of this scenario (memory storage and kill -9): the report
   * shows how much, the check is that it is counted, not that it is zero.
   */
  readonly lossExpected?: boolean;
  /** What else was measured: reconnects, retries, re-sent records, memory, drops by reason. */
  readonly notes: Record<string, string | number>;
}

/** Keeps counting the server's messages into the ledger (and freeing them) in the background. */
export class Tally {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ledger: SeqLedger,
    private readonly server: TestServer,
  ) {
    this.timer = setInterval(() => ledger.consume(server), 100);
  }

  /** Resolves once a record reaches the server that had not when called: the relay delivers. */
  async delivering(what: string, timeoutMs = 30_000): Promise<void> {
    this.ledger.consume(this.server);
    const before = this.ledger.counts().delivered;
    await waitFor(
      () => {
        this.ledger.consume(this.server);
        return this.ledger.counts().delivered > before;
      },
      timeoutMs,
      what,
    );
  }

  /** Waits until every acknowledged record was delivered, or `timeoutMs`; then stops counting. */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.ledger.consume(this.server);
    while (this.ledger.missing > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      this.ledger.consume(this.server);
    }
    // Duplicates of the last chunks may still be on their way: a short quiet period (on
    // loopback they follow within milliseconds; only the report's duplicated count needs it).
    await new Promise((resolve) => setTimeout(resolve, 100));
    this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.ledger.consume(this.server);
  }
}

export function report(
  scenario: string,
  startedAt: number,
  ledger: SeqLedger,
  notes: Record<string, string | number>,
  lossExpected = false,
): FaultReport {
  return {
    scenario,
    seconds: Math.round((performance.now() - startedAt) / 100) / 10,
    ...ledger.counts(),
    foreign: ledger.foreign,
    lossExpected,
    notes,
  };
}

/** The promise of every scenario, as one line for assertion messages. */
export function verdict(r: FaultReport): string {
  return (
    `${r.scenario}: sent ${r.sent}, acknowledged ${r.acknowledged}, delivered ${r.delivered}, ` +
    `duplicated ${r.duplicated}, lost ${r.lost}, foreign ${r.foreign}; ${JSON.stringify(r.notes)}`
  );
}

/** True when the report keeps the promise: every acknowledged record delivered, none invented. */
export function keptPromise(r: FaultReport): boolean {
  return r.lost === 0 && r.delivered >= r.acknowledged && r.foreign === 0;
}

/** A plain-text table, one row per scenario, in the README's format (markdown). */
export function table(reports: readonly FaultReport[]): string {
  const head = ['scenario', 'seconds', 'sent', 'acknowledged', 'delivered', 'duplicated', 'lost', 'result', 'measured'];
  const rows = reports.map((r) => [
    r.scenario,
    String(r.seconds),
    String(r.sent),
    String(r.acknowledged),
    String(r.delivered),
    String(r.duplicated),
    String(r.lost),
    keptPromise(r) ? 'ok' : r.lossExpected ? 'loss (expected)' : 'FAILED',
    Object.entries(r.notes)
      .map(([key, value]) => `${key} ${value}`)
      .join(', '),
  ]);
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
