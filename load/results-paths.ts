// Where `make bench` writes its results: load/results/bench.json and bench.svg beside it by
// default (load/results/ is gitignored), or --json FILE and FILE's .svg.
import path from 'node:path';

export interface ResultPaths {
  readonly json: string;
  readonly svg: string;
}

/** `json`: the --json value, if given; `root`: the repository. Both paths absolute. */
export function resultPaths(json: string | undefined, root: string): ResultPaths {
  const file = path.resolve(json ?? path.join(root, 'load', 'results', 'bench.json'));
  return { json: file, svg: `${file.replace(/\.json$/, '')}.svg` };
}
