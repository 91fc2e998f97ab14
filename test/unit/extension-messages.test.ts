/** The background trusts nothing a content script sends: every message's shape is checked. */
import { describe, expect, it } from 'vitest';
import { parseFieldMessage } from '../../extension/lib/background/validate';

describe('messages from content scripts', () => {
  it('accepts what our content script sends', () => {
    expect(parseFieldMessage({ t: 'edit', key: 'k1', seen: 3, delta: [{ retain: 2 }, { insert: 'x' }, { delete: 1 }] })).not.toBeNull();
    expect(parseFieldMessage({ t: 'start', key: 'k', text: 'hi', locator: '{}', pageUrl: 'http://x/', title: 'T' })).not.toBeNull();
    expect(parseFieldMessage({ t: 'open-shared', docId: 'd', share: 'sh_x', mode: 'origin' })).not.toBeNull();
    expect(parseFieldMessage({ t: 'hello', origin: 'http://127.0.0.1:4000', path: '0/1' })).not.toBeNull();
    const formatted = [
      { retain: 2, attributes: { bold: true, italic: null } },
      { insert: 'x', attributes: { link: 'https://example.test/' } },
    ];
    expect(parseFieldMessage({ t: 'edit', key: 'k1', seen: 0, delta: formatted })).not.toBeNull();
    expect(parseFieldMessage({ t: 'undo', key: 'k1', redo: false })).not.toBeNull();
    expect(parseFieldMessage({ t: 'edit', key: 'k1', seen: 0, opening: true, delta: [{ insert: 'x' }] })).not.toBeNull();
  });

  it.each([
    ['not an object', 'edit'],
    ['null', null],
    ['an unknown type', { t: 'drop-database' }],
    ['a negative count', { t: 'edit', key: 'k', seen: -1, delta: [] }],
    ['an op with two kinds', { t: 'edit', key: 'k', seen: 0, delta: [{ retain: 1, insert: 'x' }] }],
    ['a non-string insert', { t: 'edit', key: 'k', seen: 0, delta: [{ insert: 5 }] }],
    ['a fractional retain', { t: 'edit', key: 'k', seen: 0, delta: [{ retain: 1.5 }] }],
    ['too many ops', { t: 'edit', key: 'k', seen: 0, delta: Array.from({ length: 10_001 }, () => ({ retain: 1 })) }],
    ['an oversized key', { t: 'stop', key: 'k'.repeat(65) }],
    ['text over 1 MB', { t: 'start', key: 'k', text: 'x'.repeat(1_000_001), locator: '{}', pageUrl: 'http://x/', title: '' }],
    ['formatting Tandem does not know', { t: 'edit', key: 'k', seen: 0, delta: [{ retain: 1, attributes: { color: 'red' } }] }],
    ['a mark with a string value', { t: 'edit', key: 'k', seen: 0, delta: [{ insert: 'x', attributes: { bold: 'yes' } }] }],
    ['attributes on a delete', { t: 'edit', key: 'k', seen: 0, delta: [{ delete: 1, attributes: { bold: true } }] }],
    ['an undo without its direction', { t: 'undo', key: 'k' }],
    ['an opening flag that is not true', { t: 'edit', key: 'k', seen: 0, opening: 'yes', delta: [] }],
    ['an unknown share mode', { t: 'open-shared', docId: 'd', share: 's', mode: 'steal' }],
  ])('refuses %s', (_what, message) => {
    expect(parseFieldMessage(message)).toBeNull();
  });
});
