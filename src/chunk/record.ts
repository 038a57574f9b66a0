// What a chunk's segments decode to (segments.ts): one record with the time it arrived. The
// encoders and the websocket_server output read records in this shape; it is the chunk's to
// define, not theirs, so that the chunk layer never imports the encoders above it.
import type { EventTime } from '../codec/event-time.js';

export type RecordBody = Record<string, unknown>;

export interface TimedRecord {
  readonly time: EventTime;
  readonly body: RecordBody;
  /**
   * The record's JSON exactly as JSON.stringify(body) would write it, when the input text is
   * already that (see segments.ts, isCanonicalJson): the JSON encoders then splice the date
   * into it instead of serializing the object again.
   */
  readonly raw?: string;
}
