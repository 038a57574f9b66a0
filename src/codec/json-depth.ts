// How deep does a JSON text nest? JSON.parse in V8 is iterative and takes any depth, but
// JSON.stringify and the encoders are recursive: an HTTP body of 100,000 nested objects (600 KB,
// well under buffer_max_size) parsed fine and then overflowed the stack when the record was
// written, outside any try — the relay crashed. Bodies are now refused before parsing when they
// nest deeper than the JSON lines path accepts (json-scan's MAX_DEPTH).
import { MAX_DEPTH } from './json-scan.js';

export { MAX_DEPTH as MAX_JSON_DEPTH };

const QUOTE = 0x22, BACKSLASH = 0x5c;

/**
 * True when brackets outside strings nest deeper than `max` anywhere in `text` (several values,
 * as in NDJSON, are fine: depth is tracked across the whole text). Invalid JSON may pass; the
 * parser that follows reports it.
 */
export function nestsDeeperThan(text: string, max: number = MAX_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) { // { [
      if (++depth > max) return true;
    } else if ((c === 0x7d || c === 0x5d) && depth > 0) { // } ]
      depth--;
    }
  }
  return false;
}
