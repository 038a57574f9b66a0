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
import { readEventTime } from '../encode/event-time-ext.js';
import { mapHeader } from '../encode/msgpack-json.js';
import { FrameScanner, extensionsAccepted } from './msgpack-frame.js';

const FIXARRAY_2 = 0x92;
const FIXEXT8 = 0xd7;

let scanner: FrameScanner | null = null;
let scannerLimit = 0;
/** Where readEventTime puts the time it checks (unused here). */
const time = { sec: 0, nsec: 0 };

/**
 * The number of entries in `packed` when every one is [time, map] (framed by FrameScanner: size,
 * depth and extension types checked as for any forward message) and no record holds an
 * extension value; null when the payload must be decoded instead.
 */
export function countPackedEntries(packed: Buffer, maxBytes: number): number | null {
  // One scanner per limit, kept: Message mode calls this for every record.
  if (scanner === null || scannerLimit !== maxBytes) {
    scanner = new FrameScanner(maxBytes);
    scannerLimit = maxBytes;
  }
  let pos = 0;
  let count = 0;
  while (pos < packed.length) {
    if (packed[pos] !== FIXARRAY_2) return null;
    const body = readEventTime(packed, pos + 1, packed.length, time);
    if (body < 0 || !mapHeader(packed, body, packed.length)) return null;
    const extensionsBefore = extensionsAccepted();
    const frame = scanner.scan(packed, pos, packed.length);
    if (frame.kind !== 'complete') {
      scanner.reset(); // an incomplete entry leaves the scanner waiting for more of it
      return null;
    }
    // The time's own EventTime is the one extension allowed: msgpackr would turn one inside a
    // record (a timestamp of an odd length, say) into something the JSON writers do not expect.
    const allowed = packed[pos + 1] === FIXEXT8 ? 1 : 0;
    if (extensionsAccepted() - extensionsBefore !== allowed) return null;
    count++;
    pos = frame.end;
  }
  return count;
}
