/** Formatting over the field ↔ document channel: attributes in transform, the rich model, and seeded convergence fuzz. */
import { describe, expect, it } from 'vitest';
import { LoroDoc, UndoManager } from 'loro-crdt';
import { configureText, STYLE_KEYS } from '../../shared/document';
import { TextChannel, type EditMessage } from '../../shared/text/channel';
import { applyDelta, transform, type Attributes, type TextDelta } from '../../shared/text/delta';
import { applyRich, diffRich, richFromDelta, richToDelta, sameRich, type RichText } from '../../shared/text/rich';
import { OPENING_ORIGIN, applyEdit, undoStepBoundary } from '../../shared/text/loro-edit';
import { moveOffset } from '../../shared/text/delta';
import { seededRandom } from '../helpers/random';

const rich = (delta: TextDelta): RichText => richFromDelta(delta);

describe('transform with attributes', () => {
  it('the first side’s value wins where both format the same span, on both sides', () => {
    const base = rich([{ insert: 'hello' }]);
    const a: TextDelta = [{ retain: 5, attributes: { link: 'https://a.example' } }];
    const b: TextDelta = [{ retain: 2 }, { retain: 3, attributes: { link: 'https://b.example', bold: true } }];
    const viaA = applyRich(applyRich(base, a), transform(b, a, false));
    const viaB = applyRich(applyRich(base, b), transform(a, b, true));
    expect(sameRich(viaA, viaB)).toBe(true);
    expect(richToDelta(viaA)).toEqual([
      { insert: 'he', attributes: { link: 'https://a.example' } },
      { insert: 'llo', attributes: { link: 'https://a.example', bold: true } },
    ]);
  });

  it('an insert keeps its own formatting; formatting made concurrently does not reach it', () => {
    const base = rich([{ insert: 'abcd' }]);
    const a: TextDelta = [{ retain: 2 }, { insert: 'X', attributes: { italic: true } }];
    const b: TextDelta = [{ retain: 4, attributes: { bold: true } }];
    const viaA = applyRich(applyRich(base, a), transform(b, a, false));
    const viaB = applyRich(applyRich(base, b), transform(a, b, true));
    expect(richToDelta(viaA)).toEqual(richToDelta(viaB));
    expect(richToDelta(viaA)).toEqual([
      { insert: 'ab', attributes: { bold: true } },
      { insert: 'X', attributes: { italic: true } },
      { insert: 'cd', attributes: { bold: true } },
    ]);
  });

  it('a formatting-only retain is kept at the end (it is not a no-op), and removing a mark is null', () => {
    const a: TextDelta = [{ retain: 1 }, { retain: 2, attributes: { bold: null } }];
    expect(transform(a, [{ insert: 'zz' }], true)).toEqual([{ retain: 3 }, { retain: 2, attributes: { bold: null } }]);
    const base = rich([{ insert: 'abc', attributes: { bold: true } }]);
    expect(richToDelta(applyRich(base, a))).toEqual([{ insert: 'a', attributes: { bold: true } }, { insert: 'bc' }]);
  });

  it('plain text still applies through attributes (plain fields ignore them)', () => {
    const a: TextDelta = [
      { retain: 1, attributes: { bold: true } },
      { insert: 'Q', attributes: { code: true } },
    ];
    expect(applyDelta('xy', a)).toBe('xQy');
  });
});

describe('diffRich', () => {
  it('sends typing with its formatting and formatting changes as retains', () => {
    const before = rich([{ insert: 'ab', attributes: { bold: true } }, { insert: 'cd' }]);
    const after = rich([{ insert: 'abX', attributes: { bold: true } }, { insert: 'c' }, { insert: 'd', attributes: { italic: true } }]);
    const delta = diffRich(before, after, 3);
    expect(delta).toEqual([{ retain: 2 }, { insert: 'X', attributes: { bold: true } }, { retain: 1 }, { retain: 1, attributes: { italic: true } }]);
    expect(sameRich(applyRich(before, delta), after)).toBe(true);
  });

  it('round-trips random rich texts', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 1_000; i++) {
      const before = randomRich(random);
      const after = randomRich(random);
      expect(sameRich(applyRich(before, diffRich(before, after)), after)).toBe(true);
    }
  });
});

