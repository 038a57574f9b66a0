// Entry point for `-c FILE`: the format is chosen by extension, as Fluent Bit does (`.yaml` and
// `.yml` are YAML, anything else is the classic format, whatever its name).
import { extname } from 'node:path';
import { parseClassicConfig } from './classic.js';
import { parseYamlConfig } from './yaml.js';
import type { RawPipeline } from './raw.js';

/**
 * Reads a configuration file and its includes into an unvalidated pipeline; pass the result
 * to resolvePipeline. Throws ConfigError for a missing/unreadable file (naming it) and for any
 * syntax error (with file:line).
 */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): RawPipeline {
  const ext = extname(path).toLowerCase();
  return ext === '.yaml' || ext === '.yml' ? parseYamlConfig(path, env) : parseClassicConfig(path, env);
}
