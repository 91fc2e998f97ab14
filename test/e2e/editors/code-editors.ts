/**
 * What code editors add to the shared scenario (./scenarios.ts), in any browser:
 * - the editor's own undo command (its menu, a toolbar button: not the key, which the binding
 *   catches first) is Tandem's undo, which takes back only my typing: the editor's history holds
 *   the collaborator's change too (CodeMirror 5 records it) or offsets it never saw (Monaco's and
 *   Ace's stacks leave remote changes out), so running it would undo theirs or the wrong text;
 * - another document shown in the editor (a tabbed editor's other file) ends the binding with a
 *   message, and neither text is written into the other;
 * - an editor Tandem cannot reach (Monaco bundled without its global API) is refused with the
 *   reason, and its text is left alone.
 */
import { expect } from 'vitest';
import { waitFor } from '../../helpers/wait';
import { clickCollaborate, select, tandemUi, text, untilBound, waitReady } from './driver';
import type { Person, ScenarioEnv } from './scenarios';

/** Editors whose test pages offer `undoCommand` and `swap`. */
export const CODE_EDITORS = ['codemirror6', 'codemirror5', 'monaco', 'ace'] as const;

export async function ownUndoAndSwap(kind: string, pagesUrl: string, a: Person, b: Person, env: ScenarioEnv): Promise<void> {
  // A page address of its own: the scenario's document for this page is another one.
  const url = `${pagesUrl}/${kind}.html?own-undo`;
  const A = await a.open(url);
  await waitReady(A);
  const initial = await text(A, 'shared');
  await select(A, 'shared', initial.length);
  await clickCollaborate(A);
  await untilBound(A);
  await select(A, 'shared', initial.length);
  await A.type(' abc');
  const link = await env.linkFor(a.token, url);
  const B = await b.openShared(link.url, url);
  await waitReady(B);
  await untilBound(B);
  await waitFor(async () => (await text(B, 'shared')) === `${initial} abc`, { what: `B's ${kind} to get A's text` });
  // B types on A's line, before A's typing: Ace's and Monaco's histories, which never saw it,
  // would take back the wrong columns; CodeMirror 5's would take back B's typing.
  const lineStart = initial.lastIndexOf('\n') + 1;
  const withB = (s: string): string => `${s.slice(0, lineStart)}XYZ ${s.slice(lineStart)}`;
  await select(B, 'shared', lineStart);
  await B.type('XYZ ');
  await waitFor(async () => (await text(A, 'shared')) === withB(`${initial} abc`), { what: "B's typing to reach A" });

  await A.evaluate((id) => window.editorTest.undoCommand!(id), 'shared');
  const undone = withB(initial);
  await waitFor(async () => (await text(A, 'shared')) === undone && (await text(B, 'shared')) === undone, { what: `the ${kind}'s own undo command to take back only A's typing` }).catch(
    async (error: unknown) => {
      throw new Error(`after the undo command:\nA: ${JSON.stringify(await text(A, 'shared'))}\nB: ${JSON.stringify(await text(B, 'shared'))}\nexpected: ${JSON.stringify(undone)}`, { cause: error });
    },
  );
  await waitFor(async () => (await env.storedText(link.id, a.token)) === undone, { what: 'the stored document after the undo command' });
  expect(await A.evaluate((id) => window.editorTest.healthy(id), 'shared')).toBe(true);

  // A's editor shows another file: A's binding ends, with the reason; nothing crosses over.
  await A.evaluate((id) => window.editorTest.swap!(id, 'Another file.'), 'shared');
  await waitFor(async () => (await tandemUi(A)).notice?.includes('switched to another') === true, { what: 'the notice that the editor switched to another document' });
  await select(B, 'shared', 0);
  await B.type('more ');
  await waitFor(async () => (await env.storedText(link.id, a.token)) === `more ${undone}`, { what: "B's typing after A's editor switched" });
  expect(await text(A, 'shared')).toBe('Another file.');
  expect(await text(B, 'shared')).toBe(`more ${undone}`);
  await A.close();
  await B.close();
}

/** `page` (with `query`) holds an editor Tandem must refuse: asking to collaborate says why (`reason`), and its text stays as it was. */
export async function refusedEditor(pagesUrl: string, a: Person, page: string, reason: string, query = ''): Promise<void> {
  const A = await a.open(`${pagesUrl}/${page}.html${query}`);
  await waitReady(A);
  const initial = await text(A, 'shared');
  await select(A, 'shared', 0);
  await clickCollaborate(A);
  const ui = await waitFor(
    async () => {
      const now = await tandemUi(A);
      return now.notice ? now : null;
    },
    { what: 'the refusal notice' },
  );
  expect(ui!.notice).toContain(reason);
  expect(ui!.badges.filter((s) => s === 'saved')).toEqual([]);
  expect(await text(A, 'shared')).toBe(initial);
  await A.close();
}

/**
 * A re-render takes A's editor out of the page while B types, and puts the same editor back
 * (`kind`'s page must expose `root`): B's typing reaches A's editor once it is back, and the
 * binding goes on both ways. A change arriving while the editor was out used to end A's
 * binding (its adapter cannot answer out of the page).
 */
export async function outOfThePage(kind: string, pagesUrl: string, a: Person, b: Person, env: ScenarioEnv): Promise<void> {
  const url = `${pagesUrl}/${kind}.html?out-of-the-page`;
  const A = await a.open(url);
  await waitReady(A);
  const initial = await text(A, 'shared');
  await select(A, 'shared', 0);
  await clickCollaborate(A);
  await untilBound(A);
  const link = await env.linkFor(a.token, url);
  const B = await b.openShared(link.url, url);
  await waitReady(B);
  await untilBound(B);
  await waitFor(async () => (await text(B, 'shared')) === initial, { what: `B's ${kind} to get A's text` });

  await A.evaluate((id) => {
    const root = window.editorTest.root(id);
    const holder = root.parentElement!;
    (window as { putBack?: () => void }).putBack = () => holder.append(root);
    root.remove();
  }, 'shared');
  await select(B, 'shared', 0);
  await B.type('away ');
  // The server relays to A before it stores: once stored, A's browser has had the change.
  await waitFor(async () => (await env.storedText(link.id, a.token)) === `away ${initial}`, { what: "B's typing stored" });
  await A.evaluate(() => (window as { putBack?: () => void }).putBack!(), null);
  await waitFor(async () => (await text(A, 'shared')) === `away ${initial}`, { what: "B's typing in A's editor once it is back" });
  expect((await tandemUi(A)).notice ?? '').not.toContain('stopped');

  await select(A, 'shared', (await text(A, 'shared')).length);
  await A.type(' back');
  await waitFor(async () => (await text(B, 'shared')) === `away ${initial} back`, { what: "A's typing after the editor came back" });
  await A.close();
  await B.close();
}