describe('Loro agrees with the rich model', () => {
  it('a delta applied to a Loro text (marks, unmarks, inserts with exact formatting) gives what the model gives', () => {
    const random = seededRandom(11);
    const doc = new LoroDoc();
    configureText(doc);
    const text = doc.getText('text');
    let model = rich([]);
    for (let step = 0; step < 300; step++) {
      const delta = randomRichEdit(random, model);
      model = applyRich(model, delta);
      let at = 0;
      for (const op of delta) {
        if ('retain' in op) {
          for (const [k, v] of Object.entries(op.attributes ?? {})) {
            if (v === null) text.unmark({ start: at, end: at + op.retain }, k);
            else text.mark({ start: at, end: at + op.retain }, k, v);
          }
          at += op.retain;
        } else if ('delete' in op) text.delete(at, op.delete);
        else {
          text.applyDelta([...(at > 0 ? [{ retain: at }] : []), { insert: op.insert, attributes: op.attributes ?? {} }]);
          at += op.insert.length;
        }
      }
      doc.commit();
      expect(sameRich(richFromDelta(text.toDelta() as TextDelta), model)).toBe(true);
    }
  });
});

/** Random typing and formatting on both sides, messages delivered in order after random delays: text and formatting must end equal. */
describe('channel convergence with formatting (seeded fuzz)', () => {
  const KEPT_SEEDS: number[] = [];
  it.each([...KEPT_SEEDS, 1, 2, 3, 4, 5, 6])('seed %i', (seed) => {
    const random = seededRandom(seed);
    type Item = EditMessage | { ack: number };
    const start = rich([{ insert: 'hello ' }, { insert: 'world', attributes: { bold: true } }]);
    const doc = { text: start, channel: new TextChannel(true), inbox: [] as Item[] };
    const field = { text: start, channel: new TextChannel(false), inbox: [] as Item[] };
    const deliver = (side: typeof doc): void => {
      const item = side.inbox.shift()!;
      if ('ack' in item) side.channel.acknowledge(item.ack);
      else side.text = applyRich(side.text, side.channel.receive(item), STYLE_KEYS);
    };
    const sides = [doc, field] as const;
    for (let step = 0; step < 1_500; step++) {
      const index = random() < 0.5 ? 0 : 1;
      const me = sides[index]!;
      const other = sides[1 - index]!;
      const roll = random();
      if (roll < 0.5) {
        const delta = randomRichEdit(random, me.text);
        me.text = applyRich(me.text, delta, STYLE_KEYS);
        other.inbox.push(me.channel.send(delta));
      } else if (roll < 0.6) {
        other.inbox.push({ ack: me.channel.seen });
      } else if (me.inbox.length > 0) {
        deliver(me);
      }
    }
    while (doc.inbox.length > 0 || field.inbox.length > 0) {
      if (doc.inbox.length > 0) deliver(doc);
      if (field.inbox.length > 0) deliver(field);
    }
    expect(field.text.text).toBe(doc.text.text);
    expect(richToDelta(field.text)).toEqual(richToDelta(doc.text));
    expect(doc.text.marks.some((m) => Object.keys(m).length > 0)).toBe(true);
  });
});

const KEYS = ['bold', 'italic', 'underline', 'strike', 'code', 'link'] as const;

function randomAttributes(random: () => number, allowNull: boolean): Attributes {
  const out: Record<string, string | boolean | null> = {};
  for (const k of KEYS) {
    const r = random();
    if (r < 0.25) out[k] = k === 'link' ? `https://${Math.floor(random() * 3)}.example` : true;
    else if (allowNull && r < 0.4) out[k] = null;
  }
  return out;
}

