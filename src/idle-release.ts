// Giving a burst's memory back once it is over.
//
// Chunk arenas and message buffers live outside V8's heap and are freed only when the garbage
// collector finds their small JS owners dead, which takes a full collection: they were old by
// then. A relay that has gone quiet allocates nothing, so V8 never runs one, and RSS would stay
// at its peak after a burst until some later collection. So the arena pool (main thread) and
// each worker, once quiet for a few seconds after work, drop the buffers they keep for reuse
// and run one full collection of their own heap, and RSS returns to about idle
// (docs/PERFORMANCE.md, "Memory").
//
// Node offers gc() only with --expose-gc on the command line, which a relay started as
// `wsrelay ...` or `node dist/src/cli.js` does not get; the flag set at run time is honoured
// by contexts created afterwards, so one new vm context lends its gc function to the thread.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collector: (() => void) | null | undefined;

/** One full collection of this thread's heap; false where V8 offers none (nothing done). */
export function collectGarbage(): boolean {
  if (collector === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('gc');
      collector = typeof gc === 'function' ? (gc as () => void) : null;
    } catch {
      collector = null;
    }
  }
  if (collector === null) return false;
  collector();
  return true;
}
