// The files a configuration is made of: the -c file and what its @INCLUDE lines (classic) or
// `includes:` entries (YAML) name, globs included. Loading a configuration must always end,
// quickly, with a pipeline or a ConfigError, whatever the paths point at, so:
//  - only regular files are read. The file is opened first (non-blocking, so that opening a
//    FIFO does not wait for a writer) and the open descriptor is fstat-ed: no window between a
//    check and the read. A FIFO would block forever, /dev/zero never ends, /dev/stdin waits;
//  - each file is read up to a size limit, and all of them together up to another;
//  - includes nest at most CONFIG_LIMITS.includeDepth deep and name at most
//    CONFIG_LIMITS.files files in all; a file that includes itself (directly or not, by any
//    path or hard link: files are known by device and inode) is a cycle.
// Every refusal is a ConfigError at the @INCLUDE line (or naming the main file) saying what was
// expected.
import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ConfigError, excerpt, type ConfigErrorCode } from './errors.js';
import type { SourceLocation } from './raw.js';

const KIB = 1024;
const MIB = 1024 * KIB;

/** Every bound on loading a configuration, in one place (docs/SECURITY.md, "Config files", gives the reasons). */
export const CONFIG_LIMITS = {
  /** One classic-format file. Real ones are a few KB; the parser is linear in the bytes. */
  classicFileBytes: 16 * MIB,
  /**
   * One YAML file. The yaml package builds hundreds of bytes of objects per byte of input: a
   * file as large as a classic one would need gigabytes of heap.
   */
  yamlFileBytes: 1 * MIB,
  /** All the files of one configuration together (else 1000 files × 16 MB). */
  totalBytes: 64 * MIB,
  /** All the YAML files of one configuration together. */
  yamlTotalBytes: 4 * MIB,
  /** Levels of includes below the main file. */
  includeDepth: 16,
  /** Files read for one configuration, the main file included (a diamond counts each time). */
  files: 1000,
  /** An include path or glob (PATH_MAX on Linux). */
  pathLength: 4096,
  /** One property value after ${VAR} expansion. */
  valueBytes: 1 * MIB,
  /** All property values of one configuration together, after expansion. */
  expandedBytes: 64 * MIB,
  /** `[` and `{` nested in a YAML file (the yaml package's memory grows with every level). */
  yamlFlowDepth: 64,
  /** YAML nodes reached through aliases (`*name`), summed over every use: billion laughs. */
  yamlAliasNodes: 100_000,
} as const;

export type ConfigFormat = 'classic' | 'yaml';

/** A size as the limits above are written: `16 MiB`. */
export function showBytes(n: number): string {
  return n % MIB === 0 ? `${n / MIB} MiB` : n % KIB === 0 ? `${n / KIB} KiB` : `${n} bytes`;
}

export function limitError(detail: string, at: SourceLocation | null, key: string | null = null): ConfigError {
  return new ConfigError('WSR_CONFIG_LIMIT', detail, { at, key });
}

function cannotRead(
  file: string,
  from: SourceLocation | null,
  why: string,
  code: ConfigErrorCode = 'WSR_CONFIG_MISSING',
): ConfigError {
  const what = from === null ? `cannot read config file '${file}'` : `cannot read included file '${file}'`;
  return new ConfigError(code, `${what}: ${why}`, { at: from });
}

function openFailure(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENXIO':
      return 'it is a socket or a device, not a regular file';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    default:
      return e.message ?? String(error);
  }
}

function notRegular(stats: Stats): string {
  if (stats.isDirectory()) return 'it is a directory';
  const kind = stats.isFIFO()
    ? 'a FIFO (named pipe)'
    : stats.isCharacterDevice()
      ? 'a character device'
      : stats.isBlockDevice()
        ? 'a block device'
        : stats.isSocket()
          ? 'a socket'
          : 'not a plain file';
  return `it is ${kind}, not a regular file`;
}

/** O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

export interface ReadFile {
  readonly text: string;
  readonly bytes: number;
  /** Device and inode: the same file whatever path or link reached it. */
  readonly id: string;
}

/** Why a file was not read: not there, not a regular file, or over its limit. */
export class UnreadableFile extends Error {
  constructor(
    readonly why: string,
    readonly overLimit: boolean,
  ) {
    super(why);
  }
}

/**
 * Reads a regular file of at most `limit` bytes (config files, and the certificates, keys and
 * CAs they name): opened without blocking, then fstat-ed — a FIFO would wait for a writer
 * forever and /dev/zero never ends. Throws UnreadableFile saying why not.
 */
export function readRegularFile(file: string, limit: number, what = 'a config file'): ReadFile {
  let fd: number;
  try {
    fd = openSync(file, OPEN_FLAGS);
  } catch (error) {
    throw new UnreadableFile(openFailure(error), false);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new UnreadableFile(notRegular(stats), false);
    const tooLarge = (): UnreadableFile =>
      new UnreadableFile(`it is larger than the limit of ${showBytes(limit)} for ${what}`, true);
    if (stats.size > limit) throw tooLarge();
    // The size is a hint (a /proc file says 0, a file may grow): read until the end, and stop
    // one byte past the limit.
    let buffer = Buffer.allocUnsafe(Math.min(limit + 1, stats.size + 64 * KIB));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > limit) throw tooLarge();
        const bigger = Buffer.allocUnsafe(Math.min(limit + 1, buffer.length * 2));
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      let n: number;
      try {
        n = readSync(fd, buffer, length, buffer.length - length, null);
      } catch (error) {
        throw new UnreadableFile(openFailure(error), false);
      }
      if (n === 0) break;
      length += n;
    }
    if (length > limit) throw tooLarge();
    const text = buffer.toString('utf8', 0, length);
    return {
      text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text,
      bytes: length,
      id: `${stats.dev}:${stats.ino}`,
    };
  } finally {
    closeSync(fd);
  }
}

