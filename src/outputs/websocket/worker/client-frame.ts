// Client frames written by us instead of by ws.send, for messages that sit in a pooled buffer
// with room for the header before them (src/encode/direct.ts). ws.send treats a Buffer as
// read-only and masks it into a fresh buffer of the message's size: a 2 MiB allocation per
// chunk that only a garbage collection frees, and a worker rarely collects (it allocates little
// else), so each worker kept tens of MB of dead messages. Here the header goes into the
// headroom and the payload is masked in place: no allocation, no copy.
//
// The frame goes to the connection's socket as one write. ws writes its own frames (pings,
// pongs, close) to the same socket, also each as one write, so frames never interleave; ws only
// queues frames of its own while compressing, and compressed connections use ws.send.
import { randomFillSync } from 'node:crypto';
import bufferUtil from 'bufferutil';

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const FIN = 0x80;
const MASKED = 0x80;

// Masking keys must be unpredictable (RFC 6455 §5.3): drawn from a CSPRNG pool, as ws does.
const RANDOM_POOL_BYTES = 8 * 1024;
const randomPool = Buffer.alloc(RANDOM_POOL_BYTES);
let randomAt = RANDOM_POOL_BYTES;

function maskingKey(): Buffer {
  if (randomAt === RANDOM_POOL_BYTES) {
    randomFillSync(randomPool);
    randomAt = 0;
  }
  const key = randomPool.subarray(randomAt, randomAt + 4);
  randomAt += 4;
  return key;
}

/** Header bytes of a masked client frame with this payload length. */
function headerBytes(length: number): number {
  return (length < 126 ? 2 : length < 0x10000 ? 4 : 10) + 4;
}

/**
 * Turns `payload` into a complete masked frame in place: the header is written in the bytes
 * just before it (which must be free: at least 14 of them in the same ArrayBuffer) and the
 * payload is masked. Returns the frame, a view over the header and the payload.
 */
export function frameInPlace(payload: Buffer, binary: boolean): Buffer {
  const length = payload.length;
  const header = headerBytes(length);
  if (payload.byteOffset < header) throw new RangeError('no room for the frame header before the payload');
  const frame = Buffer.from(payload.buffer, payload.byteOffset - header, header + length);
  frame[0] = FIN | (binary ? OPCODE_BINARY : OPCODE_TEXT);
  let at = 2;
  if (length < 126) frame[1] = MASKED | length;
  else if (length < 0x10000) {
    frame[1] = MASKED | 126;
    frame.writeUInt16BE(length, 2);
    at = 4;
  } else {
    frame[1] = MASKED | 127;
    frame.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
    at = 10;
  }
  const key = maskingKey();
  frame[at] = key[0]!;
  frame[at + 1] = key[1]!;
  frame[at + 2] = key[2]!;
  frame[at + 3] = key[3]!;
  bufferUtil.mask(payload, key, payload, 0, length);
  return frame;
}
