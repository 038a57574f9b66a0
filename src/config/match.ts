// What every output shares when it is resolved: the Match rule, including Fluent Bit's
// implicit `*` when there is exactly one input and one output.
import { formatLocation } from './errors.js';
import type { InputConfig } from './types.js';
import type { RawSection, SourceLocation } from './raw.js';

export interface OutputContext {
  readonly names: Map<string, SourceLocation>;
  readonly warnings: string[];
  /** Exactly one input and one output: a missing Match means `*` (Fluent Bit). */
  readonly single: boolean;
  readonly inputs: readonly InputConfig[];
}

export function resolveMatch(
  match: string | null,
  matchRegex: string | null,
  section: RawSection,
  label: string,
  ctx: OutputContext,
): string | null {
  if (match !== null || matchRegex !== null) return match;
  if (ctx.single) return '*';
  ctx.warnings.push(
    `${formatLocation(section.at)}: [${label}] has neither match nor match_regex: it will receive no records`,
  );
  return null;
}
