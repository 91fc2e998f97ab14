/**
 * The Quill, CKEditor 5, ProseMirror, Lexical and Slate adapters against structure the editor scenario does not reach
 * (headings, lists, quotes, code blocks, images, tables), how they find their instances, and
 * how they take over the editors' own undo: real editors in Chromium, each with an EditorHost
 * as the page bridge makes it (./pages/rich-adapters.ts), read back through the editors' own
 * models. No extension or server: what crosses between people is the scenario's business.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, chromiumAvailable } from '../browsers';
import type { Bound } from './pages/rich-adapters';

describe.skipIf(!chromiumAvailable())('rich editor adapters (Chromium)', () => {
  let server: Server;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    const result = await build({
      entryPoints: [join(import.meta.dirname, 'pages/rich-adapters.ts')],
      bundle: true,
      write: false,
      format: 'iife',
      outdir: '/out',
      loader: { '.svg': 'text' },
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
    });
    const js = result.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
    server = createServer((req, res) => {
      if (req.url === '/rich.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><meta charset="utf-8"><body><script src="/rich.js"></script></body>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  /** A fresh page with the harness; `before` runs ahead of every script of the page (a hardened page). */
  async function open(before?: () => void): Promise<Page> {
    const page = await browser.newPage();
    if (before) await page.addInitScript(before);
    await page.goto(url);
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true');
    return page;
  }

  it('a read-only editor is refused and left as it was; made editable again, it binds', async () => {
    const page = await open();
    const out = await page.evaluate(async () => {
      const r = window.rich;
      const q = r.newQuill('<p>Quill text</p>');
      q.disable();
      const quill = [r.bindQuill(q.container)];
      q.enable();
      quill.push(r.bindQuill(q.container));

      const ck = await r.ckeditor('<p>CKEditor text</p>');
      r.unbind(ck.bound);
      ck.editor.enableReadOnlyMode('test');
      const ckeditor = [r.bindCkeditor(ck.editor)];
      ck.editor.disableReadOnlyMode('test');
      ckeditor.push(r.bindCkeditor(ck.editor));

      const lx = r.lexical(['Lexical text']);
      r.unbind(lx.bound);
      lx.editor.setEditable(false);
      const lexical = [r.bindLexical(lx.editor)];
      lx.editor.setEditable(true);
      lexical.push(r.bindLexical(lx.editor));

      const pm = r.prosemirror('<p>ProseMirror text</p>');
      r.unbind(pm.bound);
      pm.view.setProps({ editable: () => false });
      const prosemirror = [r.bindProsemirror(pm.view)];
      pm.view.setProps({ editable: () => true });
      prosemirror.push(r.bindProsemirror(pm.view));

      const outcome = (tries: (Bound | string)[]) => tries.map((b) => (typeof b === 'string' ? b : b.host.read().text));
      return {
        quill: outcome(quill),
        ckeditor: outcome(ckeditor),
        lexical: outcome(lexical),
        prosemirror: outcome(prosemirror),
        texts: [q.getText(), ck.editor.getData(), lx.editor.getRootElement()!.textContent, pm.view.state.doc.textContent],
      };
    });
    expect(out.quill).toEqual(['the page shows it read-only', 'Quill text']);
    expect(out.ckeditor).toEqual(['the page shows it read-only', 'CKEditor text']);
    expect(out.lexical).toEqual(['the page shows it read-only', 'Lexical text']);
    expect(out.prosemirror).toEqual(['the page shows it read-only', 'ProseMirror text']);
    expect(out.texts).toEqual(['Quill text\n', '<p>CKEditor text</p>', 'Lexical text', 'ProseMirror text']);
    await page.close();
  });

  describe('Quill', () => {
    it('refuses Quill 1 (its instance on the container) also where its window.Quill would find it', async () => {
      const page = await open();
      const refusal = await page.evaluate(() => {
        // What Quill 1 leaves on a page: the instance as the container's __quill, and a global
        // whose find answers with it (what its CDN script sets up).
        const container = document.createElement('div');
        container.className = 'ql-container';
        document.body.append(container);
        const instance = { container, updateContents: () => undefined, getContents: () => ({ ops: [] }) };
        Object.assign(container, { __quill: instance });
        (window as { Quill?: unknown }).Quill = { find: (node: { __quill?: unknown }) => node.__quill };
        return window.rich.bindQuill(container);
      });
      expect(refusal).toBe('Quill 1 editors are not supported yet');
      await page.close();
    });

    it('is found in a bundle (no window.Quill), through window.Quill where the page locks its built-ins, and refused cleanly where neither works', async () => {
      const page = await open(() => Object.freeze(WeakMap.prototype));
      const result = await page.evaluate(() => {
        const q = window.rich.newQuill('<p>Hello</p>');
        const frozen = window.rich.bindQuill(q.container);
        (window as { Quill?: unknown }).Quill = window.rich.Quill;
        const global = window.rich.bindQuill(q.container);
        return { frozen, global: typeof global === 'string' ? global : global.host.read().text, text: q.getText() };
      });
      expect(result.frozen).toMatch(/Quill's instance cannot be reached on this page/);
      expect(result.global).toBe('Hello');
      expect(result.text).toBe('Hello\n'); // nothing changed by the refusal
      await page.close();

      const bundled = await open();
      expect(await bundled.evaluate(() => typeof window.rich.quill('<p>Hello</p>').bound)).toBe('object');
      // The prototype is the page's own again.
      expect(await bundled.evaluate(() => Object.hasOwn(WeakMap.prototype, 'get') && WeakMap.prototype.get.toString().includes('[native code]'))).toBe(true);
      await bundled.close();
    });

    it("keeps block formats as Quill's own keys do: a split line's format on both halves, a join keeps the first line's", async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { quill: q, bound } = window.rich.quill('<h1>Title</h1><ul><li>one</li><li>two</li></ul><p>end</p>');
        const b = bound as Bound;
        const before = b.host.read().text;
        const split = window.rich.apply(b, [{ retain: 2 }, { insert: '\n' }]); // Ti|tle
        const afterSplit = JSON.stringify(q.getContents().ops);
        const join = window.rich.apply(b, [{ retain: 6 }, { delete: 1 }]); // "tle" + "one"
        const joined = JSON.stringify(q.getContents().ops);
        return { before, split, afterSplit, join, joined, text: b.host.read().text, notices: b.notices };
      });
      expect(out.before).toBe('Title\none\ntwo\nend');
      expect(out.split).toBe(true);
      expect(JSON.parse(out.afterSplit)).toEqual([
        { insert: 'Ti' },
        { insert: '\n', attributes: { header: 1 } },
        { insert: 'tle' },
        { insert: '\n', attributes: { header: 1 } },
        { insert: 'one' },
        { insert: '\n', attributes: { list: 'bullet' } },
        { insert: 'two' },
        { insert: '\n', attributes: { list: 'bullet' } },
        { insert: 'end\n' },
      ]);
      expect(out.join).toBe(true);
      expect(JSON.parse(out.joined)).toEqual([
        { insert: 'Ti' },
        { insert: '\n', attributes: { header: 1 } },
        { insert: 'tleone' },
        { insert: '\n', attributes: { header: 1 } },
        { insert: 'two' },
        { insert: '\n', attributes: { list: 'bullet' } },
        { insert: 'end\n' },
      ]);
      expect(out.text).toBe('Ti\ntleone\ntwo\nend');
      expect(out.notices).toEqual([]); // our own changes are not the person's
      await page.close();
    });

    it('maps offsets around embeds (no length in the text): they stay where they are, keep their formats, and go only with text on both sides', async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const gif = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';
        const { quill: q, bound } = window.rich.quill(`<p>ab<img src="${gif}">cd</p><p>ef</p>`);
        const b = bound as Bound;
        const steps: unknown[] = [b.host.read().text];
        window.rich.apply(b, [{ retain: 2 }, { insert: 'X' }]);
        steps.push(
          q
            .getContents()
            .ops.map((op) => (typeof op.insert === 'string' ? op.insert : 'IMG'))
            .join('|'),
        );
        window.rich.apply(b, [{ retain: 3, attributes: { bold: true } }]);
        steps.push(
          q
            .getContents()
            .ops.map((op) => (typeof op.insert === 'string' ? op.insert : 'IMG') + (op.attributes?.bold ? '*' : ''))
            .join('|'),
        );
        q.setSelection(4, 0, 'silent'); // after "abX": Quill 4 is Tandem 3 (the image has no length there)
        steps.push(b.adapter.selection());
        window.rich.apply(b, [{ retain: 1 }, { delete: 2 }]); // "bX" and the image between them
        steps.push(
          q
            .getContents()
            .ops.map((op) => (typeof op.insert === 'string' ? op.insert : 'IMG'))
            .join('|'),
        ); // "a" bold, "cd" not
        steps.push(b.host.read().text);
        return steps;
      });
      expect(out).toEqual(['abcd\nef', 'ab|IMG|Xcd\nef\n', 'ab*|IMG|X*|cd\nef\n', { anchor: 3, head: 3 }, 'a|cd\nef\n', 'acd\nef']);
      await page.close();
    });

    it("keeps collaborators' changes out of Quill's history, and its undo and redo run Tandem's; detaching puts the history back", async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { quill: q, bound } = window.rich.quill('<p>Hello</p>');
        const b = bound as Bound;
        const history = (q as unknown as { history: { stack: { undo: unknown[] }; options: { userOnly: boolean }; undo(): void; redo(): void } }).history;
        window.rich.apply(b, [{ retain: 5 }, { insert: ' there' }]);
        const recordedRemote = history.stack.undo.length;
        q.insertText(0, '> ', 'user');
        const notice = b.notices.at(-1);
        const recordedLocal = history.stack.undo.length;
        history.undo(); // a toolbar's undo handler
        history.redo();
        q.root.dispatchEvent(new InputEvent('beforeinput', { inputType: 'historyUndo', bubbles: true, cancelable: true }));
        const text = q.getText();
        b.adapter.destroy();
        const restored = !Object.hasOwn(history, 'undo') && history.options.userOnly === false;
        return { recordedRemote, notice, recordedLocal, undos: b.undos, text, restored };
      });
      expect(out.recordedRemote).toBe(0);
      expect(out.notice).toEqual({ t: 'change', delta: [{ insert: '> ', attributes: {} }] });
      expect(out.recordedLocal).toBe(1);
      expect(out.undos).toEqual([false, true, false]);
      expect(out.text).toBe('> Hello there\n'); // Quill's own undo did not run
      expect(out.restored).toBe(true);
      await page.close();
    });
  });

  describe('CKEditor 5', () => {
    const html =
      '<h2>Title</h2><ul><li>one</li><li>two</li></ul><blockquote><p>quoted</p></blockquote>' +
      '<pre><code class="language-plaintext">a\nb</code></pre><p>x<img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7">y</p>' +
      '<figure class="table"><table><tbody><tr><td>c1</td><td>c2</td></tr></tbody></table></figure>';

    it('reads textblocks as lines wherever they are, soft breaks as newlines, inline images as nothing', async () => {
      const page = await open();
      const text = await page.evaluate(async (h) => ((await window.rich.ckeditor(h)).bound as Bound).host.read().text, html);
      expect(text).toBe('Title\none\ntwo\nquoted\na\nb\nxy\nc1\nc2');
      await page.close();
    });

    it('splits as Enter does (a list item gets an item of its own, a code block a soft break) and joins keep the first block', async () => {
      const page = await open();
      const out = await page.evaluate(async (h) => {
        const { editor, bound } = await window.rich.ckeditor(h);
        const b = bound as Bound;
        const ok = [
          window.rich.apply(b, [{ retain: 9 }, { insert: '\n' }]), // one| → a new item
          window.rich.apply(b, [{ retain: 2 }, { insert: '\n' }]), // Ti|tle → two headings
          window.rich.apply(b, [{ retain: 24 }, { insert: '\n' }]), // a|\nb in the code block → a soft break
          window.rich.apply(b, [{ retain: 6 }, { delete: 1 }]), // "tle" + "one": the heading stays
        ];
        b.adapter.destroy();
        const undoable = editor.commands.get('undo')!.isEnabled;
        return { ok, data: editor.getData(), text: b.host.read().text, undoable, notices: b.notices };
      }, html);
      expect(out.ok).toEqual([true, true, true, true]);
      expect(out.text).toBe('Ti\ntleone\n\ntwo\nquoted\na\n\nb\nxy\nc1\nc2');
      // Two items with ids of their own (CKEditor's lists are blocks carrying an item id).
      const items = /^<h2>Ti<\/h2><h2>tleone<\/h2><ul><li data-list-item-id="(\w+)">&nbsp;<\/li><li data-list-item-id="(\w+)">two<\/li><\/ul>/.exec(out.data);
      expect(items).not.toBeNull();
      expect(items![1]).not.toBe(items![2]);
      expect(out.data).toContain('<pre><code class="language-plaintext">a\n\nb</code></pre>');
      expect(out.undoable).toBe(false); // none of it is in CKEditor's undo
      expect(out.notices).toEqual([]);
      await page.close();
    });

    it('maps offsets around inline images, formats text only, and stops cleanly where the model cannot hold a change (a join across table cells)', async () => {
      const page = await open();
      const out = await page.evaluate(async (h) => {
        const { editor, bound } = await window.rich.ckeditor(h);
        const b = bound as Bound;
        const steps: unknown[] = [];
        steps.push(window.rich.apply(b, [{ retain: 26 }, { insert: 'Z', attributes: { bold: true } }])); // xZ[img]y
        steps.push(window.rich.apply(b, [{ retain: 25 }, { retain: 3, attributes: { italic: true } }]));
        const paragraph = [...editor.model.document.getRoot()!.getChildren()].find((el) => el.is('element') && [...el.getChildren()].some((n) => n.is('element', 'imageInline')))!;
        steps.push(
          [...(paragraph as never as { getChildren(): Iterable<{ is(t: string): boolean; data?: string; name?: string; getAttributes(): Iterable<[string, unknown]> }> }).getChildren()].map(
            (n) =>
              `${n.is('$text') ? n.data : n.name}:${[...n.getAttributes()]
                .map(([k]) => k)
                .filter((k) => k === 'bold' || k === 'italic')
                .sort()
                .join('+')}`,
          ),
        );
        steps.push(window.rich.apply(b, [{ retain: 31 }, { delete: 1 }])); // the newline between c1 and c2
        steps.push(b.notices.map((n) => n.t));
        // An image first in its line: text inserted at the line's start goes before it.
        const { editor: e2, bound: b2 } = await window.rich.ckeditor('<p>ab</p><p><img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7">y</p>');
        steps.push(window.rich.apply(b2 as Bound, [{ retain: 3 }, { insert: 'Q' }]));
        steps.push(e2.getData().replace(/<img[^>]*>/, 'IMG'));
        return steps;
      }, html);
      expect(out[0]).toBe(true);
      expect(out[1]).toBe(true);
      expect(out[2]).toEqual(['x:italic', 'Z:bold+italic', 'imageInline:', 'y:italic']);
      expect(out[3]).toBe(false);
      expect(out[4]).toEqual(['broken']);
      expect(out[5]).toBe(true);
      expect(out[6]).toBe('<p>ab</p><p>QIMGy</p>');
      await page.close();
    });

    it('binds each root of a multi-root editor to its own text', async () => {
      const page = await open();
      const out = await page.evaluate(async () => {
        const { editor, bound } = await window.rich.multiRoot({ header: '<p>Head</p>', content: '<p>Body one</p><p>Body two</p>' });
        const header = bound.header as Bound;
        const content = bound.content as Bound;
        const before = [header.host.read().text, content.host.read().text];
        const ok = window.rich.apply(content, [{ retain: 8 }, { insert: '\n' }, { retain: 1 }, { insert: '!' }]);
        editor.model.change((writer) => writer.insertText('The ', editor.model.document.getRoot('header')!.getChild(0) as never, 0));
        return { before, ok, data: editor.getFullData(), notices: [header.notices, content.notices] };
      });
      expect(out.before).toEqual(['Head', 'Body one\nBody two']);
      expect(out.ok).toBe(true);
      expect(out.data).toEqual({ header: '<p>The Head</p>', content: '<p>Body one</p><p>&nbsp;</p><p>!Body two</p>' });
      expect(out.notices).toEqual([[{ t: 'change', delta: [{ insert: 'The ', attributes: {} }] }], []]);
      await page.close();
    });

    it("keeps collaborators' changes out of CKEditor's undo, and its undo and redo commands run Tandem's", async () => {
      const page = await open();
      const out = await page.evaluate(async () => {
        const { editor, bound } = await window.rich.ckeditor('<p>Hello</p>');
        const b = bound as Bound;
        window.rich.apply(b, [{ retain: 5 }, { insert: ' there' }]);
        const enabled = editor.commands.get('undo')!.isEnabled && editor.commands.get('redo')!.isEnabled;
        editor.model.change((writer) => writer.insertText('> ', editor.model.document.getRoot()!.getChild(0) as never, 0));
        const notice = b.notices.at(-1);
        editor.execute('undo'); // the toolbar button
        editor.execute('redo');
        const data = editor.getData();
        b.adapter.destroy();
        editor.execute('undo'); // CKEditor's own again
        return { enabled, notice, undos: b.undos, data, undone: editor.getData() };
      });
      expect(out.enabled).toBe(true); // the toolbar's buttons are Tandem's while bound
      expect(out.notice).toEqual({ t: 'change', delta: [{ insert: '> ', attributes: {} }] });
      expect(out.undos).toEqual([false, true]);
      expect(out.data).toBe('<p>&gt; Hello there</p>');
      expect(out.undone).toBe('<p>Hello there</p>'); // its undo takes back only the person's change
      await page.close();
    });
  });

  it('refuses a CodeMirror 6 the site already syncs itself (y-codemirror.next, @codemirror/collab), and leaves it as it was', async () => {
    const page = await open();
    const out = await page.evaluate(() => {
      const r = window.rich;
      return (['yjs', 'collab', null] as const).map((site) => {
        const { view, bound } = r.codemirror6(`Synced by ${site}`, site);
        const refusal = typeof bound === 'string' ? bound : null;
        r.unbind(bound);
        return { refusal, text: view.state.doc.toString() };
      });
    });
    expect(out).toEqual([
      { refusal: 'this editor is already collaborative (the site syncs it itself)', text: 'Synced by yjs' },
      { refusal: 'this editor is already collaborative (the site syncs it itself)', text: 'Synced by collab' },
      { refusal: null, text: 'Synced by null' },
    ]);
    await page.close();
  });

  it('stops on a CodeMirror 6 to which the site adds its own sync after binding (a compartment, a new state), and leaves its text as it was', async () => {
    const page = await open();
    const out = await page.evaluate(() =>
      (['yjs', 'collab'] as const).flatMap((site) => (['compartment', 'state'] as const).map((how) => window.rich.codemirror6SyncedLater(`Synced later by ${site}`, site, how))),
    );
    const reason = 'the site made it collaborative itself (its own sync was added after Tandem bound it; every change would travel twice)';
    expect(out).toEqual([
      { notices: [{ t: 'broken', reason }], text: 'Synced later by yjs' },
      { notices: [{ t: 'broken', reason }], text: 'Synced later by yjs' },
      { notices: [{ t: 'broken', reason }], text: 'Synced later by collab' },
      { notices: [{ t: 'broken', reason }], text: 'Synced later by collab' },
    ]);
    await page.close();
  });

  describe('ProseMirror', () => {
    it('refuses an editor the site already syncs itself (y-prosemirror), and leaves it as it was', async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { view, bound } = window.rich.prosemirror('<p>Synced by the site</p>');
        window.rich.unbind(bound);
        view.updateState(view.state.reconfigure({ plugins: [...view.state.plugins, window.rich.ySyncPlugin()] }));
        return { refusal: window.rich.bindProsemirror(view), text: view.state.doc.textContent };
      });
      expect(out.refusal).toBe('this editor is already collaborative (the site syncs it itself)');
      expect(out.text).toBe('Synced by the site');
      await page.close();
    });

    it('maps offsets around inline images: text inserted where a line starts with an image goes before it, a deletion next to one leaves it', async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const img = '<img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7">';
        const { view, bound } = window.rich.prosemirror(`<p>ab</p><p>${img}cd</p><p>${img}ef</p>`);
        const b = bound as Bound;
        const shape = (): string =>
          [...Array(view.state.doc.childCount).keys()]
            .map((i) => {
              const parts: string[] = [];
              view.state.doc.child(i).forEach((n) => parts.push(n.isText ? n.text! : 'IMG'));
              return parts.join('|');
            })
            .join('/');
        const steps: unknown[] = [b.host.read().text];
        steps.push(window.rich.apply(b, [{ retain: 3 }, { insert: 'Q' }]), shape());
        steps.push(window.rich.apply(b, [{ retain: 7 }, { delete: 2 }]), shape());
        steps.push(b.notices.map((n) => n.t));
        return steps;
      });
      expect(out[0]).toBe('ab\ncd\nef');
      expect(out[1]).toBe(true);
      expect(out[2]).toBe('ab/Q|IMG|cd/IMG|ef'); // before the fix: ab/IMG|Qcd
      expect(out[3]).toBe(true);
      expect(out[4]).toBe('ab/Q|IMG|cd/IMG'); // "ef" gone, the image before it kept
      expect(out[5]).toEqual([]);
      await page.close();
    });
  });

  describe('Lexical', () => {
    it('a change the site’s own collaboration brings (@lexical/yjs’s tag) ends the binding instead of being sent as the person’s', async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { editor, bound } = window.rich.lexical(['Shared by the site']);
        const b = bound as Bound;
        window.rich.lexicalCollaboratorTypes(editor, '!');
        return { notices: b.notices, text: editor.getRootElement()!.textContent };
      });
      expect(out.notices).toEqual([
        { t: 'broken', reason: 'this editor is already collaborative (the site syncs it itself); changes Tandem brought may be missing from the site’s copy: reload the page to see it' },
      ]);
      expect(out.text).toBe('Shared by the site!');
      await page.close();
    });

    it('reads blocks with inline children as lines wherever they are, line breaks as newlines', async () => {
      const page = await open();
      const text = await page.evaluate(() => (window.rich.lexical(['h1:Title', 'ul:one|two', 'quote:quoted', 'a\nb', '']).bound as Bound).host.read().text);
      expect(text).toBe('Title\none\ntwo\nquoted\na\nb\n');
      await page.close();
    });

    it('splits as Enter does (a list item gets an item of its own), joins keep the first block, marks go on text, none of it in its history', async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { editor, history, bound } = window.rich.lexical(['h1:Title', 'ul:one|two', 'a\nb']);
        const b = bound as Bound;
        const ok = [
          window.rich.apply(b, [{ retain: 9 }, { insert: '\n' }]), // one| → a new item
          window.rich.apply(b, [{ retain: 2 }, { insert: '\n' }]), // Ti|tle → two headings
          window.rich.apply(b, [{ retain: 6 }, { delete: 1 }]), // "tle" + "one": the heading stays
          window.rich.apply(b, [{ retain: 4 }, { retain: 4, attributes: { bold: true } }, { insert: 'Z', attributes: { italic: true, code: true } }]), // t[leon]Ze
          window.rich.apply(b, [{ retain: 17 }, { delete: 1 }, { insert: 'X' }]), // the line break in "a\nb"
        ];
        return { ok, blocks: window.rich.lexicalBlocks(editor), rich: b.host.read(), undo: history.undoStack.length, notices: b.notices };
      });
      expect(out.ok).toEqual([true, true, true, true, true]);
      expect(out.blocks).toEqual(['headingh1:Ti', 'headingh1:tleonZe', 'listitem:', 'listitem:two', 'paragraph:aXb']);
      expect(out.rich.content).toEqual([{ insert: 'Ti\nt' }, { insert: 'leon', attributes: { bold: true } }, { insert: 'Z', attributes: { italic: true, code: true } }, { insert: 'e\n\ntwo\naXb' }]);
      expect(out.undo).toBe(0);
      expect(out.notices).toEqual([]);
      await page.close();
    });

    it('maps offsets around inline decorators (no length in the text): text goes before one at its offset, and one goes only with text on both sides', async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { editor, bound } = window.rich.lexical(['ab*cd', '*x']);
        const b = bound as Bound;
        const steps: unknown[] = [b.host.read().text];
        steps.push(window.rich.apply(b, [{ retain: 2 }, { insert: 'X' }]), window.rich.lexicalBlocks(editor));
        steps.push(window.rich.apply(b, [{ retain: 6 }, { insert: 'Q' }]), window.rich.lexicalBlocks(editor)); // at the start of "*x"
        steps.push(window.rich.apply(b, [{ retain: 3 }, { retain: 1, attributes: { bold: true } }]), b.host.read().content);
        steps.push(window.rich.apply(b, [{ retain: 1 }, { delete: 3 }]), window.rich.lexicalBlocks(editor)); // "bXc" and the image between them
        return { steps, notices: b.notices };
      });
      expect(out.steps).toEqual([
        'abcd\nx',
        true,
        ['paragraph:abX*cd', 'paragraph:*x'],
        true,
        ['paragraph:abX*cd', 'paragraph:Q*x'],
        true,
        [{ insert: 'abX' }, { insert: 'c', attributes: { bold: true } }, { insert: 'd\nQx' }],
        true,
        ['paragraph:ad', 'paragraph:Q*x'],
      ]);
      expect(out.notices).toEqual([]);
      await page.close();
    });

    it("keeps the person's selection where it was in the text, and reports the person's changes", async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { editor, bound } = window.rich.lexical(['one', 'two']);
        const b = bound as Bound;
        const unselected = [b.adapter.selection()];
        window.rich.apply(b, [{ insert: 'x' }]);
        unselected.push(b.adapter.selection());
        b.adapter.select({ anchor: 6, head: 5 }); // "t" of "two", backwards
        const selected = b.adapter.selection();
        window.rich.apply(b, [{ retain: 1 }, { insert: 'A\nB' }]);
        const moved = b.adapter.selection();
        editor.update(() => void editor.getEditorState()._selection, { discrete: true }); // a no-op update: nothing to report
        editor.update(() => $insertAtSelection(), { discrete: true });
        return { unselected, selected, moved, notices: b.notices, text: b.host.read().text };

        function $insertAtSelection(): void {
          const selection = editor._pendingEditorState!._selection as unknown as { insertText(t: string): void };
          selection.insertText('!');
        }
      });
      expect(out.unselected).toEqual([null, null]);
      expect(out.selected).toEqual({ anchor: 6, head: 5 });
      expect(out.moved).toEqual({ anchor: 9, head: 8 });
      expect(out.text).toBe('xA\nBone\n!wo');
      expect(out.notices).toEqual([{ t: 'change', delta: [{ retain: 8 }, { delete: 1 }, { insert: '!', attributes: {} }] }]);
      await page.close();
    });

    it('takes a selection the keys moved and Lexical has not read yet before a remote change (a Shift+Arrow is not lost)', async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { editor, bound } = window.rich.lexical(['one two']);
        const b = bound as Bound;
        editor.getRootElement()!.focus();
        b.adapter.select({ anchor: 7, head: 4 });
        // What Shift+ArrowLeft does: the DOM selection moves now, Lexical reads it on the next selectionchange task.
        const text = document.createTreeWalker(editor.getRootElement()!, NodeFilter.SHOW_TEXT).nextNode()!;
        document.getSelection()!.setBaseAndExtent(text, 7, text, 3);
        b.host.flush(); // as the content script does before every remote change
        window.rich.apply(b, [{ insert: 'X' }]);
        return b.adapter.selection();
      });
      expect(out).toEqual({ anchor: 8, head: 4 });
      await page.close();
    });

    it("runs Tandem's undo and redo for Lexical's commands (its history is whole states: it would take collaborators' changes back)", async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { editor, bound } = window.rich.lexical(['Hello']);
        const b = bound as Bound;
        window.rich.apply(b, [{ retain: 5 }, { insert: ' there' }]);
        window.rich.lexicalHistory(editor, false);
        window.rich.lexicalHistory(editor, true);
        const text = b.host.read().text;
        b.adapter.destroy();
        return { undos: b.undos, text, notices: b.notices };
      });
      expect(out.undos).toEqual([false, true]);
      expect(out.text).toBe('Hello there');
      expect(out.notices).toEqual([]);
      await page.close();
    });
  });

  describe('Slate', () => {
    it('finds the editor through React from its editable; refuses a Slate too old to change in one normalized step', async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const found = typeof window.rich.slate(['x']).bound !== 'string';
        const { editor } = window.rich.slate(['y']);
        const editable = document.querySelectorAll<HTMLElement>('[data-slate-editor]')[1]!;
        (editor as { withoutNormalizing?: unknown }).withoutNormalizing = undefined; // as Slate 0.9x has it
        return { found, old: window.rich.bindSlate(editable) };
      });
      expect(out).toEqual({ found: true, old: 'this version of Slate is not supported (Tandem needs Slate 0.100 or later)' });
      await page.close();
    });

    it('reads blocks with inline children as lines wherever they are; links are text, voids are not', async () => {
      const page = await open();
      const text = await page.evaluate(() => (window.rich.slate(['h1:Title', 'ul:one|two', 'quote:quoted', 'a[b]c*d', '']).bound as Bound).host.read().text);
      expect(text).toBe('Title\none\ntwo\nquoted\nabcd\n');
      await page.close();
    });

    it('splits as Enter does (a list item gets an item of its own), joins keep the first block, marks go on text, none of it in its history', async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { editor, bound } = window.rich.slate(['h1:Title', 'ul:one|two', 'para']);
        const b = bound as Bound;
        const ok = [
          window.rich.apply(b, [{ retain: 9 }, { insert: '\n' }]), // one| → a new item
          window.rich.apply(b, [{ retain: 2 }, { insert: '\n' }]), // Ti|tle → two headings
          window.rich.apply(b, [{ retain: 6 }, { delete: 1 }]), // "tle" + "one": the heading stays
          window.rich.apply(b, [{ retain: 4 }, { retain: 4, attributes: { bold: true } }, { insert: 'Z', attributes: { italic: true, code: true } }]), // t[leon]Ze
          window.rich.apply(b, [{ retain: 14 }, { delete: 4 }, { insert: 'X' }]), // "o\npa" across a list's end: "twX" + "ra"
        ];
        return { ok, blocks: window.rich.slateBlocks(editor), rich: b.host.read(), undos: editor.history.undos.length, notices: b.notices };
      });
      expect(out.ok).toEqual([true, true, true, true, true]);
      expect(out.blocks).toEqual(['heading-one:Ti', 'heading-one:tleonZe', 'list-item:', 'list-item:twXra']);
      expect(out.rich.content).toEqual([{ insert: 'Ti\nt' }, { insert: 'leon', attributes: { bold: true } }, { insert: 'Z', attributes: { italic: true, code: true } }, { insert: 'e\n\ntwXra' }]);
      expect(out.undos).toBe(0);
      expect(out.notices).toEqual([]);
      await page.close();
    });

    it('maps offsets around inline voids (no length in the text) and inside links; a void goes only with text on both sides; a link splits with its line', async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { editor, bound } = window.rich.slate(['ab*cd', 'e[link]f']);
        const b = bound as Bound;
        const steps: unknown[] = [b.host.read().text];
        steps.push(window.rich.apply(b, [{ retain: 2 }, { insert: 'X' }]), window.rich.slateBlocks(editor));
        steps.push(window.rich.apply(b, [{ retain: 1 }, { delete: 3 }]), window.rich.slateBlocks(editor)); // "bXc" and the mention between them
        steps.push(window.rich.apply(b, [{ retain: 5 }, { insert: 'Q' }]), window.rich.slateBlocks(editor)); // inside the link
        steps.push(window.rich.apply(b, [{ retain: 5 }, { insert: '\n' }]), window.rich.slateBlocks(editor)); // l|Qink
        steps.push(window.rich.apply(b, [{ retain: 4 }, { retain: 1, attributes: { bold: true } }]), b.host.read().content);
        return { steps, notices: b.notices };
      });
      expect(out.steps).toEqual([
        'abcd\nelinkf',
        true,
        ['paragraph:abX*cd', 'paragraph:e[link]f'],
        true,
        ['paragraph:ad', 'paragraph:e[link]f'],
        true,
        ['paragraph:ad', 'paragraph:e[lQink]f'],
        true,
        ['paragraph:ad', 'paragraph:e[l]', 'paragraph:[Qink]f'],
        true,
        [{ insert: 'ad\ne' }, { insert: 'l', attributes: { bold: true } }, { insert: '\nQinkf' }],
      ]);
      expect(out.notices).toEqual([]);
      await page.close();
    });

    it("keeps the person's selection where it was in the text, and reports the person's changes (not its own)", async () => {
      const page = await open();
      const out = await page.evaluate(async () => {
        const { editor, bound } = window.rich.slate(['one', 'two']);
        const b = bound as Bound;
        const unselected = [b.adapter.selection()];
        window.rich.apply(b, [{ insert: 'x' }]);
        unselected.push(b.adapter.selection());
        b.adapter.select({ anchor: 6, head: 5 }); // "t" of "two", backwards
        const selected = b.adapter.selection();
        window.rich.apply(b, [{ retain: 1 }, { insert: 'A\nB' }]);
        const moved = b.adapter.selection();
        await new Promise((resolve) => setTimeout(resolve)); // Slate's change notification (a microtask)
        const ownNotices = b.notices.length;
        editor.insertText('!');
        await new Promise((resolve) => setTimeout(resolve));
        return { unselected, selected, moved, ownNotices, notices: b.notices, text: b.host.read().text };
      });
      expect(out.unselected).toEqual([null, null]);
      expect(out.selected).toEqual({ anchor: 6, head: 5 });
      expect(out.moved).toEqual({ anchor: 9, head: 8 });
      expect(out.ownNotices).toBe(0);
      expect(out.text).toBe('xA\nBone\n!wo');
      expect(out.notices).toEqual([{ t: 'change', delta: [{ retain: 8 }, { delete: 1 }, { insert: '!', attributes: {} }] }]);
      await page.close();
    });

    it('takes a selection the person moved and slate-react has not read yet (it reads at most every 100 ms) before a remote change', async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { bound } = window.rich.slate(['one two']);
        const b = bound as Bound;
        const editable = document.querySelector<HTMLElement>('[data-slate-editor]')!;
        editable.focus();
        b.adapter.select({ anchor: 7, head: 4 });
        // The person drags a selection: the DOM's moves now, slate-react reads it later.
        const text = editable.querySelector('[data-slate-string]')!.firstChild!;
        document.getSelection()!.setBaseAndExtent(text, 7, text, 3);
        editable.dispatchEvent(new PointerEvent('pointerup', { bubbles: true }));
        b.host.flush(); // as the content script does before every remote change
        window.rich.apply(b, [{ insert: 'X' }]);
        return b.adapter.selection();
      });
      expect(out).toEqual({ anchor: 8, head: 4 });
      await page.close();
    });

    it('renders a collaborator’s change before the task ends (React would a task later, after a key press that moves the selection)', async () => {
      const page = await open();
      const shown = await page.evaluate(async () => {
        const { bound } = window.rich.slate(['one two']);
        const b = bound as Bound;
        const editable = document.querySelector<HTMLElement>('[data-slate-editor]')!;
        editable.focus();
        // A task of its own, as a collaborator's change comes (the harness's first render, in
        // flushSync, leaves React work that would run in this task's microtasks anyway).
        await new Promise((resolve) => setTimeout(resolve, 0));
        window.rich.apply(b, [{ insert: 'X' }]);
        // Microtasks only: Slate's onChange and React's sync render run here; a later task does not
        // (without the adapter's renderNow the text shows only after a task: checked).
        for (let i = 0; i < 50; i++) await null;
        return editable.textContent;
      });
      expect(shown).toBe('Xone two');
      await page.close();
    });

    it("runs Tandem's undo and redo for the editor's (slate-history's would replay collaborators' changes at stale paths), and gives them back when unbound", async () => {
      const page = await open();
      const out = await page.evaluate(() => {
        const { editor, bound } = window.rich.slate(['Hello']);
        const b = bound as Bound;
        window.rich.apply(b, [{ retain: 5 }, { insert: ' there' }]);
        editor.undo();
        editor.redo();
        const text = b.host.read().text;
        b.adapter.destroy();
        editor.select({ path: [0, 0], offset: 11 });
        editor.insertText('!'); // the person's own change, after unbinding: slate-history's again
        const afterUnbind = editor.history.undos.length;
        editor.undo();
        return { undos: b.undos, text, afterUnbind, undone: window.rich.slateBlocks(editor), notices: b.notices };
      });
      expect(out.undos).toEqual([false, true]);
      expect(out.text).toBe('Hello there');
      expect(out.afterUnbind).toBe(1);
      expect(out.undone).toEqual(['paragraph:Hello there']);
      expect(out.notices).toEqual([]);
      await page.close();
    });
  });

  describe('Trix', () => {
    it('reads blocks and line breaks as lines, attachments as nothing; splits as Enter does (a list item gets an item, a plain block a line break); joins keep the first block; marks and links on text; none of it in its undo', async () => {
      const page = await open();
      const out = await page.evaluate(async () => {
        const { element, bound } = await window.rich.trix('<h1>Title</h1><ul><li>one</li><li>two</li></ul><div>a<br>b</div>');
        const b = bound as Bound;
        const read = [b.host.read().text, window.rich.trixBlocks(element)];
        const ok = [
          window.rich.apply(b, [{ retain: 9 }, { insert: '\n' }]), // one| → a new item
          window.rich.apply(b, [{ retain: 17 }, { insert: '\n' }]), // a\n|b → a line break in the plain block
          window.rich.apply(b, [{ retain: 5 }, { delete: 1 }]), // "Title" + "one": the heading stays
          window.rich.apply(b, [{ retain: 5, attributes: { bold: true } }, { retain: 3 }, { insert: 'Z', attributes: { link: 'https://x.test/' } }]),
        ];
        return { read, ok, blocks: window.rich.trixBlocks(element), rich: b.host.read().content, undos: element.editor.undoManager.undoEntries.length, notices: b.notices };
      });
      expect(out.read).toEqual(['Title\none\ntwo\na\nb', ['heading1:Title', 'bulletList/bullet:one', 'bulletList/bullet:two', 'div:a\nb']]);
      expect(out.ok).toEqual([true, true, true, true]);
      expect(out.blocks).toEqual(['heading1:TitleoneZ', 'bulletList/bullet:', 'bulletList/bullet:two', 'div:a\n\nb']);
      expect(out.rich).toEqual([{ insert: 'Title', attributes: { bold: true } }, { insert: 'one' }, { insert: 'Z', attributes: { link: 'https://x.test/' } }, { insert: '\n\ntwo\na\n\nb' }]);
      expect(out.undos).toBe(0);
      expect(out.notices).toEqual([]);
      await page.close();
    });

    it('maps offsets around attachments (no length in the text): text goes before one at its offset, one goes only with text on both sides', async () => {
      const page = await open();
      const out = await page.evaluate(async () => {
        const { element, bound } = await window.rich.trix('<div>ab*cd</div>');
        const b = bound as Bound;
        const steps: unknown[] = [b.host.read().text, window.rich.trixBlocks(element)];
        steps.push(window.rich.apply(b, [{ retain: 2 }, { insert: 'X' }]), window.rich.trixBlocks(element));
        steps.push(window.rich.apply(b, [{ retain: 1 }, { delete: 3 }]), window.rich.trixBlocks(element)); // "bXc" and the attachment between them
        return { steps, notices: b.notices };
      });
      expect(out.steps).toEqual(['abcd', ['div:ab*cd'], true, ['div:abX*cd'], true, ['div:ad']]);
      expect(out.notices).toEqual([]);
      await page.close();
    });

    it("keeps a backwards selection backwards through a remote change (the next Shift+Arrow moves the same end), and reports the person's changes", async () => {
      const page = await open();
      const out = await page.evaluate(async () => {
        const { element, bound } = await window.rich.trix('<div>one two</div>');
        const b = bound as Bound;
        element.focus();
        b.adapter.select({ anchor: 7, head: 4 });
        const selected = b.adapter.selection();
        window.rich.apply(b, [{ insert: 'X' }]);
        const moved = b.adapter.selection();
        const dom = document.getSelection()!;
        const backwards = dom.anchorOffset > dom.focusOffset;
        element.editor.insertString('!'); // the person's typing, through the editor
        return { selected, moved, backwards, notices: b.notices };
      });
      expect(out.selected).toEqual({ anchor: 7, head: 4 });
      expect(out.moved).toEqual({ anchor: 8, head: 5 });
      expect(out.backwards).toBe(true);
      expect(out.notices).toEqual([{ t: 'change', delta: [{ retain: 5 }, { delete: 3 }, { insert: '!', attributes: {} }] }]);
      await page.close();
    });

    it("runs Tandem's undo and redo for the editor's (its entries are whole snapshots: an undo would take collaborators' changes back), and gives them back when unbound", async () => {
      const page = await open();
      const out = await page.evaluate(async () => {
        const { element, bound } = await window.rich.trix('<div>Hello</div>');
        const b = bound as Bound;
        window.rich.apply(b, [{ retain: 5 }, { insert: ' there' }]);
        element.editor.undo();
        element.editor.redo();
        const text = b.host.read().text;
        b.adapter.destroy();
        const own = element.editor.undo === Object.getPrototypeOf(element.editor).undo;
        return { undos: b.undos, text, own, notices: b.notices };
      });
      expect(out).toEqual({ undos: [false, true], text: 'Hello there', own: true, notices: [] });
      await page.close();
    });
  });
});
