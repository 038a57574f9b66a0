// An HTTP input body → JSON lines, grouped by tag, without an object per record.
//
// Every record is checked before any is buffered (a request is all or nothing), and what the
// check holds in memory is bounded by the body's size: a 4 MB body of empty maps or objects is
// four million (or 1.3 million) records, and decoding it to objects first would hold an object
// per record at once, hundreds of times the body's size. So:
// - a JSON body (an object, or an array of objects; also a form's `json=` field) is cut into its
//   elements on its bytes and each is checked by json-scan and copied as one line; only an
//   element with a line break outside its strings (pretty-printed JSON) is parsed and written
//   again, one at a time;
// - a msgpack body (a map, or an array of maps) is written as JSON from its bytes
//   (msgpack-json.ts); only a record that has no direct JSON form (bin, an extension, float32, a
//   non-string key) is decoded, one at a time.
// The lines a body becomes take at most 6 × its bytes (a msgpack string of control characters:
// each byte is a 6-byte \u00XX escape; JSON bodies take at most their own size), and each body
// byte costs a bounded amount of work.
import { Unpackr } from 'msgpackr';
import { MAX_DEPTH as MAX_JSON_DEPTH, ScanVerdict, scanJsonObject, type ScanResult } from '../codec/json-scan.js';
import { Output } from '../codec/output.js';
import { writeValue } from '../encode/msgpack-json.js';
import { frameEnd } from '../codec/msgpack-frame.js';
import { MsgpackReader } from '../codec/msgpack-reader.js';

export class BadBody extends Error {}

/** JSON lines to buffer under one tag, and how many records they hold. */
export interface Segment {
  readonly lines: Buffer;
  readonly count: number;
}

/**
 * Distinct tags one request may hold (tag_key): each is a segment of its own with its own
 * buffer, so a body of a few bytes per tag would cost hundreds of times its size; more is a 400.
 */
export const MAX_TAGS_PER_REQUEST = 1024;

/** Reads the tag of one record from its JSON line, null to use the request's tag. */
export type TagOf = (line: Buffer) => string | null;

// 64-bit integers as numbers, as JSON bodies get them: a BigInt cannot be written as JSON.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

const NEWLINE = 0x0a,
  CR = 0x0d,
  QUOTE = 0x22,
  BACKSLASH = 0x5c,
  COMMA = 0x2c;
const OPEN_BRACE = 0x7b,
  CLOSE_BRACE = 0x7d,
  OPEN_BRACKET = 0x5b,
  CLOSE_BRACKET = 0x5d;

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09 || c === NEWLINE || c === CR;
}

function skipSpace(b: Uint8Array, p: number, end: number): number {
  while (p < end && isSpace(b[p])) p++;
  return p;
}

