/** TinyMCE's caret containers hold zero-width no-break spaces that are not text: offsets and deltas step over them. */
import { describe, expect, it } from 'vitest';
import { rawDelta, toClean, toRaw } from '../../extension/lib/page/adapters/tinymce';
import { applyDelta } from '../../shared/text/delta';

const Z = '\ufeff';

describe('TinyMCE offsets around caret containers', () => {
  const raw = `ab${Z}cd${Z}${Z}e`;
  const clean = raw.replaceAll(Z, '');

  it('maps offsets both ways', () => {
    for (let i = 0; i <= clean.length; i++) expect(toClean(raw, toRaw(raw, i))).toBe(i);
    expect(toRaw(raw, 2)).toBe(3); // "c" comes after the first ZWNBSP
    expect(toClean(raw, raw.length)).toBe(clean.length);
  });

  it('applies a text delta to the raw text as it applies to the clean one, keeping every ZWNBSP', () => {
    const deltas = [[{ retain: 1 }, { delete: 3 }, { insert: 'XY' }], [{ retain: 4 }, { insert: '!' }], [{ delete: 5 }], [{ retain: 2, attributes: { bold: true } }, { retain: 1 }, { insert: 'q' }]];
    for (const delta of deltas) {
      const after = applyDelta(raw, rawDelta(delta, raw));
      expect(after.replaceAll(Z, '')).toBe(applyDelta(clean, delta));
      expect([...after].filter((c) => c === Z)).toHaveLength(3);
    }
  });
});
