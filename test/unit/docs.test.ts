/**
 * The documentation names real files: every repository path that docs/ARCHITECTURE.md, the
 * README and the benchmark page cite (in backticks or as links) exists, and none points
 * outside the repository.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const DOCS = ['docs/ARCHITECTURE.md', 'docs/OPERATIONS.md', 'README.md', 'bench-results/README.md'].filter((d) => existsSync(join(ROOT, d)));
/** Top-level folders of the repository: a cited path starting with one of them must exist. */
const TOP = new Set(
  readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
    .map((e) => e.name),
);

/** Build outputs (`extension/.output/…`, `dist/`) that git ignores: they exist only after a build. */
function ignoredByGit(path: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '-q', path], { cwd: ROOT });
    return true;
  } catch {
    return false; // exit status 1: not ignored (or no git here, where every path is checked)
  }
}

/** Repository paths a document cites: `code spans` and link targets that start with a top-level folder. */
function citedPaths(markdown: string): string[] {
  const candidates = [...markdown.matchAll(/`([^`\s]+)`/g), ...markdown.matchAll(/\]\(([^)\s#]+)/g)].map((m) => m[1]!);
  return [...new Set(candidates.map((c) => c.replace(/^\.\//, '').replace(/[),.;:]+$/, '')).filter((c) => TOP.has(c.split('/')[0]!) && c.includes('/')))];
}

describe('documentation', () => {
  it('docs/ARCHITECTURE.md exists and cites files', () => {
    expect(DOCS).toContain('docs/ARCHITECTURE.md');
    expect(citedPaths(readFileSync(join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8')).length).toBeGreaterThan(40);
  });

  it.each(DOCS)('%s cites only paths that exist in the repository', (doc) => {
    const missing = citedPaths(readFileSync(join(ROOT, doc), 'utf8')).filter((p) => {
      const plain = p.replace(/\*.*$/, ''); // `extension/entrypoints/*`: the folder must exist
      return !existsSync(join(ROOT, plain)) && !ignoredByGit(plain);
    });
    expect(missing).toEqual([]);
  });

  it.each(DOCS)('%s points at nothing outside the repository', (doc) => {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    expect(text.match(/\]\(\.\.\/[^)]*\)|`\.\.\/[^`]*`|\/work\/[\w/.-]+/g) ?? []).toEqual([]);
  });
});
