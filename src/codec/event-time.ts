// Fluentd's EventTime, msgpack extension type 0 (uint32 seconds, uint32 nanoseconds, big-endian).
// msgpackr keeps one global extension table, so every module that decodes msgpack registers
// the same decoder through here instead of each adding its own.
import { addExtension } from 'msgpackr';

/** Arrival time as Fluent Bit's flb_time: whole seconds and nanoseconds since the epoch. */
export interface EventTime {
  readonly sec: number;
  readonly nsec: number;
}

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
    unpack: (data: Buffer) => {
      // A plain Error, not the RangeError reading past 4 bytes would throw: msgpackr takes a
      // RangeError for "more bytes needed", and a framer would wait for bytes that never come.
      if (data.length !== 8) throw new Error(`an EventTime (msgpack extension 0) is 8 bytes, this one ${data.length}`);
      return new PackedEventTime(data.readUInt32BE(0), data.readUInt32BE(4));
    },
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

const FIXEXT8 = 0xd7;

/**
 * A forward entry's time read from its msgpack bytes at b[p] as toEventTime reads the decoded
 * value: an EventTime (fixext8, type 0), or non-negative integer or finite non-negative float
 * seconds. Sets `into` and returns where the time ends; -1 for any other value (the entry must
 * then be decoded). The forward input checks entries with it before buffering them as they
 * came, and the JSON outputs read the times of those entries with it.
 */
export function readEventTime(b: Buffer, p: number, end: number, into: EventTime & { sec: number; nsec: number }): number {
  if (p >= end) return -1;
  const t = b[p]!;
  let seconds: number;
  let next: number;
  if (t <= 0x7f) {
    seconds = t;
    next = p + 1;
  } else if (t === FIXEXT8) {
    if (p + 10 > end || b[p + 1] !== 0) return -1;
    into.sec = b.readUInt32BE(p + 2);
    into.nsec = b.readUInt32BE(p + 6);
    return p + 10;
  } else {
    switch (t) {
      case 0xcc: next = p + 2; break; // uint 8..64
      case 0xcd: next = p + 3; break;
      case 0xce: next = p + 5; break;
      case 0xcf: next = p + 9; break;
      case 0xca: next = p + 5; break; // float 32 (msgpackr decodes it as is)
      case 0xcb: next = p + 9; break; // float 64
      default: return -1;
    }
    if (next > end) return -1;
    switch (t) {
      case 0xcc: seconds = b[p + 1]!; break;
      case 0xcd: seconds = b.readUInt16BE(p + 1); break;
      case 0xce: seconds = b.readUInt32BE(p + 1); break;
      case 0xcf: seconds = b.readUInt32BE(p + 1) * 0x100000000 + b.readUInt32BE(p + 5); break;
      case 0xca: seconds = b.readFloatBE(p + 1); break;
      default: seconds = b.readDoubleBE(p + 1);
    }
    if (!Number.isFinite(seconds) || seconds < 0) return -1;
  }
  // As toEventTime does for a number.
  const sec = Math.floor(seconds);
  into.sec = sec;
  into.nsec = Math.min(999_999_999, Math.round((seconds - sec) * 1e9));
  return next;
}
