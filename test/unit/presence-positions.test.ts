/** Carets crossing the field ↔ document channel: a position keeps pointing at the same character. */
import { describe, expect, it } from 'vitest';
import { TextChannel, movePosition, type EditMessage } from '../../shared/text/channel';
import { applyDelta, splice } from '../../shared/text/delta';
import { colorFor } from '../../shared/presence';
import { seededRandom } from '../helpers/random';

describe('movePosition', () => {
  it('inserts at or before push right, deletes before pull left, a deleted span collapses to its start', () => {
    expect(movePosition(splice(2, 0, 'ab'), 2)).toBe(4);
    expect(movePosition(splice(3, 0, 'ab'), 2)).toBe(2);
    expect(movePosition(splice(0, 2, ''), 5)).toBe(3);
    expect(movePosition(splice(1, 4, 'xy'), 3)).toBe(1); // inside the replaced span: its start
    expect(movePosition(splice(6, 1, ''), 5)).toBe(5);
  });
});

describe('TextChannel.positionFrom', () => {
  it('seeded fuzz: a caret sent across with unseen edits on the way still points at its character', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = seededRandom(seed);
      let next = 0;
      const fresh = (): string => String.fromCharCode(0x4e00 + next++); // every character unique
      const initial = Array.from({ length: 8 }, fresh).join('');
      const doc = { channel: new TextChannel(true), text: initial, inbox: [] as EditMessage[] };
      const field = { channel: new TextChannel(false), text: initial, inbox: [] as EditMessage[] };
      const edit = (side: typeof doc, other: typeof doc): void => {
        const at = Math.floor(random() * (side.text.length + 1));
        const del = random() < 0.4 ? Math.min(side.text.length - at, 1 + Math.floor(random() * 3)) : 0;
        const ins = random() < 0.7 ? fresh() + fresh() : '';
        const delta = splice(at, del, ins);
        side.text = applyDelta(side.text, delta);
        other.inbox.push(side.channel.send(delta));
      };
      const deliver = (side: typeof doc, n: number): void => {
        for (const m of side.inbox.splice(0, n)) side.text = applyDelta(side.text, side.channel.receive(m));
      };
      for (let step = 0; step < 20; step++) {
        const r = random();
        if (r < 0.3) edit(doc, field);
        else if (r < 0.6) edit(field, doc);
        else if (r < 0.8) deliver(doc, 1);
        else deliver(field, 1);
      }
      // The field's caret points at a character; the document side maps it over its unseen edits.
      if (field.text.length === 0) continue;
      const caret = Math.floor(random() * field.text.length);
      const char = field.text[caret]!;
      deliver(doc, doc.inbox.length); // port order: the field's edits arrive before its caret
      const mapped = doc.channel.positionFrom(field.channel.seen, caret);
      if (doc.text.includes(char)) expect(doc.text[mapped], `seed ${seed}`).toBe(char);
      else expect(mapped).toBeLessThanOrEqual(doc.text.length);
    }
  });
});

describe('colorFor', () => {
  it('is stable per id and differs between ids', () => {
    expect(colorFor('user-1')).toBe(colorFor('user-1'));
    expect(colorFor('user-1')).toMatch(/^#[0-9a-f]{6}$/);
    const colors = new Set(Array.from({ length: 20 }, (_, i) => colorFor(`user-${i}`)));
    expect(colors.size).toBeGreaterThan(10);
  });
});
