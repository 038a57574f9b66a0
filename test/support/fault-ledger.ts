// The bookkeeping of a fault scenario: which records (by `seq`) were sent, which were
// acknowledged to their sender, and how many times each reached the WebSocket server. The one
// promise every scenario checks: every acknowledged record was delivered (duplicates allowed).
import type { TestServer } from './test-server.js';

export interface FaultCounts {
  /** Records the sender tried to send at least once. */
  readonly sent: number;
  /** Records acknowledged to their sender (tcp: accepted by the kernel; http: 2xx; forward: ack). */
  readonly acknowledged: number;
  /** Distinct records received by the server. */
  readonly delivered: number;
  /** Receptions beyond the first. */
  readonly duplicated: number;
  /** Acknowledged records the server never received: must be 0. */
  readonly lost: number;
}

export class SeqLedger {
  private readonly sentFlags: Uint8Array;
  private readonly ackedFlags: Uint8Array;
  private readonly receivedCounts: Uint16Array;
  private sentCount = 0;
  private ackedCount = 0;
  private deliveredCount = 0;
  private duplicateCount = 0;
  /** Acknowledged records not received yet (kept current so waiting for it is cheap). */
  private outstanding = 0;
  /** Lines that were not records of this scenario (must stay 0: nothing is invented). */
  foreign = 0;

  constructor(readonly capacity: number) {
    this.sentFlags = new Uint8Array(capacity);
    this.ackedFlags = new Uint8Array(capacity);
    this.receivedCounts = new Uint16Array(capacity);
  }

  sent(from: number, count: number): void {
    for (let seq = from; seq < from + count; seq++) {
      if (this.sentFlags[seq] === 0) {
        this.sentFlags[seq] = 1;
        this.sentCount++;
      }
    }
  }

  acknowledged(from: number, count: number): void {
    for (let seq = from; seq < from + count; seq++) {
      if (this.ackedFlags[seq] !== 0) continue;
      this.ackedFlags[seq] = 1;
      this.ackedCount++;
      if (this.receivedCounts[seq] === 0) this.outstanding++;
    }
  }

  received(seq: number): void {
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.capacity || this.sentFlags[seq] === 0) {
      this.foreign++;
      return;
    }
    const before = this.receivedCounts[seq]!;
    if (before < 0xffff) this.receivedCounts[seq] = before + 1;
    if (before === 0) {
      this.deliveredCount++;
      if (this.ackedFlags[seq] !== 0) this.outstanding--;
    } else {
      this.duplicateCount++;
    }
  }

  /**
   * Counts the server's messages received since the last call (json_lines, json_stream or
   * json), and empties its list: a long scenario receives hundreds of megabytes.
   */
  consume(server: TestServer): void {
    const messages = server.messages;
    for (let i = 0; i < messages.length; i++) {
      const text = messages[i]!.data.toString('utf8');
      const records = text.startsWith('[')
        ? (JSON.parse(text) as Array<Record<string, unknown>>)
        : text
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => JSON.parse(line) as Record<string, unknown>);
      for (const record of records) this.received(record['seq'] as number);
    }
    messages.length = 0;
  }

  /** Acknowledged records not (yet) delivered. */
  get missing(): number {
    return this.outstanding;
  }

  get acknowledgedCount(): number {
    return this.ackedCount;
  }

  /** A few acknowledged-but-missing seqs, for failure messages. */
  missingSample(limit = 10): number[] {
    const out: number[] = [];
    for (let seq = 0; seq < this.capacity && out.length < limit; seq++) {
      if (this.ackedFlags[seq] !== 0 && this.receivedCounts[seq] === 0) out.push(seq);
    }
    return out;
  }

  counts(): FaultCounts {
    return {
      sent: this.sentCount,
      acknowledged: this.ackedCount,
      delivered: this.deliveredCount,
      duplicated: this.duplicateCount,
      lost: this.outstanding,
    };
  }
}

/** One record line; `seq` first so the ledger can find it, padded to a realistic size. */
export function recordLine(seq: number): string {
  return `{"seq":${seq},"level":"info","msg":"GET /api/v1/items 200","host":"web-0${seq & 7}","pad":"${'x'.repeat(40)}"}\n`;
}
