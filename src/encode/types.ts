// What an encoder turns into one WebSocket message: the records of one chunk, each with the
// time it arrived. Shared by the worker threads (websocket client output) and, later, the
// server output.
import type { DateFormat, GelfKeys, OutputFormat } from '../config/types.js';
import type { TimedRecord } from '../chunk/record.js';

import type { EventTime } from '../codec/event-time.js';

export type { EventTime };

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
