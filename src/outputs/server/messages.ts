// Records → messages, encoded once for every client. A message is fluent-plugin-websocket's
// `[tag, time, record]`, tag and time only when add_tag / add_time are on; with
// buffered_messages > 0 a sequence id is appended last (`[tag, time, record, id]`), so code
// that reads the fields by position keeps working. The time is whole seconds: Fluentd's
// EventTime serializes as its integer seconds both in JSON (to_json → sec) and in msgpack
// (to_msgpack → sec), which is what the plugin's README shows (`["foo.bar",1364699026,{...}]`).
//
// In `message` format every message is a complete frame, and the frames of a chunk lie back to
// back in one buffer (`block`); in `json_lines` format every message is a line ending in "\n",
// the lines of a chunk lie back to back in `block`, and frames are built per batch.
import { Packr } from 'msgpackr';
import { widenRecord } from '../../encode/msgpack.js';
import type { RecordBody } from '../../chunk/record.js';
import { OPCODE_BINARY, OPCODE_TEXT, headerLength, writeHeader } from './frames.js';
import type { TaggedRecord } from './records.js';

export interface Message {
  /** Sequence id; 0 when ids are off. */
  readonly id: number;
  /** The record, for the per-client filters. */
  readonly body: RecordBody;
  /** message format: the whole frame; json_lines: the line with its "\n". A view into a block. */
  readonly bytes: Buffer;
}

export interface EncodedChunk {
  readonly messages: Message[];
  /** Every message's bytes, in order, in one buffer (what an unfiltered client receives). */
  readonly block: Buffer;
}

export interface MessageOptions {
  readonly useMsgpack: boolean;
  readonly addTag: boolean;
  readonly addTime: boolean;
  readonly withIds: boolean;
  /** true: lines for json_lines batches; false: one frame per message. */
  readonly lines: boolean;
}

// As the msgpack encoder: plain msgpack any decoder reads (msgpack.js, msgpack-lite, msgpackr).
const packr = new Packr({ useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true });
const EMPTY = Buffer.alloc(0);

export class MessageEncoder {
  private readonly opcode: number;

  constructor(private readonly options: MessageOptions) {
    this.opcode = options.useMsgpack ? OPCODE_BINARY : OPCODE_TEXT;
  }

  /** Encodes the records; ids run from firstId (ignored when ids are off). */
  encode(records: readonly TaggedRecord[], firstId: number): EncodedChunk {
    if (records.length === 0) return { messages: [], block: EMPTY };
    return this.options.useMsgpack ? this.encodeMsgpack(records, firstId) : this.encodeJson(records, firstId);
  }

  private encodeJson(records: readonly TaggedRecord[], firstId: number): EncodedChunk {
    const { addTag, addTime, withIds, lines } = this.options;
    const tags = new Map<string, string>();
    const texts = new Array<string>(records.length);
    // One string for the whole chunk, one UTF-8 conversion (the fastest way, see json.ts in
    // the encoders); the per-message boundaries come from the string lengths when the
    // text is ASCII, else from Buffer.byteLength per message.
    let all = '';
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      let text = '[';
      if (addTag) {
        let tagJson = tags.get(r.tag);
        if (tagJson === undefined) tags.set(r.tag, (tagJson = JSON.stringify(r.tag)));
        text += tagJson;
        text += ',';
      }
      if (addTime) {
        text += r.time.sec;
        text += ',';
      }
      text += r.raw ?? JSON.stringify(r.body);
      if (withIds) {
        text += ',';
        text += firstId + i;
      }
      text += lines ? ']\n' : ']';
      texts[i] = text;
      all += text;
    }
    const utf8 = Buffer.from(all, 'utf8');
    const ascii = utf8.length === all.length;
    const sizes = texts.map((t) => (ascii ? t.length : Buffer.byteLength(t, 'utf8')));
    return this.layout(records, firstId, utf8, sizes);
  }

  private encodeMsgpack(records: readonly TaggedRecord[], firstId: number): EncodedChunk {
    const { addTag, addTime, withIds } = this.options;
    const parts = new Array<Buffer>(records.length);
    let total = 0;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const message: unknown[] = [];
      if (addTag) message.push(r.tag);
      if (addTime) message.push(r.time.sec);
      message.push(widenRecord(r.body));
      // Ids exceed 32 bits: as a BigInt msgpackr writes them as an integer, not a float64.
      if (withIds) message.push(BigInt(firstId + i));
      const packed = packr.pack(message);
      parts[i] = packed;
      total += packed.length;
    }
    return this.layout(
      records,
      firstId,
      Buffer.concat(parts, total),
      parts.map((p) => p.length),
    );
  }

  /** Cuts `payloads` (messages back to back) into messages, adding frame headers if needed. */
  private layout(records: readonly TaggedRecord[], firstId: number, payloads: Buffer, sizes: number[]): EncodedChunk {
    const withIds = this.options.withIds;
    const messages = new Array<Message>(records.length);
    if (this.options.lines) {
      let at = 0;
      for (let i = 0; i < records.length; i++) {
        const size = sizes[i]!;
        messages[i] = {
          id: withIds ? firstId + i : 0,
          body: records[i]!.body,
          bytes: payloads.subarray(at, at + size),
        };
        at += size;
      }
      return { messages, block: payloads };
    }
    let framed = 0;
    for (const size of sizes) framed += headerLength(size) + size;
    const block = Buffer.allocUnsafe(framed);
    let from = 0;
    let at = 0;
    for (let i = 0; i < records.length; i++) {
      const size = sizes[i]!;
      const start = at;
      at = writeHeader(block, at, this.opcode, size);
      payloads.copy(block, at, from, from + size);
      from += size;
      at += size;
      messages[i] = { id: withIds ? firstId + i : 0, body: records[i]!.body, bytes: block.subarray(start, at) };
    }
    return { messages, block };
  }
}
