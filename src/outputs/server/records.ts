// A sealed chunk back into records, each with its tag (the server output's message starts with
// it, and one chunk can hold segments from several tags): the shared decoder (segments.ts),
// run on the main thread (a broadcast is cheap per record; the sockets are the cost).
import { decodeRecords } from '../../chunk/segments.js';
import type { ChunkSource } from '../../chunk/layout.js';
import type { TimedRecord } from '../../chunk/record.js';

export interface TaggedRecord extends TimedRecord {
  readonly tag: string;
}

export interface MalformedCount {
  readonly source: ChunkSource;
  readonly count: number;
  readonly sample: string;
}

export interface TaggedChunk {
  readonly records: TaggedRecord[];
  readonly malformed: MalformedCount[];
}

export function decodeTagged(arena: ArrayBufferLike, byteLength: number, sources: readonly ChunkSource[]): TaggedChunk {
  const records: TaggedRecord[] = [];
  const malformed: MalformedCount[] = [];
  const reports = decodeRecords(arena, byteLength, sources, (time, body, raw, source) => {
    const tag = sources[source]?.tag ?? '';
    records.push(raw === undefined ? { tag, time, body } : { tag, time, body, raw });
  });
  for (const report of reports) {
    const source = sources[report.source];
    if (source) malformed.push({ source, count: report.count, sample: report.sample });
  }
  return { records, malformed };
}
