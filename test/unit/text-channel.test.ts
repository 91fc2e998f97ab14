/** The field ↔ document text channel: deltas, diff, transform, and seeded convergence fuzz. */
import { describe, expect, it } from 'vitest';
import { applyDelta, cutsSurrogatePair, diff, rebase, splice, transform, type TextDelta } from '../../shared/text/delta';
import { TextChannel, type EditMessage } from '../../shared/text/channel';
import { applyEdit } from '../../shared/text/loro-edit';
import { LoroDoc } from 'loro-crdt';
import { seededRandom } from '../helpers/random';

describe('diff', () => {
  it('finds typing and deletion at the caret, not at the start of a run', () => {
    expect(diff('aa', 'aaa', 3)).toEqual(splice(2, 0, 'a'));
    expect(diff('aa', 'aaa', 1)).toEqual(splice(0, 0, 'a'));
    expect(diff('abcd', 'abd', 2)).toEqual(splice(2, 1, ''));
    expect(diff('hello', 'help', 4)).toEqual(splice(3, 2, 'p'));
    expect(diff('same', 'same', 2)).toEqual([]);
  });

  it('never splits a surrogate pair', () => {
    const before = 'a\u{1F600}b';
    const after = 'a\u{1F601}b'; // same high surrogate, different low one
    const delta = diff(before, after);
    expect(delta).toEqual(splice(1, 2, '\u{1F601}'));
    expect(applyDelta(before, delta)).toBe(after);
  });

  it('says the second half of an emoji, typed after the first (Firefox types one as two UTF-16 units), as the whole emoji', () => {
    const lone = 'a\uD83Db'; // the field between the two key events
    const whole = 'a\u{1F600}b';
    expect(diff('ab', lone, 2)).toEqual(splice(1, 0, '\uD83D')); // all there is to say
    expect(diff(lone, whole, 3)).toEqual(splice(1, 1, '\u{1F600}'));
    // An editor that reports its own change (CodeMirror, Monaco, Ace) says "insert the low half":
    expect(cutsSurrogatePair(lone, splice(2, 0, '\uDE00'), whole)).toBe(true);
    expect(cutsSurrogatePair('a\u{1F600}b', splice(2, 1, '\uDE01'), 'a\u{1F601}b')).toBe(true);
    expect(cutsSurrogatePair('ab', splice(1, 0, '\u{1F600}'), whole)).toBe(false);
    expect(cutsSurrogatePair(whole, splice(1, 2, ''), 'ab')).toBe(false);
    expect(cutsSurrogatePair(whole, splice(3, 0, 'x'), 'a\u{1F600}xb')).toBe(false);
  });

  it('puts the whole emoji in a Loro document typed one UTF-16 unit at a time (a lone half is stored as U+FFFD)', () => {
    const doc = new LoroDoc();
    const text = doc.getText('text');
    text.insert(0, 'ab');
    let field = 'ab';
    for (const [typed, caret] of [
      ['a\uD83Db', 2],
      ['a\u{1F600}b', 3],
    ] as const) {
      const delta = diff(field, typed, caret);
      applyEdit(text, delta);
      field = typed;
    }
    expect(text.toString()).toBe('a\u{1F600}b');
  });

  it('round-trips random edits, with and without a caret hint', () => {
    const random = seededRandom(99);
    for (let i = 0; i < 2_000; i++) {
      const before = randomText(random, 20);
      const after = randomText(random, 20);
      expect(applyDelta(before, diff(before, after))).toBe(after);
      expect(applyDelta(before, diff(before, after, Math.floor(random() * (after.length + 1))))).toBe(after);
    }
  });
});

describe('transform', () => {
  it('puts the first side’s insert first at a tie, on both sides', () => {
    const a = splice(1, 0, 'A');
    const b = splice(1, 0, 'B');
    expect(applyDelta(applyDelta('xy', a), transform(b, a, false))).toBe('xABy');
    expect(applyDelta(applyDelta('xy', b), transform(a, b, true))).toBe('xABy');
  });

  it('drops a delete of text the other side already deleted', () => {
    const a = splice(1, 3, '');
    const b = splice(2, 3, 'Z');
    const viaA = applyDelta(applyDelta('0123456', a), transform(b, a, false));
    const viaB = applyDelta(applyDelta('0123456', b), transform(a, b, true));
    expect(viaA).toBe(viaB);
    expect(viaA).toBe('0Z56');
  });
});

describe('rebase (replaying typing that could not be sent)', () => {
  it('keeps my edits and theirs', () => {
    const base = 'The quick fox.';
    const mine = 'The quick brown fox. Typed meanwhile.';
    const theirs = 'Hey! The quick fox.';
    expect(applyDelta(theirs, rebase(base, mine, theirs))).toBe('Hey! The quick brown fox. Typed meanwhile.');
  });

  it('does nothing when I changed nothing, and takes all of mine when they did nothing', () => {
    expect(rebase('a b', 'a b', 'a b c')).toEqual([]);
    expect(applyDelta('a b', rebase('a b', 'x a b', 'a b'))).toBe('x a b');
  });
});

/** Random editing on both sides, messages delivered in order after random delays: both must end equal. */
describe('channel convergence (seeded fuzz)', () => {
  const KEPT_SEEDS: number[] = [];
  it.each([...KEPT_SEEDS, 1, 2, 3, 4, 5, 6, 7, 8])('seed %i', (seed) => {
    const random = seededRandom(seed);
    type Item = EditMessage | { ack: number };
    const doc = { text: 'hello world', channel: new TextChannel(true), inbox: [] as Item[] };
    const field = { text: 'hello world', channel: new TextChannel(false), inbox: [] as Item[] };
    const deliver = (side: typeof doc): void => {
      const item = side.inbox.shift()!;
      if ('ack' in item) side.channel.acknowledge(item.ack);
      else side.text = applyDelta(side.text, side.channel.receive(item));
    };
    const sides = [doc, field] as const;
    for (let step = 0; step < 2_000; step++) {
      const index = random() < 0.5 ? 0 : 1;
      const me = sides[index]!;
      const other = sides[1 - index]!;
      const roll = random();
      if (roll < 0.5) {
        const delta = randomEdit(random, me.text);
        me.text = applyDelta(me.text, delta);
        other.inbox.push(me.channel.send(delta));
      } else if (roll < 0.6) {
        other.inbox.push({ ack: me.channel.seen }); // "nothing to say, but I have applied yours"
      } else if (me.inbox.length > 0) {
        deliver(me);
      }
    }
    while (doc.inbox.length > 0 || field.inbox.length > 0) {
      if (doc.inbox.length > 0) deliver(doc);
      if (field.inbox.length > 0) deliver(field);
    }
    expect(doc.channel.pending + field.channel.pending).toBeLessThan(3_000);
    expect(field.text).toBe(doc.text);
    expect(doc.text.length).toBeGreaterThan(0);
  });
});

function randomText(random: () => number, max: number): string {
  const alphabet = ['a', 'b', 'c', ' ', '\n', '\u{1F600}', 'é'];
  let out = '';
  const length = Math.floor(random() * max);
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)]!;
  return out;
}

function randomEdit(random: () => number, text: string): TextDelta {
  const at = Math.floor(random() * (text.length + 1));
  const deleted = random() < 0.3 ? Math.min(text.length - at, Math.floor(random() * 4)) : 0;
  return splice(at, deleted, random() < 0.8 ? 'xyz'.slice(0, 1 + Math.floor(random() * 3)) : '');
}
