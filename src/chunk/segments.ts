// The one walk over a chunk arena's segments (layout.ts) and the one decoder of a segment's
// records, shared by every consumer: the websocket workers (direct.ts walks with the cursor and
// decodes its rare segments here; decodeChunk serves gelf), and, on the main thread, the
// websocket_server and stdout outputs. A second copy of either drifts: the server output once
// had its own, without the fallback for entries msgpackr refuses, and 21 forward bytes ended
// the process.
import { Unpackr } from 'msgpackr';
import { registerEventTimeExtension, toEventTime } from '../codec/event-time.js';
import type { EventTime } from '../codec/event-time.js';
import type { RecordBody, TimedRecord } from './record.js';
import { frameEnd } from '../codec/msgpack-frame.js';
import { SEGMENT_HEADER_BYTES, SegmentKind, type ChunkSource } from './layout.js';

/**
 * Reads a chunk's segment headers one after the other; the fields describe the current segment.
 * The builder writes whole segments, but a chunk may also come back from a file: a header whose
 * length runs past the chunk ends the walk instead of reading past it.
 */
export class SegmentCursor {
  /** Offset of the current segment's header. */
  header = 0;
  /** Its payload: bytes[start, end). */
  start = 0;
  end = 0;
  /** Index into the chunk's sources. */
  source = 0;
  kind: SegmentKind = SegmentKind.JsonLines;
  /** Arrival time of the segment (a new object per segment: records keep it). */
  time: EventTime = { sec: 0, nsec: 0 };
  private next_ = 0;
  private readonly view: DataView;

  constructor(
    arena: ArrayBufferLike,
    private readonly byteLength: number,
  ) {
    this.view = new DataView(arena, 0, byteLength);
  }

  /** Moves to the next segment; false at the end of the chunk. */
  next(): boolean {
    const at = this.next_;
    if (at + SEGMENT_HEADER_BYTES > this.byteLength) return false;
    const view = this.view;
    const length = view.getUint32(at, true);
    const start = at + SEGMENT_HEADER_BYTES;
    if (start + length > this.byteLength) return false;
    this.header = at;
    this.start = start;
    this.end = start + length;
    this.source = view.getUint16(at + 4, true);
    this.kind = view.getUint8(at + 6) as SegmentKind;
    this.time = { sec: view.getUint32(at + 8, true), nsec: view.getUint32(at + 12, true) };
    this.next_ = this.end;
    return true;
  }
}

export interface MalformedReport {
  readonly source: number;
  count: number;
  readonly sample: string;
}

/** Counts what is malformed per source index, with the first problem of each as its sample. */
export class MalformedCounts {
  private readonly bySource = new Map<number, MalformedReport>();

  note(source: number, count: number, sample: () => string): void {
    const report = this.bySource.get(source);
    if (report) report.count += count;
    else this.bySource.set(source, { source, count, sample: sample() });
  }

  reports(): MalformedReport[] {
    return [...this.bySource.values()];
  }
}

registerEventTimeExtension();
// int64/uint64 (what msgpack.ts writes for integers past 32 bits, and what Fluentd senders
// write for epoch milliseconds) as numbers: msgpackr's default BigInt has no JSON form, so one
// such field would make every JSON encoder throw and the chunk be lost. Past 2^53 this rounds,
// as JSON.parse does for the same digits.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * True when JSON.stringify(JSON.parse(line)) === line can be taken for granted (for a line that
 * parsed), so the line itself can be sent: outside strings no whitespace, no fraction or
 * exponent (1.0 and 1e3 are rewritten), no negative zero; inside strings only the escapes
 * stringify writes itself (\" \\ \b \f \n \r \t). Anything else falls back to stringify,
 * which is only slower, never wrong. One pass of charCodeAt: far cheaper than stringify.
 */
export function isCanonicalJson(line: string): boolean {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === 34)
        inString = false; // "
      else if (c === 92) {
        // backslash: the escape must be one stringify also writes
        const next = line.charCodeAt(++i);
        if (next !== 34 && next !== 92 && next !== 98 && next !== 102 && next !== 110 && next !== 114 && next !== 116)
          return false;
      }
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 32 || c === 9 || c === 10 || c === 13) return false;
    else if (c === 46)
      return false; // a fraction
    else if ((c === 101 || c === 69) && isDigit(line.charCodeAt(i - 1)))
      return false; // an exponent (not true/false)
    else if (c === 45 && line.charCodeAt(i + 1) === 48) {
      // -0 alone
      const after = line.charCodeAt(i + 2);
      if (!isDigit(after)) return false;
    }
  }
  return true;
}

