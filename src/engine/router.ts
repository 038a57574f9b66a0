// Routes records by tag to every output whose Match (with `*` wildcards) or Match_Regex
// accepts it, as Fluent Bit does. Decisions are cached per tag: tags are few, records many; but
// tags come from senders (forward tags, http paths, tag_key), so the cache is bounded.
import { BoundedCache } from '../bounded-cache.js';

/** Tags whose routes are remembered; past it the cache starts over. */
export const ROUTE_CACHE_TAGS = 4096;

export interface Routable {
  readonly match: string | null;
  readonly matchRegex: string | null;
}

function escapeRegex(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** Fluent Bit's Match: `*` matches any run of characters; everything else is literal. */
export function matchPattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`);
}

export class Router<T extends Routable> {
  private readonly cache = new BoundedCache<T[]>(ROUTE_CACHE_TAGS);
  private readonly matchers: Array<{ target: T; test: (tag: string) => boolean }>;

  constructor(targets: ReadonlyArray<T>) {
    this.matchers = targets.map((target) => {
      const pattern = target.match !== null ? matchPattern(target.match) : null;
      const regex = target.matchRegex !== null ? new RegExp(target.matchRegex) : null;
      return {
        target,
        test: (tag: string) => (pattern?.test(tag) ?? false) || (regex?.test(tag) ?? false),
      };
    });
  }

  route(tag: string): T[] {
    let targets = this.cache.get(tag);
    if (!targets) {
      targets = this.matchers.filter((m) => m.test(tag)).map((m) => m.target);
      this.cache.set(tag, targets);
    }
    return targets;
  }

  /** Tags cached now, and the characters they hold (for the test of the bound). */
  get cached(): { tags: number; chars: number } {
    return { tags: this.cache.size, chars: this.cache.heldKeyChars };
  }
}
