/**
 * One document, many kinds of field: started in A's textarea, opened by B in each adapted
 * editor in turn ("bind to a field I choose"), edited from both sides. The text is the same
 * everywhere; formatting made in a rich editor stays in the document (and in that editor)
 * while the textarea, which cannot show it, edits around it.
 */
import { expect } from 'vitest';
import { waitFor } from '../../helpers/wait';
import { rich, select, text, untilBound, waitReady, type Tab } from './driver';
import type { Person } from './scenarios';

/** Whether the character at `offset` is bold in the editor's runs. */
function boldAt(runs: { insert: string; attributes?: Record<string, unknown> }[], offset: number): boolean {
  let at = 0;
  for (const run of runs) {
    if (offset < at + run.insert.length) return run.attributes?.bold === true;
    at += run.insert.length;
  }
  return false;
}

export interface TextareaSide {
  /** The textarea's value. */
  value(): Promise<string>;
  /** Types at the end of the textarea. */
  append(text: string): Promise<void>;
}

export async function crossingScenario(
  pagesUrl: string,
  editors: readonly string[],
  richEditors: ReadonlySet<string>,
  textarea: TextareaSide,
  b: Person & { pick(link: string): Promise<void> },
  link: string,
): Promise<void> {
  for (const editor of editors) {
    await b.pick(link);
    // A page address of its own: B's binding here must not be what B's browser binds when the
    // scenarios later open the editor's page (a field bound once is bound again on that page).
    const tab: Tab = await b.open(`${pagesUrl}/${editor}.html?crossing`);
    await waitReady(tab);
    // The offer shows under the editor: bring all of it into view (TinyMCE's page puts it at the fold).
    await tab.evaluate((id) => window.editorTest.root(id).scrollIntoView({ block: 'center' }), 'shared');
    await select(tab, 'shared', 0);
    // The offer ("Bind to …") shows next to the focused editor: a real click on it.
    const offer = await waitFor(
      () =>
        tab.evaluate(() => {
          const button = document.querySelector('[data-tandem-ui]')?.shadowRoot?.querySelector('[data-tandem=bind-offered]');
          const r = button?.getBoundingClientRect();
          const inView = r && r.width > 0 && r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth;
          return inView ? { x: r.left + r.width / 2, y: r.top + r.height / 2 } : null;
        }, null),
      { what: `the offer next to ${editor}` },
    );
    await tab.click(offer.x, offer.y);
    await untilBound(tab);
    const agreed = await textarea.value();
    await waitFor(async () => (await text(tab, 'shared')) === agreed, { what: `${editor} to show the textarea's text`, timeoutMs: 15_000 });

    // The editor types (and formats, if it can); the textarea follows with the text.
    await select(tab, 'shared', agreed.length);
    await tab.type(` ${editor}`);
    if (richEditors.has(editor)) {
      await select(tab, 'shared', agreed.length + 1, agreed.length + 1 + editor.length);
      await tab.press('b', ['Control']);
    }
    const withEditor = `${agreed} ${editor}`;
    await waitFor(async () => (await textarea.value()) === withEditor, { what: `the textarea to get ${editor}'s typing` });
    const formatted = richEditors.has(editor) ? boldAt(await rich(tab, 'shared'), agreed.length + 1) : false;
    // The textarea types back; the editor follows and keeps its formatting.
    await textarea.append('.');
    await waitFor(async () => (await text(tab, 'shared')) === `${withEditor}.`, { what: `${editor} to get the textarea's typing` });
    if (richEditors.has(editor)) {
      expect(formatted).not.toBeUndefined();
      expect(boldAt(await rich(tab, 'shared'), agreed.length + 1)).toBe(formatted);
    }
    expect(await tab.evaluate((id) => window.editorTest.healthy(id), 'shared')).toBe(true);
    await tab.close();
  }
}