function isPlainObject(value: unknown): value is RecordBody {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function excerpt(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The msgpack values in `segment`, each decoded on its own once decoding them together fails:
 * an entry msgpackr refuses (a map key that is a map, an unknown extension) is reported and
 * skipped, so it cannot fail the whole chunk (and the other inputs' records in it).
 */
function unpackEntries(segment: Buffer, onUndecodable: (reason: string) => void): unknown[] {
  try {
    return unpackr.unpackMultiple(segment) as unknown[];
  } catch {
    const entries: unknown[] = [];
    let pos = 0;
    while (pos < segment.length) {
      const frame = frameEnd(segment, pos, segment.length, segment.length);
      if (frame.kind !== 'complete') {
        onUndecodable(`msgpack entries end in an unframeable value at byte ${pos}`);
        break;
      }
      try {
        entries.push(unpackr.unpack(segment.subarray(pos, frame.end)));
      } catch (error) {
        onUndecodable(reasonOf(error));
      }
      pos = frame.end;
    }
    return entries;
  }
}

/** Receives each decoded record: `raw` is its JSON line when that is canonical (isCanonicalJson). */
export type RecordVisitor = (time: EventTime, body: RecordBody, raw: string | undefined, source: number) => void;

/**
 * Decodes bytes[from, segment end) of the cursor's segment into records, in order: JSON lines
 * parsed (each validated), raw lines wrapped as {"log": line}, msgpack [time, map] entries
 * unpacked. What is not a record is counted in `malformed` under the segment's source.
 */
export function decodeSegment(
  bytes: Buffer,
  segment: SegmentCursor,
  from: number,
  sources: ReadonlyArray<ChunkSource>,
  malformed: MalformedCounts,
  onRecord: RecordVisitor,
): void {
  const source = segment.source;
  const end = segment.end;
  if (segment.kind === SegmentKind.MsgpackEntries) {
    // Copied out of a shared arena first: msgpackr's native string extractor cannot read a
    // Buffer over a SharedArrayBuffer (it throws "Unexpected end of buffer reading string", or
    // takes the whole process down).
    const view = bytes.subarray(from, end);
    const own = bytes.buffer instanceof SharedArrayBuffer ? Buffer.from(view) : view;
    for (const entry of unpackEntries(own, (reason) => malformed.note(source, 1, () => `${reason}: msgpack entry`))) {
      const entryTime = Array.isArray(entry) ? toEventTime(entry[0]) : null;
      const body: unknown = Array.isArray(entry) ? entry[1] : undefined;
      if (entryTime && isPlainObject(body))
        onRecord({ sec: entryTime.sec, nsec: entryTime.nsec }, body, undefined, source);
      else malformed.note(source, 1, () => `not a [time, record] entry: ${excerpt(JSON.stringify(entry) ?? '')}`);
    }
    return;
  }
  const time = segment.time;
  const separator = sources[source]?.separator ?? '\n';
  for (let line of bytes.toString('utf8', from, end).split(separator)) {
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    if (line.length === 0) continue;
    if (segment.kind === SegmentKind.RawLines) {
      onRecord(time, { log: line }, undefined, source);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      malformed.note(source, 1, () => `${reasonOf(error)}: ${excerpt(line)}`);
      continue;
    }
    if (isPlainObject(parsed)) onRecord(time, parsed, isCanonicalJson(line) ? line : undefined, source);
    else malformed.note(source, 1, () => `not a JSON object: ${excerpt(line)}`);
  }
}

/** Every record of a chunk, in order, with the index of its source; returns what was malformed. */
export function decodeRecords(
  arena: ArrayBufferLike,
  byteLength: number,
  sources: ReadonlyArray<ChunkSource>,
  onRecord: RecordVisitor,
): MalformedReport[] {
  const bytes = Buffer.from(arena, 0, byteLength);
  const segment = new SegmentCursor(arena, byteLength);
  const malformed = new MalformedCounts();
  while (segment.next()) decodeSegment(bytes, segment, segment.start, sources, malformed, onRecord);
  return malformed.reports();
}

export interface DecodedChunk {
  readonly records: TimedRecord[];
  readonly malformed: MalformedReport[];
}

/** A chunk's records as one array (the object encoders: gelf, stdout). */
export function decodeChunk(
  arena: ArrayBufferLike,
  byteLength: number,
  sources: ReadonlyArray<ChunkSource>,
): DecodedChunk {
  const records: TimedRecord[] = [];
  const malformed = decodeRecords(arena, byteLength, sources, (time, body, raw) => {
    records.push(raw === undefined ? { time, body } : { time, body, raw });
  });
  return { records, malformed };
}
