/**
 * What every adapted editor must do, in any browser (issue 16's list): (a) typing alone into a
 * bound editor gives exactly the text the same keys give in an unbound one; (b) two people type
 * at once in different places, with Enter, Backspace and selection-replace, and both editors'
 * models and the stored document end identical; (c) the local caret does not jump on remote
 * edits; (d) bold through the editor's own shortcut crosses (rich editors); (e) Ctrl+Z undoes
 * only my last burst while the other person keeps typing, and the editor stays healthy; (f) the
 * other person's caret is drawn where the editor itself would draw it.
 */
import { expect } from 'vitest';
import { waitFor } from '../../helpers/wait';
import { clickCollaborate, drawnCarets, rich, select, selection, tandemUi, text, untilBound, waitReady, type Tab } from './driver';

/** Editors that show formatting: the scenario also checks bold. */
export const RICH_EDITORS: ReadonlySet<string> = new Set<string>(['prosemirror', 'tiptap', 'quill', 'tinymce', 'ckeditor5', 'lexical', 'slate', 'trix']);

/**
 * How long the scenario holds each key it presses, per editor (0 elsewhere). Trix reads the
 * selection on `selectionchange`, and loses keys pressed faster than the browser reports it,
 * bound or not (an unbound Trix lost a Shift+ArrowLeft pressed at 0 ms): it gets a person's
 * pace. Slate gets it too: at that pace a Shift+Arrow pressed just after the other person's
 * keystroke used to be undone by slate-react's next render (1 run in 3 selected one character
 * too few; the adapter now has React render at once, see `renderNow` in adapters/slate.ts).
 */
export const KEY_HOLD_MS: Readonly<Record<string, number>> = { trix: 15, slate: 15 };

export interface Person {
  /** Opens a page in this person's browser. */
  open(url: string): Promise<Tab>;
  /** Opens a share link and takes "Open where it was written" (`url`: that page). */
  openShared(link: string, url: string): Promise<Tab>;
  token: string;
  name: string;
}

export interface ScenarioEnv {
  /** An edit link to the document `token`'s owner started on `url`. */
  linkFor(token: string, url: string): Promise<{ id: string; url: string }>;
  storedText(docId: string, token: string): Promise<string>;
}

/** The keys of one person's editing: words, Enter, Backspace, a selection replaced. */
async function edit(tab: Tab, words: [string, string, string]): Promise<void> {
  await tab.type(`${words[0]} `);
  await tab.press('Enter');
  await tab.type(`${words[1]} ${words[2]}x`);
  await tab.press('Backspace');
  for (let i = 0; i < words[2].length; i++) await tab.press('ArrowLeft', ['Shift']);
  await tab.type(words[2].toUpperCase());
}

/** What `edit` gives when typed at the end of a text. */
const edited = (words: [string, string, string]): string => `${words[0]} \n${words[1]} ${words[2].toUpperCase()}`;

