// Fluentd's EventTime, msgpack extension type 0 (uint32 seconds, uint32 nanoseconds, big-endian).
// msgpackr keeps one global extension table, so every module that decodes msgpack registers
// the same decoder through here instead of each adding its own.
import { addExtension } from 'msgpackr';
import { readUint32, type MsgpackReader } from './msgpack-reader.js';

/** Arrival time as Fluent Bit's flb_time: whole seconds and nanoseconds since the epoch. */
export interface EventTime {
  readonly sec: number;
  readonly nsec: number;
}

export class PackedEventTime implements EventTime {
  constructor(
    readonly sec: number,
    readonly nsec: number,
  ) {}

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
 * A forward entry's time read from its msgpack bytes at the reader's position as toEventTime
 * reads the decoded value: an EventTime (fixext8, type 0), or non-negative integer or finite
 * non-negative float seconds. Sets `into` and moves past the time; false for any other value
 * (the entry must then be decoded), the reader left where it was. The forward input checks
 * entries with it before buffering them as they came, and the JSON outputs read the times of
 * those entries with it.
 */
export function readEventTime(r: MsgpackReader, into: EventTime & { sec: number; nsec: number }): boolean {
  const p = r.pos;
  if (p >= r.end) return false;
  const t = r.buf[p]!;
  if (t === FIXEXT8) {
    if (!r.extHeader()) return false;
    const data = r.pos;
    if (r.extType !== 0 || data + 8 > r.end) {
      r.pos = p;
      return false;
    }
    into.sec = readUint32(r.buf, data);
    into.nsec = readUint32(r.buf, data + 4);
    r.pos = data + 8;
    return true;
  }
  // Unsigned types only (positive fixint, uint 8..64) and floats (float32 as msgpackr decodes it).
  if (!(t <= 0x7f || (t >= 0xca && t <= 0xcf)) || !r.number()) return false;
  const seconds = r.value;
  if (!Number.isFinite(seconds) || seconds < 0) {
    r.pos = p;
    return false;
  }
  // As toEventTime does for a number.
  const sec = Math.floor(seconds);
  into.sec = sec;
  into.nsec = Math.min(999_999_999, Math.round((seconds - sec) * 1e9));
  return true;
}