export function mediaType(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

export function isNdjson(type: string): boolean {
  return type === 'application/x-ndjson' || type === 'application/jsonl' || type === 'application/json-seq';
}

/** Where each tag's lines are written while a body is read. */
class LinesByTag {
  readonly groups = new Map<string, { out: Output; count: number }>();

  constructor(
    private readonly tag: string,
    private readonly tagOf: TagOf | null,
    private readonly sizeHint: number,
  ) {}

  /** The output the next record is written to, before its tag is known (tag_key: a scratch one). */
  private scratch: Output | null = null;

  begin(): Output {
    if (this.tagOf === null) return this.group(this.tag).out;
    const scratch = (this.scratch ??= new Output(1024));
    scratch.length = 0;
    return scratch;
  }

  /** The record written since begin() is complete (its newline included). */
  commit(): void {
    if (this.tagOf === null) {
      this.group(this.tag).count++;
      return;
    }
    const scratch = this.scratch!;
    const line = scratch.buffer.subarray(0, scratch.length);
    const group = this.group(this.tagOf(line) ?? this.tag);
    group.out.bytes(line, 0, line.length);
    group.count++;
  }

  private group(tag: string): { out: Output; count: number } {
    let group = this.groups.get(tag);
    if (!group) {
      if (this.groups.size >= MAX_TAGS_PER_REQUEST) {
        throw new BadBody(`more than ${MAX_TAGS_PER_REQUEST} distinct tags (tag_key) in one request`);
      }
      group = { out: new Output(this.tagOf === null ? Math.max(256, this.sizeHint) : 256), count: 0 };
      this.groups.set(tag, group);
    }
    return group;
  }

  segments(): Map<string, Segment> {
    const segments = new Map<string, Segment>();
    for (const [tag, { out, count }] of this.groups) {
      if (count > 0) segments.set(tag, { lines: out.buffer.subarray(0, out.length), count });
    }
    return segments;
  }
}

const scanResult: ScanResult = { verdict: ScanVerdict.Invalid, hasKey: false };

/**
 * The records of an NDJSON body whose every line is a JSON object, checked on its bytes by
 * json-scan (the check the workers make): such a body is buffered as it is, a JSON-lines
 * segment like a tcp read, without a JSON.parse and a JSON.stringify per record on the main
 * thread (which would be most of the http input's cost). null when a line is not a JSON
 * object, or blank but not empty:
 * bodyLines then takes the body and says what is wrong with it, or skips the blank line.
 */
export function countNdjsonRecords(body: Buffer): number | null {
  let records = 0;
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(NEWLINE, start);
    if (end < 0) end = body.length;
    const next = end + 1;
    if (end > start && body[end - 1] === CR) end--;
    if (end > start) {
      if (scanJsonObject(body, start, end, null, scanResult).verdict === ScanVerdict.Invalid) return null;
      records++;
    }
    start = next;
  }
  return records;
}

/**
 * Where the object starting at b[p] ('{') ends, and whether a line break stands outside its
 * strings; refuses nesting deeper than the JSON lines path accepts. Linear, no recursion.
 */
function objectEnd(b: Uint8Array, p: number, end: number, index: number): { end: number; breaks: boolean } {
  let depth = 0;
  let breaks = false;
  for (let i = p; i < end; i++) {
    const c = b[i];
    if (c === QUOTE) {
      for (i++; i < end && b[i] !== QUOTE; i++) if (b[i] === BACKSLASH) i++;
      if (i >= end) break;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) throw new BadBody(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (--depth === 0) return { end: i + 1, breaks };
    } else if (c === NEWLINE || c === CR) {
      breaks = true;
    }
  }
  throw new BadBody(`invalid JSON: record ${index} is not complete`);
}

/** Writes the JSON object b[start, end) as one line, checked; `breaks`: it has line breaks outside strings. */
function writeJsonRecord(
  b: Buffer,
  start: number,
  end: number,
  breaks: boolean,
  index: number,
  lines: LinesByTag,
): void {
  const out = lines.begin();
  if (breaks) {
    // Pretty-printed: parsed and written again on one line (one record's objects at a time).
    let value: unknown;
    try {
      value = JSON.parse(b.toString('utf8', start, end));
    } catch (error) {
      throw new BadBody(`invalid JSON: ${(error as Error).message}`);
    }
    out.text(JSON.stringify(value));
  } else {
    if (scanJsonObject(b, start, end, null, scanResult).verdict === ScanVerdict.Invalid) {
      throw new BadBody(`invalid JSON: record ${index} is not a valid JSON object`);
    }
    out.bytes(b, start, end);
  }
  out.byte(NEWLINE);
  lines.commit();
}

