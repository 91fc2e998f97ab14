/**
 * The contenteditable mapping (extension/lib/content/rich-dom.ts) in a real Chromium, without
 * the extension: random formatted edits applied in place to markup the way browsers and pages
 * write it must read back as the rich text model says, keeping unrelated nodes.
 */
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, ROOT } from './browsers';
import { existsSync } from 'node:fs';

describe.skipIf(!existsSync(CHROMIUM))('contenteditable as formatted text (Chromium)', () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const bundle = await build({
      stdin: {
        contents: `
          import { readLayout } from './extension/lib/content/rich-dom';
          import { applyToElement } from './extension/lib/content/rich-dom-write';
          import { applyRich, richFromDelta, richToDelta, sameRich } from './shared/text/rich';
          import { STYLE_KEYS } from './shared/document';
          globalThis.rich = { applyToElement, readLayout, applyRich, richFromDelta, richToDelta, sameRich, STYLE_KEYS };`,
        resolveDir: ROOT,
        loader: 'ts',
      },
      bundle: true,
      write: false,
      format: 'iife',
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage();
    await page.setContent('<div id="ed" contenteditable></div>');
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
  });
  afterAll(async () => {
    await browser?.close();
  });

  const FIXTURES = [
    ['Chrome lines', 'abc<div>def</div><div><br></div><div>g<b>hi</b>j</div>'],
    ['paragraphs with formatting', '<p>one <b>two <i>three</i></b></p><p><a href="https://x.example/">link</a> <span style="color:red">red</span></p>'],
    ['line breaks', 'a<br>b<br><br>c<br><br>'],
    ['a list and loose text', '<ul><li>one</li><li><b>two</b></li></ul>after<div>last</div>'],
    ['empty', ''],
  ] as const;
  const SEEDS = Number(process.env.RICH_DOM_SEEDS ?? 3);
  it.each(FIXTURES.flatMap(([name, html]) => Array.from({ length: SEEDS }, (_, i) => [name, i + 1, html] as const)))(
    'random edits on %s read back as the model (seed %i)',
    async (_name, seed, html) => {
      const failures = await page.evaluate(
        ({ html, seed }) => {
          const { applyToElement, readLayout, applyRich, richToDelta, sameRich, STYLE_KEYS } = (globalThis as any).rich;
          const el = document.getElementById('ed')!;
          el.innerHTML = html;
          let a = seed >>> 0;
          const random = (): number => {
            a = (a + 0x6d2b79f5) >>> 0;
            let t = a;
            t = Math.imul(t ^ (t >>> 15), t | 1);
            t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
            return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
          };
          const attrs = (nulls: boolean): Record<string, unknown> => {
            const out: Record<string, unknown> = {};
            for (const k of ['bold', 'italic', 'underline', 'strike', 'code', 'link']) {
              const r = random();
              if (r < 0.2) out[k] = k === 'link' ? `https://${Math.floor(random() * 2)}.example/` : true;
              else if (nulls && r < 0.35) out[k] = null;
            }
            return out;
          };
          const shown = (r: { text: string; marks: object[] }) => ({ text: r.text, marks: r.marks.map((m, i) => (r.text[i] === '\n' ? {} : m)) });
          let model = shown(readLayout(el, false).rich);
          const errors: string[] = [];
          for (let step = 0; step < 300 && errors.length === 0; step++) {
            const length = model.text.length;
            const at = Math.floor(random() * (length + 1));
            const roll = random();
            let delta: object[];
            if (roll < 0.3 && at < length) delta = [{ retain: at }, { retain: 1 + Math.floor(random() * Math.min(6, length - at)), attributes: attrs(true) }];
            else if (roll < 0.55 && at < length) delta = [{ retain: at }, { delete: 1 + Math.floor(random() * Math.min(4, length - at)) }];
            else delta = [{ retain: at }, { insert: ['x', 'yz', '\n', 'a\nb', '\n\n', ' q '][Math.floor(random() * 6)], attributes: attrs(false) }];
            delta = delta.filter((op: any) => !('retain' in op && op.retain === 0 && !op.attributes));
            const before = el.innerHTML;
            model = shown(applyRich(model, delta, STYLE_KEYS));
            applyToElement(el, delta, false);
            const read = readLayout(el, false).rich;
            if (!sameRich(read, model))
              errors.push(`step ${step}: ${JSON.stringify(delta)} on ${before}\n→ ${el.innerHTML}\nread ${JSON.stringify(richToDelta(read))}\nwant ${JSON.stringify(richToDelta(model))}`);
          }
          return errors;
        },
        { html, seed },
      );
      if (failures.length > 0) console.log(failures.join('\n'));
      expect(failures).toEqual([]);
    },
  );

  it('keeps formatting it does not know around the text it formats, and reads a plaintext-only host without formatting', async () => {
    const result = await page.evaluate(() => {
      const { applyToElement, readLayout, richToDelta } = (globalThis as any).rich;
      const el = document.getElementById('ed')!;
      el.innerHTML = 'a <span style="color: red;">red words</span> b';
      applyToElement(el, [{ retain: 2 }, { retain: 3, attributes: { bold: true } }], false);
      const formatted = el.innerHTML;
      const read = richToDelta(readLayout(el, false).rich);
      el.innerHTML = '<b>bold</b> <i>and</i><div>line</div>';
      const plain = richToDelta(readLayout(el, true).rich);
      applyToElement(
        el,
        [
          { retain: 1, attributes: { italic: true } },
          { insert: 'X', attributes: { code: true } },
        ],
        true,
      );
      return { formatted, read, plain, plainAfter: el.innerHTML };
    });
    expect(result.formatted).toBe('a <span style="color: red;"><strong>red</strong></span><span style="color: red;"> words</span> b');
    expect(result.read).toEqual([{ insert: 'a ' }, { insert: 'red', attributes: { bold: true } }, { insert: ' words b' }]);
    expect(result.plain).toEqual([{ insert: 'bold and\nline' }]);
    expect(result.plainAfter).toBe('<b>bXold</b> <i>and</i><div>line</div>');
  });

  it('keeps unrelated nodes and the caret: typing elsewhere moves nothing, the caret shifts by what was inserted before it', async () => {
    const result = await page.evaluate(() => {
      const { applyToElement, readLayout } = (globalThis as any).rich;
      const el = document.getElementById('ed')!;
      el.innerHTML = '<p id="first">Hello <b>bold</b> world</p><p id="second">second line</p>';
      const second = document.getElementById('second')!.firstChild!;
      el.focus();
      document.getSelection()!.collapse(second, 7); // "second |line"
      applyToElement(el, [{ retain: 6 }, { insert: 'big ', attributes: { italic: true } }], false);
      applyToElement(el, [{ retain: 10 }, { retain: 4, attributes: { bold: null, link: 'https://l.example/' } }], false);
      const sel = document.getSelection()!;
      return {
        html: el.innerHTML,
        same: document.getElementById('second')!.firstChild === second,
        caret: readLayout(el, false, [{ node: sel.focusNode!, offset: sel.focusOffset }]).offsets[0],
      };
    });
    expect(result.html).toBe('<p id="first">Hello <em>big </em><a href="https://l.example/">bold</a> world</p><p id="second">second line</p>');
    expect(result.same).toBe(true);
    expect(result.caret).toBe('Hello big bold world\nsecond '.length);
  });
});
