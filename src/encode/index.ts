// Picks the encoder for an output's `Format`.
import { createGelfEncoder } from './gelf.js';
import { createJsonArrayEncoder, createJsonLinesEncoder } from './json.js';
import { createMsgpackEncoder } from './msgpack.js';
import type { Encoder, EncoderOptions } from './types.js';

export type { Encoder, EncoderOptions, EventTime, RecordBody, TimedRecord } from './types.js';
export { formatDate } from './date.js';

export function createEncoder(options: EncoderOptions): Encoder {
  switch (options.format) {
    case 'msgpack':
      return createMsgpackEncoder();
    case 'json':
      return createJsonArrayEncoder(options);
    case 'json_lines':
    case 'json_stream':
      return createJsonLinesEncoder(options);
    case 'gelf':
      return createGelfEncoder(options);
  }
}