/** A JSON text holding an object or an array of objects: each object becomes a line. Returns records read. */
function readJson(b: Buffer, start: number, end: number, lines: LinesByTag): number {
  let p = skipSpace(b, start, end);
  if (p >= end) throw new BadBody('invalid JSON: the body is empty');
  let records = 0;
  if (b[p] === OPEN_BRACE) {
    const object = objectEnd(b, p, end, 0);
    if (skipSpace(b, object.end, end) !== end) throw new BadBody('invalid JSON: more after the record');
    writeJsonRecord(b, p, object.end, object.breaks, 0, lines);
    return 1;
  }
  if (b[p] !== OPEN_BRACKET) throw new BadBody('record 0 is not a JSON object');
  p = skipSpace(b, p + 1, end);
  if (b[p] === CLOSE_BRACKET) p++;
  else {
    for (;;) {
      if (b[p] !== OPEN_BRACE) {
        if (p >= end) throw new BadBody('invalid JSON: the array is not closed');
        throw new BadBody(`record ${records} is not a JSON object`);
      }
      const object = objectEnd(b, p, end, records);
      writeJsonRecord(b, p, object.end, object.breaks, records, lines);
      records++;
      p = skipSpace(b, object.end, end);
      if (b[p] === COMMA) {
        p = skipSpace(b, p + 1, end);
        continue;
      }
      if (b[p] === CLOSE_BRACKET) {
        p++;
        break;
      }
      throw new BadBody('invalid JSON: expected , or ] after a record');
    }
  }
  if (skipSpace(b, p, end) !== end) throw new BadBody('invalid JSON: more after the array');
  return records;
}

/** The msgpack map at the reader's position written as a JSON line; the reader moves past it. */
function writeMsgpackRecord(r: MsgpackReader, index: number, lines: LinesByTag): void {
  const b = r.buf;
  const p = r.pos;
  const end = r.end;
  if (!r.mapHeader()) throw new BadBody(`record ${index} is not a map`);
  r.pos = p;
  const out = lines.begin();
  const mark = out.length;
  if (!writeValue(out, r)) {
    // No direct JSON form (bin, an extension, float32...): this one record is decoded.
    out.length = mark;
    const frame = frameEnd(b, p, end, end);
    if (frame.kind !== 'complete') {
      throw new BadBody(`invalid msgpack: ${frame.kind === 'invalid' ? frame.reason : `record ${index} is truncated`}`);
    }
    let value: unknown;
    try {
      value = unpackr.unpack(b.subarray(p, frame.end));
    } catch (error) {
      throw new BadBody(`invalid msgpack: ${(error as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new BadBody(`record ${index} is not a map`);
    out.text(JSON.stringify(value));
    r.pos = frame.end;
  }
  out.byte(NEWLINE);
  lines.commit();
}

/** A msgpack map or array of maps: each map becomes a line. */
function readMsgpack(b: Buffer, lines: LinesByTag): void {
  const end = b.length;
  const r = new MsgpackReader(b, 0, end);
  if (r.arrayHeader()) {
    const count = r.count;
    // Each element takes a byte at least: a count claiming more than the body holds is refused
    // now, not after walking what is there.
    if (count > end - r.pos) throw new BadBody(`invalid msgpack: an array of ${count} records in ${end} bytes`);
    for (let i = 0; i < count; i++) writeMsgpackRecord(r, i, lines);
  } else {
    writeMsgpackRecord(r, 0, lines);
  }
  if (r.pos !== end) throw new BadBody('invalid msgpack: more after the records');
}

/**
 * The records of a body as JSON lines by tag, by its content type (JSON when none is given, as
 * Fluentd does). `tagOf` (tag_key) picks each record's tag; without it every line goes under `tag`.
 */
export function bodyLines(body: Buffer, contentType: string, tag: string, tagOf: TagOf | null): Map<string, Segment> {
  const type = mediaType(contentType);
  const lines = new LinesByTag(tag, tagOf, body.length + 64);
  if (type === 'application/msgpack' || type === 'application/x-msgpack') {
    readMsgpack(body, lines);
  } else if (type === 'application/x-www-form-urlencoded') {
    const json = new URLSearchParams(body.toString('utf8')).get('json');
    if (json === null) throw new BadBody("form body without a 'json' field");
    const bytes = Buffer.from(json);
    readJson(bytes, 0, bytes.length, lines);
  } else if (isNdjson(type)) {
    // Each non-blank line is a JSON object or an array of them.
    let start = 0;
    while (start < body.length) {
      let lineEnd = body.indexOf(NEWLINE, start);
      if (lineEnd < 0) lineEnd = body.length;
      if (skipSpace(body, start, lineEnd) < lineEnd) readJson(body, start, lineEnd, lines);
      start = lineEnd + 1;
    }
  } else {
    readJson(body, 0, body.length, lines);
  }
  return lines.segments();
}