function randomRich(random: () => number): RichText {
  const ops: TextDelta[number][] = [];
  const runs = Math.floor(random() * 5);
  for (let i = 0; i < runs; i++) ops.push({ insert: 'ab\nc'.slice(0, 1 + Math.floor(random() * 4)), attributes: randomAttributes(random, false) });
  return rich(ops);
}

function randomRichEdit(random: () => number, text: RichText): TextDelta {
  const length = text.text.length;
  const at = Math.floor(random() * (length + 1));
  if (random() < 0.35 && at < length) {
    const span = 1 + Math.floor(random() * Math.min(5, length - at));
    return [{ retain: at }, { retain: span, attributes: randomAttributes(random, true) }];
  }
  const deleted = random() < 0.3 ? Math.min(length - at, Math.floor(random() * 4)) : 0;
  const ops: TextDelta[number][] = [{ retain: at }, { delete: deleted }];
  if (random() < 0.8) ops.push({ insert: 'xyz'.slice(0, 1 + Math.floor(random() * 3)), attributes: randomAttributes(random, false) });
  return ops.filter((op) => !('retain' in op && op.retain === 0) && !('delete' in op && op.delete === 0));
}

describe('undo steps and carets', () => {
  it('typing merges into one step; switching to deleting, or formatting, starts a new one', () => {
    const type = (at: number, s: string): TextDelta => [{ retain: at }, { insert: s }];
    expect(undoStepBoundary(null, type(0, 'a'))).toBe(true);
    expect(undoStepBoundary(type(0, 'a'), type(1, 'b'))).toBe(false);
    expect(undoStepBoundary(type(1, 'b'), type(2, ' '))).toBe(false); // a typed word and its space undo together
    expect(undoStepBoundary(type(2, 'c'), [{ retain: 2 }, { delete: 1 }])).toBe(true);
    expect(undoStepBoundary([{ retain: 2 }, { delete: 1 }], [{ retain: 1 }, { delete: 1 }])).toBe(false);
    expect(undoStepBoundary(type(0, 'a'), [{ retain: 1, attributes: { bold: true } }])).toBe(true);
    expect(undoStepBoundary([{ retain: 1, attributes: { bold: true } }], [{ retain: 1, attributes: { italic: true } }])).toBe(true);
  });

  it('a caret moves by what was inserted or deleted before it, and stays before text inserted right at it', () => {
    expect(moveOffset(5, [{ retain: 2 }, { insert: 'xyz' }])).toBe(8);
    expect(moveOffset(5, [{ retain: 5 }, { insert: 'xyz' }])).toBe(5);
    expect(moveOffset(5, [{ retain: 6 }, { insert: 'xyz' }])).toBe(5);
    expect(moveOffset(5, [{ retain: 1 }, { delete: 2 }])).toBe(3);
    expect(moveOffset(5, [{ retain: 3 }, { delete: 4 }])).toBe(3); // inside a deletion: to its start
    expect(moveOffset(5, [{ retain: 5, attributes: { bold: true } }])).toBe(5);
  });
});

describe('undo never goes back past binding', () => {
  it('a commit with the opening origin is not an undo step; typing after it is', () => {
    const doc = new LoroDoc();
    configureText(doc);
    const text = doc.getText('text');
    text.insert(0, 'Hello world');
    doc.commit({ origin: 'import-like' });
    const undo = new UndoManager(doc, { mergeInterval: 0, excludeOriginPrefixes: [OPENING_ORIGIN] });
    applyEdit(text, [{ retain: 6, attributes: { bold: true } }]);
    doc.commit({ origin: OPENING_ORIGIN });
    applyEdit(text, [{ retain: 11 }, { insert: '!', attributes: {} }]);
    doc.commit();
    expect(undo.undo()).toBe(true);
    expect(text.toDelta()).toEqual([{ insert: 'Hello ', attributes: { bold: true } }, { insert: 'world' }]);
    expect(undo.canUndo()).toBe(false);
  });
});
