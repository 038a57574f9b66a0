// An HTTP request's target as a path and a query. Node's HTTP parser accepts targets that
// `new URL()` refuses (`http://[`, `http://:99999/`, `//[`, `http://%zz/`): read unguarded, one
// such request threw out of a request or upgrade handler and ended the relay. Every listener
// reads its targets here; null means a 400.
export interface RequestTarget {
  readonly path: string;
  readonly params: URLSearchParams;
}

export function requestTarget(url: string | undefined): RequestTarget | null {
  try {
    // The base only serves relative (origin-form) targets; absolute-form ones keep their own path.
    const parsed = new URL(url ?? '/', 'http://relay');
    return { path: parsed.pathname, params: parsed.searchParams };
  } catch {
    return null;
  }
}
