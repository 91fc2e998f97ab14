/**
 * The update check reads Loro's encoding itself: these tests feed it real updates of every kind
 * Loro makes (so a Loro upgrade that changes the encoding fails here first) and broken ones.
 */
import { LoroDoc, LoroText } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import { checkSnapshot, checkUpdate as checkBlob, type UpdateLimits } from '../../server/sync/update-check';
import { configureText } from '../../shared/document';
import { seededRandom } from '../helpers/random';

const limits: UpdateLimits = { maxOps: 200_000, maxAtoms: 16 * 1024 * 1024 };

/** What the server does: updates checked at once, snapshots in the heavy-work thread (here inline). */
function checkUpdate(bytes: Uint8Array, l: UpdateLimits) {
  const result = checkBlob(bytes, l);
  return result.ok === 'needs_worker' ? checkSnapshot(bytes, l) : result;
}

const exportOf = (edit: (doc: LoroDoc) => void, doc = new LoroDoc()): Uint8Array => {
  const before = doc.oplogVersion();
  edit(doc);
  doc.commit();
  return doc.export({ mode: 'update', from: before });
};

describe('update check', () => {
  it('accepts what Tandem writes: text edits and its marks, as updates and snapshots', () => {
    const doc = new LoroDoc();
    configureText(doc);
    const text = doc.getText('text');
    const first = exportOf(() => text.insert(0, 'Hello, wörld! 👋'), doc);
    expect(checkUpdate(first, limits)).toEqual({ ok: true, ops: 1, atoms: 15, insertedBytes: 19 });
    const marks = exportOf(() => {
      for (const style of ['bold', 'italic', 'underline', 'strike', 'code'] as const) text.mark({ start: 0, end: 5 }, style, true);
      text.mark({ start: 7, end: 12 }, 'link', 'https://example.test/a');
      text.unmark({ start: 0, end: 2 }, 'bold');
    }, doc);
    expect(checkUpdate(marks, limits)).toMatchObject({ ok: true });
    expect(
      checkUpdate(
        exportOf(() => text.delete(3, 4), doc),
        limits,
      ),
    ).toMatchObject({ ok: true, atoms: 4, insertedBytes: 0 });
    expect(checkUpdate(doc.export({ mode: 'snapshot' }), limits)).toMatchObject({ ok: true });
    expect(checkUpdate(doc.export({ mode: 'update' }), limits)).toMatchObject({ ok: true });
  });

  it('accepts random editing sessions, in pieces and whole', () => {
    const random = seededRandom(18);
    const doc = new LoroDoc();
    configureText(doc);
    const text = doc.getText('text');
    for (let i = 0; i < 300; i++) {
      const update = exportOf(() => {
        const at = Math.floor(random() * (text.length + 1));
        if (random() < 0.3 && text.length > 0) text.delete(Math.min(at, text.length - 1), 1 + Math.floor(random() * Math.min(5, text.length - Math.min(at, text.length - 1))));
        else text.insert(at, 'abc é xy '.slice(0, 1 + Math.floor(random() * 8)));
        if (random() < 0.1 && text.length > 2) text.mark({ start: 0, end: 2 }, random() < 0.5 ? 'bold' : 'link', random() < 0.5 ? true : 'https://x.test');
      }, doc);
      expect(checkUpdate(update, limits)).toMatchObject({ ok: true });
    }
    expect(checkUpdate(doc.export({ mode: 'update' }), limits)).toMatchObject({ ok: true });
  });

  it('refuses every container Tandem does not use, by name', () => {
    const cases: [string, (doc: LoroDoc) => void][] = [
      ['map', (d) => d.getMap('text').set('a', 1)],
      ['list', (d) => d.getList('list').insert(0, 1)],
      [
        'movable list moves',
        (d) => {
          const l = d.getMovableList('l');
          l.insert(0, 1);
          l.insert(1, 2);
          l.move(0, 1);
        },
      ],
      ['tree', (d) => d.getTree('tree').createNode()],
      ['counter', (d) => d.getCounter('c').increment(1)],
      ['another root text', (d) => d.getText('notes').insert(0, 'x')],
      ['a nested text', (d) => d.getMap('m').setContainer('t', new LoroText())],
    ];
    for (const [name, edit] of cases) {
      const result = checkUpdate(exportOf(edit), limits);
      expect(result, name).toMatchObject({ ok: false, reason: 'foreign_container' });
    }
  });

  it('refuses marks Tandem does not use, and mark values of the wrong kind', () => {
    const colour = exportOf((d) => {
      d.configTextStyle({ color: { expand: 'after' } });
      d.getText('text').insert(0, 'abc');
      d.getText('text').mark({ start: 0, end: 1 }, 'color', 'red');
    });
    expect(checkUpdate(colour, limits)).toMatchObject({ ok: false, reason: 'foreign_mark' });
    const objectValue = exportOf((d) => {
      configureText(d);
      d.getText('text').insert(0, 'abc');
      d.getText('text').mark({ start: 0, end: 1 }, 'link', { href: 'x' } as unknown as string);
    });
    expect(checkUpdate(objectValue, limits)).toMatchObject({ ok: false, reason: 'foreign_mark' });
    const hugeHref = exportOf((d) => {
      configureText(d);
      d.getText('text').insert(0, 'abc');
      d.getText('text').mark({ start: 0, end: 1 }, 'link', `https://x.test/${'a'.repeat(5000)}`);
    });
    expect(checkUpdate(hugeHref, limits)).toMatchObject({ ok: false, reason: 'foreign_mark' });
  });

  it('bounds operations and characters per update', () => {
    const doc = new LoroDoc();
    const text = doc.getText('text');
    text.insert(0, 'x'.repeat(1000));
    doc.commit();
    // A thousand one-character deletes: few bytes on the wire, a thousand operations.
    const deletes = exportOf(() => {
      for (let i = 0; i < 500; i++) text.delete(i, 1);
    }, doc);
    expect(checkUpdate(deletes, { maxOps: 100, maxAtoms: limits.maxAtoms })).toMatchObject({ ok: false, reason: 'too_many_ops' });
    expect(checkUpdate(deletes, limits)).toMatchObject({ ok: true, ops: 500 });
    const paste = exportOf((d) => d.getText('text').insert(0, 'y'.repeat(5000)));
    expect(checkUpdate(paste, { maxOps: 100, maxAtoms: 4096 })).toMatchObject({ ok: false, reason: 'too_large' });
  });

  it('refuses what it cannot read, and never throws', () => {
    const good = exportOf((d) => d.getText('text').insert(0, 'hello there'));
    expect(checkUpdate(new Uint8Array(0), limits)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(checkUpdate(new TextEncoder().encode('not a loro update at all'), limits)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(checkUpdate(good.subarray(0, good.length - 3), limits)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(checkUpdate(new Uint8Array([...good, 0, 0]), limits)).toMatchObject({ ok: false });
    const shallow = (() => {
      const d = new LoroDoc();
      d.getText('text').insert(0, 'abc');
      d.commit();
      return d.export({ mode: 'shallow-snapshot', frontiers: d.oplogFrontiers() });
    })();
    expect(checkUpdate(shallow, limits)).toMatchObject({ ok: false, reason: 'unsupported_encoding' });
    const random = seededRandom(7);
    for (let i = 0; i < 2_000; i++) {
      const bytes = good.slice();
      for (let k = 0; k < 1 + Math.floor(random() * 3); k++) bytes[22 + Math.floor(random() * (bytes.length - 22))] = Math.floor(random() * 256);
      expect(() => checkUpdate(bytes, limits)).not.toThrow();
    }
  });
});
