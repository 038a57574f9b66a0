// Reading the project's markdown for the docs tests: which files, their fenced code blocks,
// their links and the anchors their headings make (GitHub's rules).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** README.md, docs/*.md and examples/README.md, as paths relative to the repository. */
export function docFiles(): string[] {
  const docs = readdirSync(join(repoRoot, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs, 'examples/README.md'];
}

export function readDoc(path: string): string {
  return readFileSync(join(repoRoot, path), 'utf8');
}

export interface FencedBlock {
  /** The info string after the fence (`sh`, `ini`, ''), lowercased. */
  readonly info: string;
  readonly body: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The text of an HTML comment on the line before the fence (`expect-error: ...`), or null. */
  readonly marker: string | null;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;

export function fencedBlocks(text: string): FencedBlock[] {
  const lines = text.split('\n');
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (open === null) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = FENCE.exec(lines[j] ?? '');
      if (close !== null && close[1]![0] === fence[0] && close[1]!.length >= fence.length && close[2] === '') break;
      body.push(lines[j] ?? '');
    }
    const before = /^\s*<!--\s*(.*?)\s*-->\s*$/.exec(lines[i - 1] ?? '');
    blocks.push({ info: open[2]!.toLowerCase(), body: body.join('\n'), line: i + 1, marker: before?.[1] ?? null });
    i = j;
  }
  return blocks;
}

/** Lines outside fenced code blocks (fenced lines become ''), so line numbers stay right. */
export function proseLines(text: string): string[] {
  const lines = text.split('\n');
  let fence: string | null = null;
  return lines.map((line) => {
    const m = FENCE.exec(line);
    if (fence === null && m !== null) {
      fence = m[1]!;
      return '';
    }
    if (fence !== null) {
      if (m !== null && m[1]![0] === fence[0] && m[1]!.length >= fence.length && m[2] === '') fence = null;
      return '';
    }
    return line;
  });
}

export interface Link {
  readonly target: string;
  readonly line: number;
}

/** Inline links and images `[text](target)`, outside code blocks and code spans. */
export function links(text: string): Link[] {
  const found: Link[] = [];
  proseLines(text).forEach((raw, index) => {
    const line = raw.replace(/(`+)[^`]*?\1/g, '');
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      found.push({ target: m[1]!, line: index + 1 });
    }
  });
  return found;
}

/** GitHub's anchor for a heading text: lowercase, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link in a heading: its text
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Every anchor a file offers: its headings' slugs (duplicates numbered) and explicit ids. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of proseLines(text)) {
    const h = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h !== null) {
      const base = slug(h[1]!);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      result.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) result.add(m[1]!);
  }
  return result;
}
