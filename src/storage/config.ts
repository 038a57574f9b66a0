// The filesystem-buffering keys, in Fluent Bit's spelling: `storage.path`, `storage.sync` and
// `storage.max_chunks_up` in [SERVICE]; `storage.type` on an input; `storage.total_limit_size`
// (and our `storage.total_limit_policy`) on a websocket output. Spread into the plugin schemas
// like the TLS keys, so --help and the README tables list them with the others.
import { ConfigError } from '../config/errors.js';
import { int, oneOf, prop, positive } from '../config/schema-kit.js';
import { lastAt } from '../config/sections.js';
import { parseSize } from '../config/values.js';
import type { RawSection } from '../config/raw.js';

export type StorageType = 'memory' | 'filesystem';
export type StorageSync = 'normal' | 'full';
/** What a websocket output does when its chunk files reach storage.total_limit_size. */
export type StorageLimitPolicy = 'pause' | 'drop_oldest';

export const SERVICE_STORAGE_KEYS = {
  'storage.sync': prop(
    oneOf<StorageSync>(['normal', 'full']),
    'normal' as StorageSync,
    'normal: chunk files are written before records are acknowledged; full: also fsync-ed',
  ),
  'storage.max_chunks_up': prop(
    int(1, 1_000_000),
    128,
    'Chunks of a filesystem-buffered output kept in memory; the rest wait on disk',
  ),
} as const;

export const INPUT_STORAGE_KEYS = {
  'storage.type': prop(
    oneOf<StorageType>(['memory', 'filesystem']),
    'memory' as StorageType,
    'filesystem: records are written under storage.path before they are acknowledged',
  ),
} as const;

export const OUTPUT_STORAGE_KEYS = {
  'storage.total_limit_size': prop<number | null>(
    positive(parseSize),
    null,
    'Most bytes of chunk files this output keeps under storage.path (size)',
  ),
  'storage.total_limit_policy': prop(
    oneOf<StorageLimitPolicy>(['pause', 'drop_oldest']),
    'pause' as StorageLimitPolicy,
    'At storage.total_limit_size: pause the inputs, or drop the oldest chunks (counted)',
  ),
} as const;

/** A filesystem input needs somewhere to write: refuse to start rather than keep it in memory. */
export function checkStoragePath(
  storagePath: string | null,
  sections: readonly RawSection[],
  inputs: ReadonlyArray<{ readonly name: string; readonly storageType: StorageType }>,
): void {
  if (storagePath !== null) return;
  inputs.forEach((input, i) => {
    if (input.storageType !== 'filesystem') return;
    const section = sections[i]!;
    throw new ConfigError(
      'WSR_CONFIG_MISSING',
      `property 'storage.type': filesystem needs storage.path in [SERVICE] (input ${input.name})`,
      { at: lastAt(section, 'storage.type') ?? section.at, key: 'storage.type', section: `INPUT ${input.name}` },
    );
  });
}
