// PackedForward payloads that can be buffered as they are. Fluent Bit's forward output and most
// fluent-logger clients send entries as a msgpack stream of [time, record]: when every entry is
// exactly that shape, the bytes go into the chunk unchanged (a msgpack-entries segment) and the
// worker threads decode them, instead of the main thread decoding every record to an object and
// packing it again (2.5 µs per record, the forward input's whole cost). Anything else — another
// time type, an entry that is not a 2-array, an extension inside a record — takes the decoding
// path, which says what is wrong or normalizes what it can. An entry of the right shape that
// msgpackr still refuses (a map key that is itself a map, an array or bin) is counted malformed
// and skipped by the worker, as a bad tcp line is (chunk-reader.ts), instead of the decoding
// path refusing the whole message.
import { FrameScanner, extensionsAccepted } from './msgpack-frame.js';

const FIXARRAY_2 = 0x92;
const FIXEXT8 = 0xd7;
const EVENT_TIME_EXT = 0x00;

/**
 * Bytes of the time value at `at` when it is one the workers read as a time (toEventTime): an
 * EventTime, or a non-negative integer or finite non-negative float of seconds; else 0.
 */
function timeBytes(b: Buffer, at: number, end: number): number {
  if (at >= end) return 0;
  const type = b[at]!;
  if (type <= 0x7f) return 1; // positive fixint
  let size: number;
  switch (type) {
    case 0xcc: size = 2; break; // uint 8..64
    case 0xcd: size = 3; break;
    case 0xce: size = 5; break;
    case 0xcf: size = 9; break;
    case 0xca: size = 5; break; // float 32
    case 0xcb: size = 9; break; // float 64
    case FIXEXT8: size = 10; break;
    default: return 0;
  }
  if (at + size > end) return 0;
  if (type === FIXEXT8) return b[at + 1] === EVENT_TIME_EXT ? size : 0;
  if (type === 0xca || type === 0xcb) {
    const seconds = type === 0xca ? b.readFloatBE(at + 1) : b.readDoubleBE(at + 1);
    return Number.isFinite(seconds) && seconds >= 0 ? size : 0;
  }
  return size;
}

function isMapHeader(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x80 && byte <= 0x8f) || byte === 0xde || byte === 0xdf);
}

/**
 * The number of entries in `packed` when every one is [time, map] (framed by FrameScanner: size,
 * depth and extension types checked as for any forward message) and no record holds an
 * extension value; null when the payload must be decoded instead.
 */
export function countPackedEntries(packed: Buffer, maxBytes: number): number | null {
  const scanner = new FrameScanner(maxBytes);
  let pos = 0;
  let count = 0;
  while (pos < packed.length) {
    if (packed[pos] !== FIXARRAY_2) return null;
    const time = timeBytes(packed, pos + 1, packed.length);
    if (time === 0 || !isMapHeader(packed[pos + 1 + time])) return null;
    const extensionsBefore = extensionsAccepted();
    const frame = scanner.scan(packed, pos, packed.length);
    if (frame.kind !== 'complete') return null;
    // The time's own EventTime is the one extension allowed: msgpackr would turn one inside a
    // record (a timestamp of an odd length, say) into something the JSON writers do not expect.
    const allowed = packed[pos + 1] === FIXEXT8 ? 1 : 0;
    if (extensionsAccepted() - extensionsBefore !== allowed) return null;
    count++;
    pos = frame.end;
  }
  return count;
}
