// A sealed chunk back into records, each with its tag (the server output's message starts with
// it, and one chunk can hold segments from several tags). chunk-reader's decodeChunk does not
// return the tag per record; this is the same loop over the segment layout with the tag kept,
// running on the main thread (a broadcast is cheap per record; the sockets are the cost).
import { Unpackr } from 'msgpackr';
import { isCanonicalJson } from '../../chunk/chunk-reader.js';
import { SEGMENT_HEADER_BYTES, SegmentKind, type ChunkSource } from '../../chunk/layout.js';
import { registerEventTimeExtension, toEventTime } from '../../encode/event-time-ext.js';
import type { EventTime, RecordBody } from '../../encode/types.js';

export interface TaggedRecord {
  readonly tag: string;
  readonly time: EventTime;
  readonly body: RecordBody;
  /** The line itself when it is exactly what JSON.stringify(body) would write. */
  readonly raw: string | null;
}

export interface MalformedCount {
  readonly source: ChunkSource;
  count: number;
  readonly sample: string;
}

export interface TaggedChunk {
  readonly records: TaggedRecord[];
  readonly malformed: MalformedCount[];
}

registerEventTimeExtension();
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' }); // BigInt has no JSON form

function isPlainObject(value: unknown): value is RecordBody {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(line: string, reason: string): string {
  return `${reason}: ${JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}...` : line)}`;
}

export function decodeTagged(arena: ArrayBufferLike, byteLength: number, sources: readonly ChunkSource[]): TaggedChunk {
  const view = new DataView(arena, 0, byteLength);
  const bytes = Buffer.from(arena, 0, byteLength);
  const records: TaggedRecord[] = [];
  const malformed = new Map<ChunkSource, MalformedCount>();
  const bad = (source: ChunkSource, line: string, reason: string): void => {
    const seen = malformed.get(source);
    if (seen) seen.count++;
    else malformed.set(source, { source, count: 1, sample: describe(line, reason) });
  };

  let at = 0;
  while (at + SEGMENT_HEADER_BYTES <= byteLength) {
    const length = view.getUint32(at, true);
    const source = sources[view.getUint16(at + 4, true)];
    const kind = view.getUint8(at + 6) as SegmentKind;
    const time: EventTime = { sec: view.getUint32(at + 8, true), nsec: view.getUint32(at + 12, true) };
    const start = at + SEGMENT_HEADER_BYTES;
    at = start + length;
    if (source === undefined) continue; // cannot happen: the builder writes indexes it owns
    const tag = source.tag;
    if (kind === SegmentKind.MsgpackEntries) {
      for (const entry of unpackr.unpackMultiple(bytes.subarray(start, start + length)) as unknown[]) {
        const entryTime = Array.isArray(entry) ? toEventTime(entry[0]) : null;
        const body: unknown = Array.isArray(entry) ? entry[1] : undefined;
        if (entryTime && isPlainObject(body)) records.push({ tag, time: { sec: entryTime.sec, nsec: entryTime.nsec }, body, raw: null });
        else bad(source, JSON.stringify(entry) ?? '', 'not a [time, record] entry');
      }
      continue;
    }
    for (let line of bytes.toString('utf8', start, start + length).split(source.separator)) {
      if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      if (line.length === 0) continue;
      if (kind === SegmentKind.RawLines) {
        records.push({ tag, time, body: { log: line }, raw: null });
        continue;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (error) {
        bad(source, line, error instanceof Error ? error.message : 'invalid JSON');
        continue;
      }
      if (isPlainObject(parsed)) records.push({ tag, time, body: parsed, raw: isCanonicalJson(line) ? line : null });
      else bad(source, line, 'not a JSON object');
    }
  }
  return { records, malformed: [...malformed.values()] };
}
