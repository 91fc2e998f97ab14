/** Markdown and HTML export of formatted text, and Markdown import, without a server. */
import { describe, expect, it } from 'vitest';
import { fromMarkdown, toHtml, toMarkdown } from '../../server/history/formats';
import type { RichRun } from '../../server/history/version-work';
import { seededRandom } from '../helpers/random';

const MARKS = ['bold', 'italic', 'strike', 'underline', 'code'] as const;

describe('history formats', () => {
  it('writes marks as Markdown and reads them back', () => {
    const runs: RichRun[] = [
      { insert: 'plain ' },
      { insert: 'bold', attributes: { bold: true } },
      { insert: ' and ', attributes: { bold: true, italic: true } },
      { insert: 'under', attributes: { underline: true } },
      { insert: ' x*y_z ' },
      { insert: 'a`b', attributes: { code: true } },
      { insert: '\n# not a heading ' },
      { insert: 'link (1)', attributes: { link: 'https://example.com/p?q=(1)&r=%20' } },
    ];
    const markdown = toMarkdown(runs);
    expect(markdown).toBe('plain **bold _and_** <u>under</u> x\\*y\\_z `` a`b ``\n\\# not a heading [link (1)](https://example.com/p?q=%281%29&r=%2520)');
    expect(fromMarkdown(markdown)).toEqual(merge(withSpacesOutside(runs)));
  });

  it('keeps spaces out of emphasis, so strict Markdown readers see it', () => {
    expect(toMarkdown([{ insert: 'bold ', attributes: { bold: true } }, { insert: 'next' }])).toBe('**bold** next');
  });

  it('reads ordinary Markdown emphasis and leaves unmatched delimiters as text', () => {
    expect(fromMarkdown('*it* __bold__ 2 * 3 a_b ~~gone~~ [x](https://e.com) [no link]')).toEqual([
      { insert: 'it', attributes: { italic: true } },
      { insert: ' ' },
      { insert: 'bold', attributes: { bold: true } },
      { insert: ' 2 * 3 a_b ' },
      { insert: 'gone', attributes: { strike: true } },
      { insert: ' ' },
      { insert: 'x', attributes: { link: 'https://e.com' } },
      { insert: ' [no link]' },
    ]);
  });

  it('round-trips random formatted text through Markdown (seeded)', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const random = seededRandom(seed);
      const runs: RichRun[] = [];
      for (let i = 0; i < 12; i++) {
        const words = ['alpha', 'b*c', 'd_e', '[f]', 'g`h', '~i~', 'j\\k', '<l>', '1.', '#'];
        const insert = `${words[Math.floor(random() * words.length)]}${random() < 0.3 ? '\n' : ''}`;
        const attributes: Record<string, unknown> = {};
        for (const mark of MARKS) if (random() < 0.25) attributes[mark] = true;
        if (attributes.code) for (const m of ['bold', 'italic', 'strike', 'underline']) delete attributes[m];
        if (random() < 0.15) attributes.link = `https://example.com/${i}`;
        runs.push(Object.keys(attributes).length ? { insert, attributes } : { insert });
      }
      const back = fromMarkdown(toMarkdown(runs));
      expect(back.map((r) => r.insert).join(''), `seed ${seed}`).toBe(runs.map((r) => r.insert).join(''));
      // Every character but the spaces where an emphasis starts or ends keeps its marks.
      expect(marksPerCharacter(back), `seed ${seed}`).toEqual(marksPerCharacter(runs));
      expect(fromMarkdown(toMarkdown(back)), `seed ${seed}`).toEqual(back);
    }
  });

  it('writes HTML with escaped text, only the marks’ tags, and only safe links', () => {
    const html = toHtml([
      { insert: '<script>alert(1)</script>', attributes: { bold: true } },
      { insert: '\n' },
      { insert: 'x', attributes: { link: 'javascript:alert(1)' } },
      { insert: 'y', attributes: { link: 'https://e.com/"onmouseover=' } },
    ]);
    expect(html).toBe('<p><strong>&#60;script&#62;alert(1)&#60;/script&#62;</strong></p>\n<p>x<a href="https://e.com/&#34;onmouseover=" rel="noopener noreferrer nofollow">y</a></p>');
  });
});

/** The marks of each non-space character. */
function marksPerCharacter(runs: readonly RichRun[]): string[] {
  return runs.flatMap((r) => [...r.insert].filter((c) => !/\s/.test(c)).map((c) => `${c}:${JSON.stringify(Object.entries(r.attributes ?? {}).sort())}`));
}

/** What the writer does to spaces at the edges of an emphasis (see `splitSpaces`). */
function withSpacesOutside(runs: readonly RichRun[]): RichRun[] {
  return [
    { insert: 'plain ' },
    { insert: 'bold', attributes: { bold: true } },
    { insert: ' ', attributes: { bold: true } },
    { insert: 'and', attributes: { bold: true, italic: true } },
    { insert: ' ' },
    ...runs.slice(3),
  ];
}

/** Runs as the reader gives them: neighbours with the same marks merged, empty ones dropped. */
function merge(runs: readonly RichRun[]): RichRun[] {
  const out: RichRun[] = [];
  for (const run of runs) {
    if (run.insert === '') continue;
    const last = out.at(-1);
    if (last && JSON.stringify(last.attributes ?? {}) === JSON.stringify(run.attributes ?? {})) last.insert += run.insert;
    else out.push({ ...run });
  }
  return out;
}
