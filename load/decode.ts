// Decoding of what the relay sends, for the sink. Every record is fully decoded (JSON.parse or
// msgpack), not pattern-matched, so a malformed message shows up as badRecords.
//   TEXT   json        one JSON array of objects
//          json_lines  objects separated by "\n"
//          json_stream objects back to back (with or without separators)
//   BINARY msgpack     a stream of [time, record] or [[time, metadata], record] arrays, time
//                      being a Fluentd EventTime (ext type 0), an integer or a float.
import { addExtension, unpackMultiple } from 'msgpackr';

/** Fluentd EventTime: ext type 0, 4 bytes seconds + 4 bytes nanoseconds, big-endian. */
export class EventTime {
  constructor(
    readonly sec: number,
    readonly nsec: number,
  ) {}
}

// Unpack only: msgpackr refuses a packing extension with type 0 (it tests `!type`).
addExtension({
  type: 0,
  unpack: (b: Buffer | Uint8Array) => {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return b.byteLength === 8 ? new EventTime(v.getUint32(0), v.getUint32(4)) : null;
  },
});

/** Called once per decoded record with its body; returns nothing. */
export type RecordSink = (body: unknown) => void;

function decodeArray(text: string, onRecord: RecordSink): number {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) return 1;
  for (const item of parsed) onRecord(item);
  return 0;
}

/** Splits back-to-back top-level JSON values by brace depth (strings respected). */
function splitStream(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92)
        i++; // backslash: skip the escaped char
      else if (ch === 34) inString = false;
      continue;
    }
    if (ch === 34) inString = true;
    else if (ch === 123 || ch === 91) {
      if (depth++ === 0) start = i;
    } else if (ch === 125 || ch === 93) {
      if (--depth === 0 && start >= 0) {
        out.push(text.slice(start, i + 1));
        start = -1;
      }
    }
  }
  if (depth !== 0) out.push(text.slice(start)); // truncated: reported as bad
  return out;
}

/** Decodes one TEXT message; returns the number of items that failed to decode. */
export function decodeText(data: Buffer, onRecord: RecordSink): number {
  const text = data.toString('utf8');
  let i = 0;
  while (i < text.length && text.charCodeAt(i) <= 32) i++;
  if (i === text.length) return 0;
  if (text.charCodeAt(i) === 91 /* [ */) {
    try {
      return decodeArray(text, onRecord);
    } catch {
      return 1;
    }
  }
  let bad = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0 || (line.length === 1 && line === '\r')) continue;
    try {
      onRecord(JSON.parse(line));
    } catch {
      // json_stream without separators: several objects on one line
      for (const piece of splitStream(line)) {
        try {
          onRecord(JSON.parse(piece));
        } catch {
          bad++;
        }
      }
    }
  }
  return bad;
}

function isEventTimeOrNumber(v: unknown): boolean {
  return v instanceof EventTime || typeof v === 'number';
}

/** Decodes one BINARY message; returns the number of items that failed to decode. */
export function decodeMsgpack(data: Buffer, onRecord: RecordSink): number {
  let bad = 0;
  try {
    unpackMultiple(data, (item: unknown) => {
      if (!Array.isArray(item) || item.length !== 2) {
        bad++;
        return;
      }
      const head: unknown = item[0];
      const ok =
        isEventTimeOrNumber(head) || (Array.isArray(head) && head.length === 2 && isEventTimeOrNumber(head[0]));
      if (ok) onRecord(item[1]);
      else bad++;
    });
  } catch {
    bad++;
  }
  return bad;
}
