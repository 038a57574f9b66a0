// Record arrival times with a nanosecond source. The wall clock is read once at start and
// advanced with the monotonic high-resolution timer, so times never go backwards within a
// run and cost one hrtime read per socket read (all lines of one read share their arrival).
import type { EventTime } from './encode/types.js';

const NS_PER_S = 1_000_000_000n;
const hrtimeAtStart = process.hrtime.bigint();
const wallNsAtStart = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

export function eventTimeNow(): EventTime {
  const ns = wallNsAtStart + (process.hrtime.bigint() - hrtimeAtStart);
  return { sec: Number(ns / NS_PER_S), nsec: Number(ns % NS_PER_S) };
}

/** Monotonic milliseconds, for timers and ages (never the wall clock). */
export function monotonicMs(): number {
  return performance.now();
}
