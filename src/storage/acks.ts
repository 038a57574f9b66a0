// Inputs that acknowledge (http 2xx, forward `ack`) call this after appending: with
// `storage.type filesystem` the acknowledgement waits until the records are in chunk files.
import type { SegmentSink } from '../engine/plugins.js';
import type { StorageType } from './config.js';

/** Null when the acknowledgement may go at once (memory storage, or no output stores these tags). */
export function storedBeforeAck(
  storageType: StorageType,
  sink: SegmentSink,
  tags: Iterable<string>,
): Promise<void> | null {
  if (storageType !== 'filesystem') return null;
  let waits: Array<Promise<void>> | null = null;
  for (const tag of tags) {
    const stored = sink.stored(tag);
    if (stored !== null) (waits ??= []).push(stored);
  }
  if (waits === null) return null;
  return waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
}
