// What an encoder turns into one WebSocket message: the records of one chunk, each with the
// time it arrived. Shared by the worker threads (websocket client output) and, later, the
// server output.
import type { DateFormat, GelfKeys, OutputFormat } from '../config/types.js';

import type { EventTime } from '../codec/event-time.js';

export type { EventTime };

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

export interface EncoderOptions {
  readonly format: OutputFormat;
  /** null: no date key (`json_date_key false`). */
  readonly dateKey: string | null;
  readonly dateFormat: DateFormat;
  readonly gelf: GelfKeys;
  /** Used for GELF `host` when the record has none. */
  readonly hostname: string;
}

export interface Encoder {
  /** true: BINARY frames (msgpack); false: TEXT frames (every JSON format and GELF). */
  readonly binary: boolean;
  /** One message for the whole chunk. An empty list encodes to an empty buffer. */
  encode(records: ReadonlyArray<TimedRecord>): Buffer;
}
