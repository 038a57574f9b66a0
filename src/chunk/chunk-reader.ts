// Turns a chunk arena back into records, in a worker thread: splits each segment at its
// source's separator, parses JSON lines (every record is validated here, off the main
// thread) and wraps raw lines. Lines that are not JSON objects are counted per source, with
// one sample error for the log; they never stop the records around them.
import { Unpackr } from 'msgpackr';
import { registerEventTimeExtension, toEventTime } from '../encode/event-time-ext.js';
import type { RecordBody, TimedRecord } from '../encode/types.js';
import { frameEnd } from '../inputs/msgpack-frame.js';
import { SEGMENT_HEADER_BYTES, SegmentKind, type ChunkSource } from './layout.js';

export interface MalformedReport {
  readonly source: number;
  count: number;
  readonly sample: string;
}

export interface DecodedChunk {
  readonly records: TimedRecord[];
  readonly malformed: MalformedReport[];
}

registerEventTimeExtension();
// int64/uint64 (what msgpack.ts writes for integers past 32 bits, and what Fluentd senders
// write for epoch milliseconds) as numbers: msgpackr's default BigInt has no JSON form, so one
// such field made every JSON encoder throw and the chunk was lost. Past 2^53 this rounds, as
// JSON.parse does for the same digits.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/**
 * True when JSON.stringify(JSON.parse(line)) === line can be taken for granted (for a line that
 * parsed), so the line itself can be sent: outside strings no whitespace, no fraction or
 * exponent (1.0 and 1e3 are rewritten), no negative zero; inside strings only the escapes
 * stringify writes itself (\" \\ \b \f \n \r \t). Anything else falls back to stringify,
 * which is only slower, never wrong. One pass of charCodeAt: far cheaper than stringify.
 */
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isCanonicalJson(line: string): boolean {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === 34) inString = false; // "
      else if (c === 92) { // backslash: the escape must be one stringify also writes
        const next = line.charCodeAt(++i);
        if (next !== 34 && next !== 92 && next !== 98 && next !== 102 && next !== 110 && next !== 114 && next !== 116) return false;
      }
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 32 || c === 9 || c === 10 || c === 13) return false;
    else if (c === 46) return false; // a fraction
    else if ((c === 101 || c === 69) && isDigit(line.charCodeAt(i - 1))) return false; // an exponent (not true/false)
    else if (c === 45 && line.charCodeAt(i + 1) === 48) { // -0 alone
      const after = line.charCodeAt(i + 2);
      if (!isDigit(after)) return false;
    }
  }
  return true;
}

function isPlainObject(value: unknown): value is RecordBody {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeProblem(line: string, error: unknown): string {
  const excerpt = line.length > 80 ? `${line.slice(0, 80)}...` : line;
  const reason = error instanceof Error ? error.message : 'not a JSON object';
  return `${reason}: ${JSON.stringify(excerpt)}`;
}

/**
 * The entries of a msgpack-entries segment. The forward input framed them, but did not decode
 * those it buffered as they came: an entry msgpackr still refuses is reported and skipped, so it
 * cannot fail the whole chunk (and the other inputs' records in it) in every worker it reaches.
 */
function unpackEntries(segment: Buffer, onUndecodable: (error: unknown) => void): unknown[] {
  try {
    return unpackr.unpackMultiple(segment) as unknown[];
  } catch {
    const entries: unknown[] = [];
    let pos = 0;
    while (pos < segment.length) {
      const frame = frameEnd(segment, pos, segment.length, segment.length);
      if (frame.kind !== 'complete') {
        onUndecodable(new Error(`msgpack entries end in an unframeable value at byte ${pos}`));
        break;
      }
      try {
        entries.push(unpackr.unpack(segment.subarray(pos, frame.end)));
      } catch (error) {
        onUndecodable(error);
      }
      pos = frame.end;
    }
    return entries;
  }
}

export function decodeChunk(arena: ArrayBufferLike, byteLength: number,
  sources: ReadonlyArray<ChunkSource>): DecodedChunk {
  const view = new DataView(arena, 0, byteLength);
  const bytes = Buffer.from(arena, 0, byteLength);
  const records: TimedRecord[] = [];
  const malformed = new Map<number, MalformedReport>();
  const noteMalformed = (source: number, line: string, error: unknown): void => {
    const report = malformed.get(source);
    if (report) report.count++;
    else malformed.set(source, { source, count: 1, sample: describeProblem(line, error) });
  };

  let at = 0;
  while (at + SEGMENT_HEADER_BYTES <= byteLength) {
    const length = view.getUint32(at, true);
    const sourceIndex = view.getUint16(at + 4, true);
    const kind = view.getUint8(at + 6) as SegmentKind;
    const time = { sec: view.getUint32(at + 8, true), nsec: view.getUint32(at + 12, true) };
    const start = at + SEGMENT_HEADER_BYTES;
    at = start + length;
    if (kind === SegmentKind.MsgpackEntries) {
      // Written by the forward input: entries it decoded and packed again, or a PackedForward
      // payload it framed and found of the [time, map] shape (forward-entries.ts). Copied out
      // of a shared arena first: msgpackr's native string extractor cannot read a Buffer over a
      // SharedArrayBuffer ("Unexpected end of buffer reading string", and a SIGSEGV of the whole
      // relay under fuzz-relay.test.ts), so every forward record with a longer string was lost.
      const segment = bytes.buffer instanceof SharedArrayBuffer
        ? Buffer.from(bytes.subarray(start, start + length)) : bytes.subarray(start, start + length);
      for (const entry of unpackEntries(segment, (error) => noteMalformed(sourceIndex, 'msgpack entry', error))) {
        const entryTime = Array.isArray(entry) ? toEventTime(entry[0]) : null;
        const body: unknown = Array.isArray(entry) ? entry[1] : undefined;
        if (entryTime && isPlainObject(body)) records.push({ time: entryTime, body });
        else noteMalformed(sourceIndex, JSON.stringify(entry) ?? '', new Error('not a [time, record] entry'));
      }
      continue;
    }
    const separator = sources[sourceIndex]?.separator ?? '\n';
    const lines = bytes.toString('utf8', start, start + length).split(separator);
    for (let line of lines) {
      if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      if (line.length === 0) continue;
      if (kind === SegmentKind.RawLines) {
        records.push({ time, body: { log: line } });
        continue;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (error) {
        noteMalformed(sourceIndex, line, error);
        continue;
      }
      if (isPlainObject(parsed)) {
        records.push(isCanonicalJson(line) ? { time, body: parsed, raw: line } : { time, body: parsed });
      }
      else noteMalformed(sourceIndex, line, new Error('not a JSON object'));
    }
  }
  return { records, malformed: [...malformed.values()] };
}
