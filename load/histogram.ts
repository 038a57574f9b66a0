// Latency histogram for the sink: 10 µs buckets up to 100 ms, then 1 ms buckets up to 10 min.
// Fixed memory (~2.4 MB), O(1) record, percentiles by a linear scan at report time.

const FINE_STEP_MS = 0.01;
const FINE_BUCKETS = 10_000; // 0 – 100 ms
const COARSE_STEP_MS = 1;
const COARSE_BUCKETS = 600_000; // 100 ms – ~10 min; beyond lands in the last bucket

export class LatencyHistogram {
  private readonly fine = new Uint32Array(FINE_BUCKETS);
  private readonly coarse = new Uint32Array(COARSE_BUCKETS);
  private total = 0;
  private maxMs = 0;

  /** Adds `count` observations of `ms` (negative values, from clock skew, count as 0). */
  record(ms: number, count = 1): void {
    const v = ms > 0 ? ms : 0;
    if (v > this.maxMs) this.maxMs = v;
    this.total += count;
    const f = Math.floor(v / FINE_STEP_MS);
    if (f < FINE_BUCKETS) {
      this.fine[f] += count;
      return;
    }
    const c = Math.min(Math.floor((v - FINE_BUCKETS * FINE_STEP_MS) / COARSE_STEP_MS), COARSE_BUCKETS - 1);
    this.coarse[c] += count;
  }

  get count(): number {
    return this.total;
  }

  get max(): number {
    return this.total === 0 ? -1 : this.maxMs;
  }

  /** The upper edge of the bucket holding the q-quantile (0 < q ≤ 1), in ms; -1 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return -1;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < FINE_BUCKETS; i++) {
      seen += this.fine[i];
      if (seen >= rank) return (i + 1) * FINE_STEP_MS;
    }
    for (let i = 0; i < COARSE_BUCKETS; i++) {
      seen += this.coarse[i];
      if (seen >= rank) return FINE_BUCKETS * FINE_STEP_MS + (i + 1) * COARSE_STEP_MS;
    }
    return this.maxMs;
  }
}
