// Fluentd's EventTime, msgpack extension type 0 (uint32 seconds, uint32 nanoseconds, big-endian).
// msgpackr keeps one global extension table, so every module that decodes msgpack registers
// the same decoder through here instead of each adding its own.
import { addExtension } from 'msgpackr';
import type { EventTime } from './types.js';

export class PackedEventTime implements EventTime {
  constructor(readonly sec: number, readonly nsec: number) {}

  /** Printed as Fluent Bit prints times: seconds with a fraction. */
  toJSON(): number {
    return this.sec + this.nsec / 1e9;
  }
}

let registered = false;

export function registerEventTimeExtension(): void {
  if (registered) return;
  registered = true;
  addExtension({
    type: 0,
    unpack: (data: Buffer) => new PackedEventTime(data.readUInt32BE(0), data.readUInt32BE(4)),
  });
}

/** A forward-protocol time (EventTime, or integer/float seconds) as an EventTime, else null. */
export function toEventTime(value: unknown): EventTime | null {
  if (value instanceof PackedEventTime) return value;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    const sec = Math.floor(value);
    return { sec, nsec: Math.min(999_999_999, Math.round((value - sec) * 1e9)) };
  }
  if (typeof value === 'bigint' && value >= 0n) return { sec: Number(value), nsec: 0 };
  return null;
}