/** Reads a regular config file of at most `limit` bytes, or throws the ConfigError saying why not. */
function readRegular(file: string, from: SourceLocation | null, limit: number): ReadFile {
  try {
    return readRegularFile(file, limit);
  } catch (error) {
    if (!(error instanceof UnreadableFile)) throw error;
    throw cannotRead(file, from, error.why, error.overLimit ? 'WSR_CONFIG_LIMIT' : 'WSR_CONFIG_MISSING');
  }
}

/**
 * The files of one configuration as they are read: one per configuration load. `read` keeps
 * the count and the bytes, and which files are open (the chain of includes) for the depth and
 * for cycles.
 */
export class ConfigFiles {
  private readonly open: Array<{ readonly id: string; readonly path: string }> = [];
  private files = 0;
  private bytes = 0;

  constructor(private readonly format: ConfigFormat) {}

  /**
   * Reads `file` and calls `body` with its text while the file counts as open (its includes
   * are read from `body`). `from` is the @INCLUDE / includes entry that names it, null for the
   * main file.
   */
  read(file: string, from: SourceLocation | null, body: (text: string) => void): void {
    if (this.open.length > CONFIG_LIMITS.includeDepth) {
      throw limitError(
        `includes nested more than ${CONFIG_LIMITS.includeDepth} levels deep: '${excerpt(file)}' is not read`,
        from,
      );
    }
    if (this.files >= CONFIG_LIMITS.files) {
      throw limitError(
        `more than ${CONFIG_LIMITS.files} files in one configuration: '${excerpt(file)}' is not read`,
        from,
      );
    }
    this.files++;
    const yaml = this.format === 'yaml';
    const { text, bytes, id } = readRegular(
      file,
      from,
      yaml ? CONFIG_LIMITS.yamlFileBytes : CONFIG_LIMITS.classicFileBytes,
    );
    const cycleAt = this.open.findIndex((f) => f.id === id);
    if (cycleAt >= 0) {
      const chain = [...this.open.slice(cycleAt).map((f) => f.path), file].join(' -> ');
      throw new ConfigError('WSR_CONFIG_USAGE', `include cycle: ${chain}`, { at: from });
    }
    this.bytes += bytes;
    const total = yaml ? CONFIG_LIMITS.yamlTotalBytes : CONFIG_LIMITS.totalBytes;
    if (this.bytes > total) {
      throw limitError(
        `the files of this configuration add up to more than ${showBytes(total)}: '${excerpt(file)}' is not read`,
        from,
      );
    }
    this.open.push({ id, path: file });
    try {
      body(text);
    } finally {
      this.open.pop();
    }
  }
}

/**
 * The files an include names, relative to the including file. `*` and `?` are allowed in the
 * last path component (`conf.d/*.conf`); matches are sorted so the order of instances (tcp.0,
 * tcp.1...) does not depend on the file system. Matching nothing is an error, as in Fluent Bit.
 * Only regular files match a glob; a plain path is checked when it is read.
 */
export function resolveInclude(pattern: string, from: SourceLocation): string[] {
  if (pattern.length > CONFIG_LIMITS.pathLength) {
    throw limitError(`include path longer than ${CONFIG_LIMITS.pathLength} characters: '${excerpt(pattern)}'`, from);
  }
  const path = isAbsolute(pattern) ? pattern : join(dirname(from.file), pattern);
  const last = basename(path);
  if (!last.includes('*') && !last.includes('?')) return [path];
  const dir = dirname(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    throw new ConfigError('WSR_CONFIG_MISSING', `include '${excerpt(pattern)}': no directory '${excerpt(dir)}'`, {
      at: from,
    });
  }
  const matching = names.filter((n) => globMatch(last, n));
  if (matching.length > CONFIG_LIMITS.files) {
    throw limitError(
      `include '${excerpt(pattern)}' matches ${matching.length} files, more than the ${CONFIG_LIMITS.files} a configuration may have`,
      from,
    );
  }
  const files = matching
    .sort()
    .map((n) => join(dir, n))
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false; // a dangling symbolic link, or a file removed since readdir
      }
    });
  if (files.length === 0) {
    throw new ConfigError('WSR_CONFIG_MISSING', `include '${excerpt(pattern)}' matches no file in '${excerpt(dir)}'`, {
      at: from,
    });
  }
  return files;
}

/**
 * `*` = any run of characters, `?` = one; like a shell, neither matches a leading dot. Linear
 * backtracking to the last `*` only (the classic wildcard match): O(pattern × name) at worst,
 * where a regular expression with many `.*` could take exponential time.
 */
export function globMatch(glob: string, name: string): boolean {
  if (name.startsWith('.') && !glob.startsWith('.')) return false;
  let g = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const c = glob[g];
    if (c === '*') {
      star = g++;
      resume = n;
    } else if (c !== undefined && (c === '?' || c === name[n])) {
      g++;
      n++;
    } else if (star >= 0) {
      g = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (glob[g] === '*') g++;
  return g === glob.length;
}
