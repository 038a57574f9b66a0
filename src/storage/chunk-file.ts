// The on-disk form of one sealed chunk: a fixed header, the chunk's sources table as JSON and
// the arena bytes exactly as the workers read them. A CRC-32 over everything after the header
// and the body length in the header detect a file torn by a power cut or a crash mid-write:
//
//   offset 0   4 bytes  magic "WSRC"
//   offset 4   u8       format version (1)
//   offset 5   3 bytes  reserved (0)
//   offset 8   u32      CRC-32 of bytes [16, end)
//   offset 12  u32      body length: file length - 16
//   offset 16  u32      sources JSON length
//   offset 20  u32      records in the chunk
//   offset 24  u32      payload length (the arena's used bytes)
//   offset 28  u32      reserved (0)
//   offset 32           sources JSON (UTF-8), then the payload
//
// Little-endian. The payload is written straight from the arena (no copy into a file buffer).
import { crc32 } from 'node:zlib';
import type { ChunkSource } from '../chunk/layout.js';

const MAGIC = 0x43525357; // "WSRC" read as a little-endian u32
const VERSION = 1;
export const CHUNK_FILE_HEADER_BYTES = 32;
const CHECKED_FROM = 16;

/** What a chunk file holds besides its payload. */
export interface ChunkMeta {
  readonly id: number;
  readonly records: number;
  readonly byteLength: number;
  readonly sources: ChunkSource[];
}

/** Why a file was not accepted as a chunk: shown in the log next to the quarantined name. */
export class CorruptChunk extends Error {}

/** The header and sources bytes; the payload is written after them from the arena itself. */
export function encodeChunkHead(meta: ChunkMeta, payload: Uint8Array): Buffer {
  const sources = Buffer.from(JSON.stringify(meta.sources), 'utf8');
  const head = Buffer.alloc(CHUNK_FILE_HEADER_BYTES + sources.length);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt8(VERSION, 4);
  head.writeUInt32LE(head.length - CHECKED_FROM + payload.length, 12);
  head.writeUInt32LE(sources.length, 16);
  head.writeUInt32LE(meta.records, 20);
  head.writeUInt32LE(meta.byteLength, 24);
  sources.copy(head, CHUNK_FILE_HEADER_BYTES);
  const crc = crc32(payload, crc32(head.subarray(CHECKED_FROM)));
  head.writeUInt32LE(crc, 8);
  return head;
}

function isSource(value: unknown): value is ChunkSource {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return (
    typeof s['input'] === 'string' &&
    typeof s['tag'] === 'string' &&
    typeof s['peer'] === 'string' &&
    typeof s['separator'] === 'string'
  );
}

/**
 * Checks a whole file and returns its metadata and where the payload starts. Throws CorruptChunk
 * for anything but a complete, intact file of this format.
 */
export function decodeChunkFile(id: number, file: Buffer): { meta: ChunkMeta; payloadAt: number } {
  if (file.length < CHUNK_FILE_HEADER_BYTES) throw new CorruptChunk(`${file.length} bytes, shorter than a header`);
  if (file.readUInt32LE(0) !== MAGIC) throw new CorruptChunk('not a wsrelay chunk file (bad magic)');
  if (file.readUInt8(4) !== VERSION) throw new CorruptChunk(`unknown format version ${file.readUInt8(4)}`);
  if (file.readUIntLE(5, 3) !== 0) throw new CorruptChunk('damaged header (reserved bytes set)');
  const bodyLength = file.readUInt32LE(12);
  if (bodyLength !== file.length - CHECKED_FROM) {
    throw new CorruptChunk(`torn: ${file.length - CHECKED_FROM} of ${bodyLength} bytes written`);
  }
  if (crc32(file.subarray(CHECKED_FROM)) !== file.readUInt32LE(8)) throw new CorruptChunk('checksum mismatch');
  const sourcesLength = file.readUInt32LE(16);
  const byteLength = file.readUInt32LE(24);
  const payloadAt = CHUNK_FILE_HEADER_BYTES + sourcesLength;
  if (payloadAt + byteLength !== file.length) throw new CorruptChunk('lengths do not add up');
  let sources: unknown;
  try {
    sources = JSON.parse(file.toString('utf8', CHUNK_FILE_HEADER_BYTES, payloadAt));
  } catch {
    throw new CorruptChunk('unreadable sources table');
  }
  if (!Array.isArray(sources) || !sources.every(isSource)) throw new CorruptChunk('invalid sources table');
  return { meta: { id, records: file.readUInt32LE(20), byteLength, sources }, payloadAt };
}

/** `000000000042.chunk`: names sort in id order. */
export function chunkFileName(id: number): string {
  return `${String(id).padStart(12, '0')}.chunk`;
}

/** The id of a chunk file name, or null for any other file. */
export function chunkIdOf(name: string): number | null {
  const match = /^(\d{1,15})\.chunk$/.exec(name);
  return match ? Number(match[1]) : null;
}
