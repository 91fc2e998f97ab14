import { LoroDoc, UndoManager, type Cursor } from 'loro-crdt';
import { describe, expect, it } from 'vitest';
import { diff, type TextDelta } from '../../shared/text/delta';
import { applyEdit } from '../../shared/text/loro-edit';
import { UndoSteps } from '../../shared/text/undo-steps';

/** Me (with UndoSteps and a clock the test moves) and a collaborator, kept in sync after every change. */
function pair(initial = '') {
  let clock = 0;
  const mine = new LoroDoc();
  mine.setPeerId(1);
  const theirs = new LoroDoc();
  theirs.setPeerId(2);
  const text = mine.getText('text');
  const other = theirs.getText('text');
  const manager = new UndoManager(mine, { mergeInterval: 0, maxUndoSteps: 10_000 });
  const steps = new UndoSteps<Cursor>(manager, mine, text, { pauseMs: 1_000, maxSteps: 500, now: () => clock });
  const sync = (): void => {
    theirs.import(mine.export({ mode: 'update', from: theirs.oplogVersion() }));
    mine.import(theirs.export({ mode: 'update', from: mine.oplogVersion() }));
  };
  if (initial) {
    other.insert(0, initial);
    theirs.commit();
    sync();
  }
  const edit = (delta: TextDelta, source: unknown = 'field'): void => {
    steps.commit(delta, () => applyEdit(text, delta), source);
    sync();
  };
  return {
    text: () => text.toString(),
    edit,
    /** I type `chars` one by one from `at` on (or at the end), `gapMs` apart; `between` runs after each. */
    type(at: number | 'end', chars: string, between: (i: number) => void = () => {}, gapMs = 100, source?: unknown) {
      for (let i = 0; i < chars.length; i++) {
        const here = at === 'end' ? text.length : at + i;
        edit([...(here > 0 ? [{ retain: here }] : []), { insert: chars[i]! }], source);
        between(i);
        clock += gapMs;
      }
    },
    backspace(at: number, times: number) {
      for (let i = 0; i < times; i++) {
        edit([...(at - i - 1 > 0 ? [{ retain: at - i - 1 }] : []), { delete: 1 }]);
        clock += 100;
      }
    },
    /** The collaborator types `chars` at `at`. */
    theyType(at: number, chars: string) {
      other.insert(at, chars);
      theirs.commit();
      sync();
    },
    wait(ms: number) {
      clock += ms;
    },
    steps,
  };
}

describe('undo steps: one press takes back one burst of my typing', () => {
  it('while the other person types before my text, one undo takes back my whole burst and none of theirs; redo puts it back', () => {
    const p = pair('Hello world.');
    p.type('end', ' More', (i) => p.theyType(i, String(i)));
    expect(p.text()).toBe('01234Hello world. More');
    expect(p.steps.undo()).toBe(true);
    expect(p.text()).toBe('01234Hello world.');
    expect(p.steps.redo()).toBe(true);
    expect(p.text()).toBe('01234Hello world. More');
  });

  it('while the other person types inside my burst, undo takes back exactly my characters', () => {
    const p = pair('ab');
    // I type "xyz" between a and b; after my first character they type "Q" right after it.
    p.type(1, 'x', () => p.theyType(2, 'Q'));
    expect(p.text()).toBe('axQb');
    p.type(2, 'yz'); // my caret stayed before their Q
    expect(p.text()).toBe('axyzQb');
    p.steps.undo();
    expect(p.text()).toBe('aQb');
  });

  it('a pause, a moved caret, a switch from typing to deleting and another field each start a step', () => {
    const p = pair();
    p.type(0, 'one');
    p.wait(1_500);
    p.type(3, ' two');
    p.type(0, 'zero '); // the caret moved: a new step at once
    p.backspace(12, 2); // " two" → " t"
    p.type(10, '!', undefined, 100, 'other field');
    expect(p.text()).toBe('zero one t!');
    const seen: string[] = [];
    while (p.steps.undo()) seen.push(p.text());
    expect(seen).toEqual(['zero one t', 'zero one two', 'one two', 'one', '']);
  });

  it.each([
    // The field holds the first half alone for a moment; the document stores it as U+FFFD.
    ['as its two UTF-16 units (Firefox)', ' \u{1F600} there'.split('')],
    ['whole (Chromium)', [...' \u{1F600} there']],
  ])('an emoji typed %s is one keystroke of the burst: one undo takes it all back, no U+FFFD left', (_, keys) => {
    const p = pair('Hi');
    let field = 'Hi';
    for (const unit of keys) {
      const next = field + unit;
      p.edit(diff(field, next, next.length));
      field = next;
      p.wait(50);
    }
    expect(p.text()).toBe('Hi \u{1F600} there');
    expect(p.steps.undo()).toBe(true);
    expect(p.text()).toBe('Hi');
    expect(p.steps.redo()).toBe(true);
    expect(p.text()).toBe('Hi \u{1F600} there');
  });

  it('never undoes a field’s opening text', () => {
    const p = pair();
    const doc = new LoroDoc();
    const text = doc.getText('text');
    const steps = new UndoSteps<Cursor>(new UndoManager(doc, { mergeInterval: 0, maxUndoSteps: 100, excludeOriginPrefixes: ['tandem:opening'] }), doc, text, { pauseMs: 1_000, maxSteps: 10 });
    steps.commit([{ insert: 'mine before binding' }], () => text.insert(0, 'mine before binding'), 'field', true);
    steps.commit([{ retain: 19 }, { insert: '!' }], () => text.insert(19, '!'), 'field');
    expect(steps.undo()).toBe(true);
    expect(text.toString()).toBe('mine before binding');
    expect(steps.undo()).toBe(false);
    expect(text.toString()).toBe('mine before binding');
    expect(p.steps.undo()).toBe(false);
  });

  it('keeps at most maxSteps steps', () => {
    const doc = new LoroDoc();
    const text = doc.getText('text');
    let clock = 0;
    const steps = new UndoSteps<Cursor>(new UndoManager(doc, { mergeInterval: 0, maxUndoSteps: 100 }), doc, text, { pauseMs: 1_000, maxSteps: 3, now: () => clock });
    for (const word of ['a', 'b', 'c', 'd', 'e']) {
      steps.commit([...(text.length ? [{ retain: text.length }] : []), { insert: word }], () => text.insert(text.length, word));
      clock += 2_000;
    }
    let presses = 0;
    while (steps.undo()) presses++;
    expect(presses).toBe(3);
    expect(text.toString()).toBe('ab');
  });
});