export async function editorScenario(kind: string, pagesUrl: string, a: Person, b: Person, env: ScenarioEnv, options: { rich: boolean }): Promise<void> {
  const url = `${pagesUrl}/${kind}.html`;
  const A = await a.open(url);
  A.keyHoldMs = KEY_HOLD_MS[kind] ?? 0;
  await waitReady(A);
  const initial = await text(A, 'shared');
  const lineEnd = initial.indexOf('\n');

  // (a) The same keys in the unbound editor and, once bound, in the shared one.
  await select(A, 'plain', lineEnd);
  await edit(A, ['one', 'two', 'three']);
  const unbound = await text(A, 'plain');
  expect(unbound).not.toBe(initial);
  await select(A, 'shared', lineEnd);
  await clickCollaborate(A);
  await untilBound(A);
  await select(A, 'shared', lineEnd);
  await edit(A, ['one', 'two', 'three']);
  expect(await text(A, 'shared')).toBe(unbound);

  // B joins where A wrote.
  const link = await env.linkFor(a.token, url);
  const B = await b.openShared(link.url, url);
  B.keyHoldMs = KEY_HOLD_MS[kind] ?? 0;
  await waitReady(B);
  await untilBound(B);
  await waitFor(async () => (await text(B, 'shared')) === unbound, { what: `B's ${kind} to get A's text`, timeoutMs: 20_000 }).catch(async (error: unknown) => {
    throw new Error(`B's ${kind} holds ${JSON.stringify(await text(B, 'shared'))}, A's ${JSON.stringify(unbound)}; Tandem's UI at B: ${JSON.stringify(await tandemUi(B))}`, { cause: error });
  });

  // (b) Both type at once: A at the end, B at the start.
  const base = await text(A, 'shared');
  await select(A, 'shared', base.length);
  await select(B, 'shared', 0);
  const wordsA: [string, string, string] = ['alpha😀', 'beta', 'gamma']; // Firefox types an emoji as two UTF-16 units
  const wordsB: [string, string, string] = ['delta', 'epsilon', 'zeta'];
  await Promise.all([
    (async () => {
      await A.press('Enter');
      await edit(A, wordsA);
    })(),
    (async () => {
      await edit(B, wordsB);
      await B.press('Enter');
    })(),
  ]);
  const partB = `${edited(wordsB)}\n`;
  const expected = `${partB}${base}\n${edited(wordsA)}`;
  await waitFor(async () => (await text(A, 'shared')) === expected && (await text(B, 'shared')) === expected, {
    what: `both ${kind} editors to converge`,
    timeoutMs: 20_000,
  }).catch(async (error: unknown) => {
    throw new Error(`not converged:\nA: ${JSON.stringify(await text(A, 'shared'))}\nB: ${JSON.stringify(await text(B, 'shared'))}\nexpected: ${JSON.stringify(expected)}`, { cause: error });
  });
  await waitFor(async () => (await env.storedText(link.id, a.token)) === expected, { what: 'the stored document' });

  // (c) A's caret stayed at the end though B inserted before it; B's after B's text.
  expect(await selection(A, 'shared')).toEqual({ anchor: expected.length, head: expected.length });
  expect(await selection(B, 'shared')).toEqual({ anchor: partB.length, head: partB.length });

  // (f) B's caret, drawn in A's page, is where A's editor would draw a caret at that offset.
  const caret = await waitFor(async () => (await drawnCarets(A)).find((c) => c.name === b.name && c.offset === partB.length), { what: "B's caret at A", timeoutMs: 10_000 }).catch(
    async (error: unknown) => {
      throw new Error(
        `B's caret is not drawn at ${partB.length} in A's page: drawn ${JSON.stringify(await drawnCarets(A))}; B's selection ${JSON.stringify(await selection(B, 'shared'))}; rects ${await A.evaluate(
          (at) => {
            const root = window.editorTest.root('shared');
            let reply = '';
            root.addEventListener('tandem:page-reply', (e) => (reply = (e as CustomEvent<string>).detail), { once: true });
            root.dispatchEvent(new CustomEvent('tandem:page-call', { detail: JSON.stringify({ op: 'rects', ranges: [[at, at]] }), bubbles: true, composed: true }));
            return `${reply} ${JSON.stringify(root.getBoundingClientRect())}${JSON.stringify(window.editorTest.caret('shared', at))}`;
          },
          partB.length,
        )}`,
        { cause: error },
      );
    },
  );
  // The editor may still be moving (a scroll, a line drawn late): the caret follows it.
  const placed = async (): Promise<boolean> => {
    const own = await A.evaluate((offset) => window.editorTest.caret('shared', offset), partB.length);
    const drawn = (await drawnCarets(A)).find((c) => c.name === b.name);
    return own !== null && drawn !== undefined && Math.abs(drawn.left - own.left) <= 3 && Math.abs(drawn.top - own.top) <= 4;
  };
  await waitFor(placed, { what: "B's caret where A's editor draws that offset", timeoutMs: 5_000 }).catch(async (error: unknown) => {
    const own = await A.evaluate((offset) => window.editorTest.caret('shared', offset), partB.length);
    throw new Error(`B's caret is drawn at ${JSON.stringify(caret)}, A's editor draws offset ${partB.length} at ${JSON.stringify(own)}`, { cause: error });
  });
  // An editor that scrolls its own viewport (no DOM scroll event): the caret follows within a frame.
  if (await A.evaluate(() => window.editorTest.scrollBy !== undefined, null)) {
    await A.evaluate(async () => {
      window.editorTest.scrollBy!('shared', 19);
      for (let i = 0; i < 2; i++) await new Promise((resolve) => requestAnimationFrame(resolve));
    }, null);
    expect(await placed()).toBe(true);
  }

  // (e) A types a burst elsewhere (a new undo step: the caret moved); B keeps typing at the
  // start while A undoes: only A's burst goes, none of B's typing.
  const before = await text(A, 'shared');
  const at = before.indexOf('Second line.');
  await select(A, 'shared', at);
  const burst = 'burst 😀 '; // an emoji inside: one undo still takes the whole burst back
  await A.type(burst);
  const withBurst = `${before.slice(0, at)}${burst}${before.slice(at)}`;
  await waitFor(async () => (await text(B, 'shared')) === withBurst, { what: "B to see A's burst" });
  await select(B, 'shared', 0);
  const typedB = '0123456789';
  await Promise.all([
    B.type(typedB, 100), // ten characters a second
    (async () => {
      await waitFor(async () => (await text(A, 'shared')).startsWith('012'), { what: "B's typing to reach A" });
      await A.press('z', ['Control']);
    })(),
  ]);
  const afterUndo = `${typedB}${before}`;
  await waitFor(async () => (await text(A, 'shared')) === afterUndo && (await text(B, 'shared')) === afterUndo, {
    what: `A's undo to take back only A's burst in ${kind}`,
    timeoutMs: 15_000,
  }).catch(async (error: unknown) => {
    throw new Error(`after undo:\nA: ${JSON.stringify(await text(A, 'shared'))}\nB: ${JSON.stringify(await text(B, 'shared'))}\nexpected: ${JSON.stringify(afterUndo)}`, { cause: error });
  });
  // Healthy afterwards: A keeps typing and B sees it; the editor's model and rendering agree.
  await select(A, 'shared', afterUndo.length);
  await A.type('!');
  await waitFor(async () => (await text(B, 'shared')) === `${afterUndo}!`, { what: "A's typing after the undo" });
  expect(await A.evaluate((id) => window.editorTest.healthy(id), 'shared')).toBe(true);
  expect(await B.evaluate((id) => window.editorTest.healthy(id), 'shared')).toBe(true);

  // (d) Bold with the editor's own shortcut crosses.
  if (options.rich) {
    await select(A, 'shared', 0, 5);
    await A.press('b', ['Control']);
    await waitFor(async () => (await rich(B, 'shared'))[0]?.attributes?.bold === true && (await rich(B, 'shared'))[0]?.insert === '01234', {
      what: 'B to see the bold word',
      timeoutMs: 10_000,
    });
  }
  await waitFor(async () => (await env.storedText(link.id, a.token)) === (await text(A, 'shared')), { what: 'the stored document at the end' });
  await A.close();
  await B.close();
}
