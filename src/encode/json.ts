// `json`, `json_lines` and `json_stream`: Fluent Bit rebuilds each record as a new map with the
// date key first, then the record's own keys in order; we splice the date into the record's
// compact JSON instead of building a new object.
//
// The chunk is built as one string (+=) and encoded to UTF-8 once: V8 keeps a += string as a
// rope, so the single flatten + encode at the end beats any per-record write into a Buffer,
// and it is the simplest of the fastest ways measured (docs/PERFORMANCE.md, "Figures behind the
// code"). The double date costs toPrecision once per distinct time, so records that share their
// time are cheaper.
import type { DateFormat } from '../config/types.js';
import { formatDate } from './date.js';
import type { Encoder, EncoderOptions } from './types.js';
import type { RecordBody, TimedRecord } from '../chunk/record.js';

const EMPTY = Buffer.alloc(0);

/** Compact JSON of one record with the date key spliced in first (or left out). */
export type RecordToJson = (record: TimedRecord) => string;

export function recordJsonWriter(dateKey: string | null, dateFormat: DateFormat): RecordToJson {
  if (dateKey === null) return (record) => record.raw ?? bodyJson(record.body);
  const open = `{${JSON.stringify(dateKey)}:`;
  return (record) => {
    const body = record.body;
    const json = record.raw ?? bodyJson(body);
    // The record's own value wins; Fluent Bit would write the key twice.
    if (Object.hasOwn(body, dateKey)) return json;
    const date = formatDate(record.time, dateFormat);
    return json.length === 2 ? `${open}${date}}` : `${open}${date},${json.slice(1)}`;
  };
}

function bodyJson(body: RecordBody): string {
  const json = JSON.stringify(body);
  // The type says map, but a stray array or scalar must still give valid JSON, and
  // Fluent Bit wraps a non-map body as {"log": ...}.
  if (json !== undefined && json.charCodeAt(0) === 123) return json;
  return `{"log":${json ?? 'null'}}`;
}

/** json_lines and json_stream: every record followed by "\n". */
export function createJsonLinesEncoder(options: EncoderOptions): Encoder {
  const toJson = recordJsonWriter(options.dateKey, options.dateFormat);
  return {
    binary: false,
    encode(records: ReadonlyArray<TimedRecord>): Buffer {
      if (records.length === 0) return EMPTY;
      let text = '';
      for (let i = 0; i < records.length; i++) {
        text += toJson(records[i]);
        text += '\n';
      }
      return Buffer.from(text, 'utf8');
    },
  };
}

/** json: one array per chunk. */
export function createJsonArrayEncoder(options: EncoderOptions): Encoder {
  const toJson = recordJsonWriter(options.dateKey, options.dateFormat);
  return {
    binary: false,
    encode(records: ReadonlyArray<TimedRecord>): Buffer {
      if (records.length === 0) return EMPTY;
      let text = '[';
      text += toJson(records[0]);
      for (let i = 1; i < records.length; i++) {
        text += ',';
        text += toJson(records[i]);
      }
      text += ']';
      return Buffer.from(text, 'utf8');
    },
  };
}
