/**
 * TinyMCE (self-hosted from its npm package, iframe mode, the classic way sites embed it):
 * `tinymce.min.js` is loaded by the page from /vendor/tinymce/, then two editors replace two
 * textareas. The test API reads TinyMCE's content body, which is TinyMCE's model.
 */
interface Tiny {
  init(options: object): Promise<TinyEditor[]>;
  get(id: string): TinyEditor;
}
interface TinyEditor {
  getBody(): HTMLElement;
  getWin(): Window;
  getDoc(): Document;
  focus(): void;
  iframeElement: HTMLIFrameElement;
  selection: { setRng(r: Range): void };
}
import { expose } from './expose';

const BLOCKS = /^(P|DIV|H[1-6]|LI|PRE|BLOCKQUOTE)$/;
const MARKS: Record<string, string> = { STRONG: 'bold', B: 'bold', EM: 'italic', I: 'italic', U: 'underline', S: 'strike', DEL: 'strike', CODE: 'code' };

/** Lines (blocks) of the body with their text nodes, TinyMCE's caret characters left out. */
function lines(body: HTMLElement): { runs: { insert: string; attributes?: Record<string, unknown> }[]; nodes: { node: Text; start: number }[]; text: string } {
  const runs: { insert: string; attributes?: Record<string, unknown> }[] = [];
  const nodes: { node: Text; start: number }[] = [];
  let text = '';
  let first = true;
  const walk = (node: Node, marks: Record<string, unknown>): void => {
    if (node.nodeType === Node.TEXT_NODE) {
      const t = (node as Text).data.replace(/\ufeff/g, '').replace(/\u00a0/g, ' '); // a no-break space typed where a space would collapse is a space
      if (!t) return;
      nodes.push({ node: node as Text, start: text.length });
      text += t;
      runs.push(Object.keys(marks).length ? { insert: t, attributes: { ...marks } } : { insert: t });
      return;
    }
    const el = node as Element;
    if (el.getAttribute?.('data-mce-bogus') === 'all') return;
    if (BLOCKS.test(el.tagName ?? '')) {
      if (!first) {
        text += '\n';
        runs.push({ insert: '\n' });
      }
      first = false;
    }
    const mark = MARKS[el.tagName ?? ''];
    const inner = mark ? { ...marks, [mark]: true } : marks;
    for (const c of node.childNodes) walk(c, inner);
  };
  walk(body, {});
  return { runs, nodes, text };
}

const tiny = (window as unknown as { tinymce: Tiny }).tinymce;
const editors = new Map<string, TinyEditor>();
void Promise.all(
  ['plain', 'shared'].map(async (id) => {
    const area = document.createElement('textarea');
    area.id = `${id}-area`;
    area.value = '<p>Start here.</p><p>Second line.</p>';
    document.getElementById(id)!.append(area);
    const [editor] = await tiny.init({
      selector: `#${id}-area`,
      license_key: 'gpl',
      base_url: '/vendor/tinymce',
      suffix: '.min',
      menubar: false,
      height: 420,
      plugins: 'link',
      toolbar: 'undo redo | bold italic underline strikethrough | link',
      promotion: false,
      branding: false,
    });
    editors.set(id, editor!);
  }),
).then(() => {
  const editor = (id: string): TinyEditor => editors.get(id)!;
  const point = (id: string, offset: number): [Node, number] => {
    const { nodes } = lines(editor(id).getBody());
    for (const { node, start } of nodes) if (offset <= start + node.data.length) return [node, offset - start];
    const last = nodes[nodes.length - 1];
    return last ? [last.node, last.node.data.length] : [editor(id).getBody(), 0];
  };
  expose({
    root: (id) => editor(id).iframeElement,
    text: (id) => lines(editor(id).getBody()).text,
    rich: (id) => lines(editor(id).getBody()).runs,
    selection: (id) => {
      const sel = editor(id).getWin().getSelection();
      if (!sel?.anchorNode || !sel.focusNode) return null;
      const { nodes } = lines(editor(id).getBody());
      const at = (n: Node, _offset: number): number | null => nodes.find((x) => x.node === n)?.start ?? null;
      const a = at(sel.anchorNode, sel.anchorOffset);
      const h = at(sel.focusNode, sel.focusOffset);
      return a === null || h === null ? null : { anchor: a + sel.anchorOffset, head: h + sel.focusOffset };
    },
    select: (id, anchor, head) => {
      editor(id).focus();
      const [an, ao] = point(id, anchor);
      const [hn, ho] = point(id, head);
      editor(id).getWin().getSelection()!.setBaseAndExtent(an, ao, hn, ho);
    },
    caret: (id, offset) => {
      const [n, o] = point(id, offset);
      const range = editor(id).getDoc().createRange();
      range.setStart(n, o);
      const r = range.getClientRects()[0] ?? range.getBoundingClientRect();
      const frame = editor(id).iframeElement.getBoundingClientRect();
      return { left: r.left + frame.left + editor(id).iframeElement.clientLeft, top: r.top + frame.top + editor(id).iframeElement.clientTop, height: r.height };
    },
    healthy: (id) => editor(id).getBody().isContentEditable && lines(editor(id).getBody()).text.length > 0,
  });
});
