// The byte layout of a chunk arena, shared by the main thread (which writes it) and the
// worker threads (which read it). A chunk is one ArrayBuffer holding a run of segments; a
// segment is a header followed by bytes exactly as they arrived from one source in one read:
//
//   offset 0  u32  payload length in bytes
//   offset 4  u16  source index (into the chunk's `sources` table)
//   offset 6  u8   payload kind (SegmentKind)
//   offset 7  u8   reserved (0)
//   offset 8  u32  arrival time, seconds since the epoch
//   offset 12 u32  arrival time, nanoseconds
//   offset 16      payload
//
// Little-endian, unaligned (read through DataView). Keeping the arrival bytes untouched lets
// the main thread append a whole socket read with one copy and leave parsing to the workers.

export const SEGMENT_HEADER_BYTES = 16;

export const enum SegmentKind {
  /** Separator-delimited lines, each a JSON object (tcp Format json). */
  JsonLines = 0,
  /** Separator-delimited lines, each wrapped as {"log": line} (tcp Format none). */
  RawLines = 1,
  /** A msgpack stream of [EventTime, record] entries with their own times (forward input). */
  MsgpackEntries = 2,
}

/** Describes where a chunk's segments came from; structured-cloned with each chunk. */
export interface ChunkSource {
  /** Instance name of the input, e.g. `tcp.0`. */
  readonly input: string;
  readonly tag: string;
  /** The peer, e.g. `127.0.0.1:51234`, for warnings about its records. */
  readonly peer: string;
  readonly separator: string;
}
