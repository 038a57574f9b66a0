// Picks the encoder for an output's `Format`.
import { createGelfEncoder } from './gelf.js';
import { createJsonArrayEncoder, createJsonLinesEncoder } from './json.js';
import { createMsgpackEncoder } from './msgpack.js';
import { DirectEncoder } from './direct.js';
import { DirectJsonEncoder } from './json-direct.js';
import { DirectMsgpackEncoder } from './msgpack-direct.js';
import type { Encoder, EncoderOptions } from './types.js';

export type { Encoder, EncoderOptions, EventTime } from './types.js';
export type { RecordBody, TimedRecord } from '../chunk/record.js';
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

/**
 * The byte-level encoder for chunks of JSON lines, when the format has one (every JSON format
 * and msgpack; not GELF, which rewrites keys): it validates and writes each line without
 * building objects, and falls back to the object encoders by itself for the rest.
 */
export function createDirectEncoder(options: EncoderOptions): DirectEncoder | null {
  if (DirectJsonEncoder.handles(options)) return new DirectJsonEncoder(options);
  if (options.format === 'msgpack') return new DirectMsgpackEncoder();
  return null;
}
