// One output's directory of chunk files under storage.path: writes (one at a time, in id
// order, fsync-ed with storage.sync full), reads back, deletes after a flush, and the scan at
// start that finds the backlog and moves torn or corrupt files aside as `<name>.corrupt`.
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync } from 'node:fs';
import { open, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageSync } from './config.js';
import type { Logger } from '../log.js';
import {
  chunkFileName,
  chunkIdOf,
  CorruptChunk,
  decodeChunkFile,
  encodeChunkHead,
  type ChunkMeta,
} from './chunk-file.js';

/** A chunk found on disk at start, its payload loaded only while memory allows (max_chunks_up). */
export interface BacklogChunk {
  readonly meta: ChunkMeta;
  readonly fileBytes: number;
  readonly payload: Buffer | null;
}

/** Instance names may contain characters a directory name should not. */
export function storageDirName(outputName: string): string {
  return outputName.replace(/[^A-Za-z0-9._-]/g, '_');
}

export class ChunkStore {
  /** Bytes of the chunk files this store has (written, and found at start, not yet deleted). */
  bytesOnDisk = 0;
  /** Files quarantined as corrupt at start or when read back. */
  corrupt = 0;
  private readonly sizes = new Map<number, number>();
  /** Writes are chained: a chunk is on disk only after every chunk sealed before it. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly sync: StorageSync,
    private readonly log: Logger,
  ) {}

  get files(): number {
    return this.sizes.size;
  }

  /**
   * Creates the directory and returns the chunks left by an earlier run, oldest first, with the
   * first `keepUp` payloads loaded. A bad file is moved aside and reported; it stops nothing.
   */
  openBacklog(keepUp: number, keepUpBytes = Number.POSITIVE_INFINITY): { chunks: BacklogChunk[]; highestId: number } {
    let names: string[];
    try {
      mkdirSync(this.dir, { recursive: true });
      names = readdirSync(this.dir);
    } catch (error) {
      throw new Error(`storage.path: cannot use ${this.dir} for chunk files: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const ids: number[] = [];
    let highestId = 0;
    for (const name of names) {
      const id = chunkIdOf(name);
      if (id !== null) ids.push(id);
      // Quarantined files keep their number: new chunk ids must not reuse it.
      const aside = /^(\d{1,15})\.chunk\.corrupt$/.exec(name);
      highestId = Math.max(highestId, id ?? (aside ? Number(aside[1]) : 0));
    }
    ids.sort((a, b) => a - b);
    const chunks: BacklogChunk[] = [];
    // storage.backlog.mem_limit: payloads are kept while they fit (the first one always, so a
    // chunk larger than the limit still gets sent); once one does not, the rest stay on disk.
    let upBytes = 0;
    let up = true;
    for (const id of ids) {
      const file = this.readVerified(id);
      if (file === null) continue;
      this.sizes.set(id, file.bytes.length);
      this.bytesOnDisk += file.bytes.length;
      const size = file.bytes.length - file.payloadAt;
      up &&= chunks.length < keepUp && (chunks.length === 0 || upBytes + size <= keepUpBytes);
      if (up) upBytes += size;
      const payload = up ? file.bytes.subarray(file.payloadAt) : null;
      chunks.push({ meta: file.meta, fileBytes: file.bytes.length, payload });
    }
    return { chunks, highestId };
  }

  /** Writes one chunk file; resolves once it is written (and fsync-ed with storage.sync full). */
  write(meta: ChunkMeta, arena: ArrayBufferLike): Promise<void> {
    const payload = Buffer.from(arena, 0, meta.byteLength);
    const written = this.chain.then(() => this.writeFile(meta, payload));
    this.chain = written.catch(() => undefined);
    return written;
  }

  /** The payload of a chunk kept on disk only (down), checked again. Null when it went bad. */
  readPayload(id: number): Buffer | null {
    const file = this.readVerified(id);
    return file === null ? null : file.bytes.subarray(file.payloadAt);
  }

  /** The chunk was flushed (or given up): its file goes. */
  remove(id: number): void {
    const size = this.sizes.get(id);
    if (size === undefined) return;
    this.sizes.delete(id);
    this.bytesOnDisk -= size;
    unlink(join(this.dir, chunkFileName(id))).catch((error: unknown) => {
      this.log.error(`cannot delete chunk file ${chunkFileName(id)}: ${(error as Error).message}`);
    });
  }

  /** Writes and deletes a small file: is there room again after a write failed? */
  async probe(bytes: number): Promise<void> {
    const path = join(this.dir, '.probe');
    try {
      const handle = await open(path, 'w');
      try {
        await handle.write(Buffer.alloc(bytes));
        if (this.sync === 'full') await handle.sync();
      } finally {
        await handle.close();
      }
    } finally {
      await rm(path, { force: true });
    }
  }

  private async writeFile(meta: ChunkMeta, payload: Buffer): Promise<void> {
    const head = encodeChunkHead(meta, payload);
    const path = join(this.dir, chunkFileName(meta.id));
    const handle = await open(path, 'w');
    try {
      await handle.writev([head, payload]);
      if (this.sync === 'full') await handle.sync();
    } catch (error) {
      // A partial file would only be quarantined at the next start: remove it now.
      await handle.close().catch(() => undefined);
      await rm(path, { force: true }).catch(() => undefined);
      throw error;
    }
    await handle.close();
    // A new file's name is in its directory: fsync that too, or a power cut can lose the file.
    if (this.sync === 'full') await syncDirectory(this.dir);
    const size = head.length + payload.length;
    this.sizes.set(meta.id, size);
    this.bytesOnDisk += size;
  }

  private readVerified(id: number): { meta: ChunkMeta; bytes: Buffer; payloadAt: number } | null {
    const name = chunkFileName(id);
    const path = join(this.dir, name);
    try {
      const bytes = readFileSync(path);
      const { meta, payloadAt } = decodeChunkFile(id, bytes);
      return { meta, bytes, payloadAt };
    } catch (error) {
      if (!(error instanceof CorruptChunk)) {
        this.log.error(`cannot read chunk file ${path}: ${(error as Error).message}`);
        return null;
      }
      this.quarantine(id, path, error.message);
      return null;
    }
  }

  private quarantine(id: number, path: string, why: string): void {
    this.corrupt++;
    const size = this.sizes.get(id);
    if (size !== undefined) {
      this.sizes.delete(id);
      this.bytesOnDisk -= size;
    }
    try {
      renameSync(path, `${path}.corrupt`);
      this.log.error(
        `chunk file ${path} is corrupt (${why}): moved aside as ${path}.corrupt, ` +
          `${statSync(`${path}.corrupt`).size} bytes not replayed`,
      );
    } catch (error) {
      this.log.error(
        `chunk file ${path} is corrupt (${why}) and could not be moved aside: ${(error as Error).message}`,
      );
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
