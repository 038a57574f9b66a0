// Every relative link in README.md, docs/*.md and examples/README.md resolves: the file exists,
// and an anchor (#section) is one that the target's headings (GitHub's slugs) or ids make.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { anchors, docFiles, links, readDoc, repoRoot, slug } from './support/markdown.js';

/** Broken links of one file: `file:line: target (why)`. */
function brokenLinks(file: string, text: string, read: (path: string) => string | null): string[] {
  const broken: string[] = [];
  for (const { target, line } of links(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    const hash = target.indexOf('#');
    const pathPart = hash < 0 ? target : target.slice(0, hash);
    const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
    const resolved = pathPart === '' ? file : normalize(join(dirname(file), decodeURIComponent(pathPart)));
    if (resolved.startsWith('..')) {
      broken.push(`${file}:${line}: ${target} (outside the repository)`);
      continue;
    }
    const content = resolved === file ? text : read(resolved);
    if (content === null) {
      broken.push(`${file}:${line}: ${target} (no file ${resolved})`);
      continue;
    }
    if (anchor !== null && !anchors(content).has(anchor)) {
      broken.push(`${file}:${line}: ${target} (no heading or id '${anchor}' in ${resolved})`);
    }
  }
  return broken;
}

function readRepo(path: string): string | null {
  const full = join(repoRoot, path);
  if (!existsSync(full)) return null;
  // A directory or a non-markdown file: it exists; only markdown offers anchors.
  return path.endsWith('.md') ? readDoc(path) : '';
}

test('GitHub heading slugs, as the anchors are computed', () => {
  assert.equal(slug('Input `tcp`'), 'input-tcp');
  assert.equal(slug('Output `websocket_server`'), 'output-websocket_server');
  assert.equal(slug('Inputs (`tcp`, `http`, `forward`)'), 'inputs-tcp-http-forward');
  assert.equal(slug('Results — 2026-12-02, later (quiet machine)'), 'results--2026-12-02-later-quiet-machine');
  assert.deepEqual([...anchors('# A\n## A\n```\n# not a heading\n```\n<a id="x"></a>')], ['a', 'a-1', 'x']);
});

test('the link checker finds a missing file and a missing anchor', () => {
  const text = '[a](docs/NOPE.md) [b](#nowhere) [c](#here) `[d](ignored.md)` [e](https://example.com/x)\n## Here\n';
  const read = (path: string): string | null => (path === 'docs/NOPE.md' ? null : '');
  const broken = brokenLinks('README.md', text, read);
  assert.equal(broken.length, 2, broken.join('\n'));
  assert.match(broken[0]!, /no file docs\/NOPE\.md/);
  assert.match(broken[1]!, /no heading or id 'nowhere'/);
});

for (const file of docFiles()) {
  test(`every relative link in ${file} resolves`, () => {
    const text = readDoc(file);
    const broken = brokenLinks(file, text, readRepo);
    assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
  });
}

test('no document links to the removed docs/LIMITS.md', () => {
  for (const file of docFiles()) {
    for (const { target, line } of links(readDoc(file))) {
      assert.ok(!/LIMITS\.md/.test(target), `${file}:${line}: ${target} (LIMITS.md is now part of docs/SECURITY.md)`);
    }
  }
  assert.equal(existsSync(join(repoRoot, 'docs/LIMITS.md')), false);
  assert.ok(relative(repoRoot, join(repoRoot, 'docs')) === 'docs');
});
