// What the generator writes, built before the first write: batches of records with a unique
// integer `seq` and a send time `t`, in the byte form of each input protocol.
//   lines    JSON lines (tcp input; also the ndjson body of an http POST). Every line is 115
//            bytes, newline included:
//            {"seq":123,"t":1795421327196253,"level":"info","msg":"GET /api/v1/items 200","host":"web-03","pad":"xx…"}
//   forward  one Fluentd forward PackedForward message per batch: [tag, bin(entries), {size}],
//            each entry [EventTime, {seq, t, level, msg, host, pad}], the record holding the same
//            fields and values as the line (msgpack written by hand, so `t` has a fixed place).
//            `t` is a float64 (exact below 2^53): as a uint64 the relay's msgpack decoder makes
//            it a BigInt, which its JSON outputs could not serialize (found by this bench,
//            2026-11-23: every chunk was lost; reported, not fixed here).
// `t` is written as a fixed-width placeholder and overwritten with the current time just before
// the batch goes out (stamp()), so building costs nothing during the run.

/** Every line is padded to this many bytes, newline included. */
export const LINE_BYTES = 115;
const LEVELS = ['info', 'info', 'info', 'warn', 'info', 'debug', 'info', 'error'] as const;
const PAD = 'x'.repeat(LINE_BYTES);

/**
 * `t` is the wall clock in integer microseconds: 16 digits until the year 2286. An integer keeps
 * the line canonical JSON, as a JSON logger writes it (a 17-digit fraction like 1795421327196.250
 * would not be: the relay would then parse and re-serialize every record — see PERFORMANCE.md).
 */
const T_WIDTH = 16;
const T_PLACEHOLDER = '0'.repeat(T_WIDTH);

export type BatchKind = 'lines' | 'forward';

export interface Batch {
  readonly kind: BatchKind;
  readonly buf: Buffer;
  readonly count: number;
  /** Offset of each record's t placeholder in buf (16 ASCII digits, or a msgpack float64). */
  readonly tAt: Int32Array;
}

export const EMPTY_BATCH: Batch = { kind: 'lines', buf: Buffer.alloc(0), count: 0, tAt: new Int32Array(0) };

/** The fields after seq and t, and the pad length that makes the JSON line LINE_BYTES long. */
function fields(seq: number, head: string): { level: string; host: string; pad: string } {
  const level = LEVELS[seq & 7]!;
  const host = `web-0${seq & 7}`;
  const body = `${head}${T_PLACEHOLDER},"level":"${level}","msg":"GET /api/v1/items 200","host":"${host}","pad":"`;
  return { level, host, pad: PAD.slice(0, Math.max(0, LINE_BYTES - body.length - 3)) };
}

/** One record line with the t placeholder; also returns where t starts in it. */
function recordLine(seq: number): { line: string; tAt: number } {
  const head = `{"seq":${seq},"t":`;
  const f = fields(seq, head);
  const line = `${head}${T_PLACEHOLDER},"level":"${f.level}","msg":"GET /api/v1/items 200","host":"${f.host}","pad":"${f.pad}"}\n`;
  return { line, tAt: head.length };
}

function buildLines(from: number, count: number): Batch {
  const tAt = new Int32Array(count);
  let s = '';
  for (let i = 0; i < count; i++) {
    const r = recordLine(from + i);
    tAt[i] = s.length + r.tAt;
    s += r.line;
  }
  return { kind: 'lines', buf: Buffer.from(s, 'latin1'), count, tAt };
}

/** A msgpack writer just big enough for the forward batches (ASCII strings only). */
class Writer {
  private buf = Buffer.allocUnsafe(64 * 1024);
  at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  byte(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v, this.at);
    this.at += 4;
  }

  str(s: string): void {
    if (s.length < 32) this.byte(0xa0 | s.length);
    else if (s.length < 256) {
      this.byte(0xd9);
      this.byte(s.length);
    } else throw new Error('string too long for the bench writer');
    this.room(s.length);
    this.at += this.buf.write(s, this.at, 'latin1');
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    this.at += b.copy(this.buf, this.at);
  }

  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.at));
  }
}

function buildForward(from: number, count: number, tag: string): Batch {
  const entries = new Writer();
  const tAt: number[] = [];
  const sec = Math.floor(Date.now() / 1000);
  for (let i = 0; i < count; i++) {
    const seq = from + i;
    const f = fields(seq, `{"seq":${seq},"t":`);
    entries.byte(0x92);
    entries.byte(0xd7); // EventTime: fixext 8, type 0, seconds and nanoseconds
    entries.byte(0x00);
    entries.u32(sec);
    entries.u32(0);
    entries.byte(0x86);
    entries.str('seq');
    entries.byte(0xce);
    entries.u32(seq);
    entries.str('t');
    entries.byte(0xcb); // float64, overwritten by stamp()
    tAt.push(entries.at);
    entries.u32(0);
    entries.u32(0);
    entries.str('level');
    entries.str(f.level);
    entries.str('msg');
    entries.str('GET /api/v1/items 200');
    entries.str('host');
    entries.str(f.host);
    entries.str('pad');
    entries.str(f.pad);
  }
  const body = entries.take();
  const head = new Writer();
  head.byte(0x93);
  head.str(tag);
  head.byte(0xc6); // bin 32
  head.u32(body.length);
  const offset = head.at;
  head.bytes(body);
  head.byte(0x81);
  head.str('size');
  head.byte(0xce);
  head.u32(count);
  return { kind: 'forward', buf: head.take(), count, tAt: Int32Array.from(tAt, (p) => p + offset) };
}

export function buildBatch(kind: BatchKind, from: number, count: number, tag: string): Batch {
  return kind === 'lines' ? buildLines(from, count) : buildForward(from, count, tag);
}

/** Stamps the current time (integer µs, `wallMicros`) into every record of the batch. */
export function stamp(b: Batch, wallMicros: number): void {
  const buf = b.buf;
  if (b.kind === 'forward') {
    for (let i = 0; i < b.count; i++) buf.writeDoubleBE(wallMicros, b.tAt[i]!);
    return;
  }
  const t = Buffer.from(String(wallMicros), 'latin1');
  if (t.length !== T_WIDTH) return; // after 2286: keep the placeholder
  for (let i = 0; i < b.count; i++) {
    const at = b.tAt[i]!;
    for (let k = 0; k < T_WIDTH; k++) buf[at + k] = t[k]!;
  }
}
