/**
 * The rich adapters on their own (no extension, no server), for ../rich-adapters.test.ts: real
 * Quill, CKEditor 5, ProseMirror, Lexical and Slate instances (and CodeMirror 6 for how a site's own sync is seen) with the structure sites give them (headings, lists, quotes,
 * code blocks, images, tables), an EditorHost on each as the page bridge makes it, and what it
 * told the content script. The tests drive it with `window.rich` and read the editors' models.
 */
import { BlockQuote, Bold, ClassicEditor, Code, CodeBlock, Essentials, Heading, ImageBlock, ImageInline, Italic, Link, List, MultiRootEditor, Paragraph, Table, Undo } from 'ckeditor5';
import { DOMParser as PmParser } from 'prosemirror-model';
import { schema as pmSchema } from 'prosemirror-schema-basic';
import { EditorState, Plugin, PluginKey } from 'prosemirror-state';
import { EditorView } from 'prosemirror-view';
import { createEmptyHistoryState, registerHistory, type HistoryState } from '@lexical/history';
import { $createListItemNode, $createListNode, ListItemNode, ListNode } from '@lexical/list';
import { $createHeadingNode, $createQuoteNode, HeadingNode, QuoteNode, registerRichText } from '@lexical/rich-text';
import {
  $createLineBreakNode,
  $createParagraphNode,
  $createTextNode,
  $getRoot,
  DecoratorNode,
  REDO_COMMAND,
  UNDO_COMMAND,
  createEditor,
  type ElementNode,
  type LexicalEditor,
  type NodeKey,
} from 'lexical';

/** An inline image as sites make them: a decorator (not text). */
class ImageNode extends DecoratorNode<null> {
  static override getType(): string {
    return 'image';
  }
  static override clone(node: ImageNode): ImageNode {
    return new ImageNode(node.__key);
  }
  static override importJSON(): ImageNode {
    return new ImageNode();
  }
  constructor(key?: NodeKey) {
    super(key);
  }
  override createDOM(): HTMLElement {
    const img = document.createElement('img');
    img.src = 'data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';
    return img;
  }
  override updateDOM(): false {
    return false;
  }
  override decorate(): null {
    return null;
  }
}
import Quill from 'quill';
import Trix from 'trix';
import { type ComponentProps, createElement } from 'react';
import { collab } from '@codemirror/collab';
import { Compartment, EditorState as CmState } from '@codemirror/state';
import { EditorView as CmView } from '@codemirror/view';
import { yCollab } from 'y-codemirror.next';
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import { type Descendant, type Editor as SlateEditor, Node as SlateNode, createEditor as createSlateEditor } from 'slate';
import { withHistory } from 'slate-history';
import { Editable, Slate, withReact } from 'slate-react';
import type { TextDelta } from '../../../../shared/text/delta';
import { adapterOn, type AdapterFactory, type EditorAdapter } from '../../../../extension/lib/page/adapter';
import { ckeditor5 } from '../../../../extension/lib/page/adapters/ckeditor5';
import { codemirror6 } from '../../../../extension/lib/page/adapters/codemirror6';
import { prosemirrorWithView } from '../../../../extension/lib/page/adapters/prosemirror';
import { lexical } from '../../../../extension/lib/page/adapters/lexical';
import { quill } from '../../../../extension/lib/page/adapters/quill';
import { slate } from '../../../../extension/lib/page/adapters/slate';
import { trix } from '../../../../extension/lib/page/adapters/trix';
import { EditorHost } from '../../../../extension/lib/page/host';
import type { PageNotice } from '../../../../extension/lib/page-protocol';

interface TrixPiece {
  attachment?: unknown;
  toString(): string;
  hasAttribute(name: string): boolean;
}
export type TrixElement = HTMLElement & {
  editor: {
    getDocument(): { toString(): string; getBlocks(): { getAttributes(): string[]; text: { getPieces(): TrixPiece[] } }[] };
    setSelectedRange(range: [number, number]): void;
    insertAttachment(attachment: unknown): void;
    insertString(text: string): void;
    undo(): void;
    redo(): void;
    undoManager: { undoEntries: unknown[]; redoEntries: unknown[] };
  };
};

export interface Bound {
  host: EditorHost;
  adapter: EditorAdapter;
  notices: PageNotice[];
  /** The editor's own undo (true: redo) asked for, in order. */
  undos: boolean[];
}

function bind(factory: AdapterFactory, root: HTMLElement): Bound | string {
  const notices: PageNotice[] = [];
  const undos: boolean[] = [];
  let host: EditorHost | null = null;
  const adapter = adapterOn(factory, root, {
    changed: (delta) => host?.changed(delta),
    selected: () => undefined,
    undo: (redo) => undos.push(redo),
    composing: () => undefined,
    moved: () => undefined,
    detached: (reason) => host?.detach(reason),
  });
  if (typeof adapter === 'string') return adapter;
  host = new EditorHost(adapter, (notice) => notices.push(notice));
  return { host, adapter, notices, undos };
}

/** A fresh slot for one editor. */
function slot(html: string): HTMLElement {
  const div = document.createElement('div');
  div.innerHTML = html;
  document.body.append(div);
  return div;
}

const harness = {
  /** A Quill 2 (snow, its toolbar) started from HTML, and the adapter on it. */
  quill(html: string): { quill: Quill; bound: Bound | string } {
    const q = new Quill(slot(html), { theme: 'snow' });
    return { quill: q, bound: bind(quill, q.container) };
  },
  /** The adapter on an editor the test made itself (another global, a hardened page). */
  bindQuill: (container: HTMLElement) => bind(quill, container),
  newQuill: (html: string) => new Quill(slot(html), { theme: 'snow' }),
  Quill,
  /** A CKEditor 5 ClassicEditor with structure plugins, and the adapter on its editable. */
  async ckeditor(html: string): Promise<{ editor: ClassicEditor; bound: Bound | string }> {
    const editor = await ClassicEditor.create(slot(''), {
      licenseKey: 'GPL',
      plugins: [Essentials, Paragraph, Heading, List, BlockQuote, CodeBlock, Bold, Italic, Code, Link, Undo, ImageBlock, ImageInline, Table],
      initialData: html,
    });
    return { editor, bound: bind(ckeditor5, editor.ui.getEditableElement()!) };
  },
  /** A MultiRootEditor with two roots, and the adapter on each root's editable. */
  async multiRoot(roots: Record<string, string>): Promise<{ editor: MultiRootEditor; bound: Record<string, Bound | string> }> {
    const editor = await MultiRootEditor.create(Object.fromEntries(Object.keys(roots).map((name) => [name, slot('')])), {
      licenseKey: 'GPL',
      plugins: [Essentials, Paragraph, Bold],
      initialData: roots,
    });
    return { editor, bound: Object.fromEntries(Object.keys(roots).map((name) => [name, bind(ckeditor5, editor.ui.getEditableElement(name)!)])) };
  },
  /** A bare ProseMirror view (schema-basic: inline images) started from HTML, and the adapter on it. */
  prosemirror(html: string): { view: EditorView; bound: Bound | string } {
    const holder = slot('');
    const content = document.createElement('div');
    content.innerHTML = html;
    const view = new EditorView(holder, { state: EditorState.create({ doc: PmParser.fromSchema(pmSchema).parse(content) }) });
    // The view in hand (finding it on a page is the scenario's business).
    return { view, bound: bind((_root, events) => prosemirrorWithView(view as never, events), view.dom as HTMLElement) };
  },
  /**
   * A Lexical editor with the rich-text and history plugins, headings, quotes and lists, and the
   * adapter on its root. `blocks`: `h1:`, `quote:`, `ul:` (items split by `|`) or plain
   * paragraphs; `\n` in a block is a line break node, `*` an inline image.
   */
  lexical(blocks: string[]): { editor: LexicalEditor; history: HistoryState; bound: Bound | string } {
    const root = slot('');
    root.contentEditable = 'true';
    const editor = createEditor({
      namespace: 'rich',
      nodes: [HeadingNode, QuoteNode, ListNode, ListItemNode, ImageNode],
      onError: (error) => {
        throw error;
      },
    });
    editor.setRootElement(root);
    registerRichText(editor);
    const history = createEmptyHistoryState();
    registerHistory(editor, history, 0);
    const fill = (el: ElementNode, text: string): ElementNode => {
      text.split('\n').forEach((part, i) => {
        if (i > 0) el.append($createLineBreakNode());
        part.split('*').forEach((text, j) => {
          if (j > 0) el.append(new ImageNode());
          if (text) el.append($createTextNode(text));
        });
      });
      return el;
    };
    editor.update(
      () => {
        $getRoot()
          .clear()
          .append(
            ...blocks.map((b) => {
              const [, kind, text] = /^(?:(h1|quote|ul):)?(.*)$/s.exec(b)!;
              if (kind === 'h1') return fill($createHeadingNode('h1'), text!);
              if (kind === 'quote') return fill($createQuoteNode(), text!);
              if (kind === 'ul') return $createListNode('bullet').append(...text!.split('|').map((item) => fill($createListItemNode(), item)));
              return fill($createParagraphNode(), text!);
            }),
          );
      },
      { discrete: true, tag: 'historic' },
    );
    return { editor, history, bound: bind(lexical, root) };
  },
  /** A collaborator's typing as @lexical/yjs applies it: an update tagged `collaboration`, at the end. */
  lexicalCollaboratorTypes: (editor: LexicalEditor, text: string) => editor.update(() => $getRoot().getLastDescendant()?.insertAfter($createTextNode(text)), { discrete: true, tag: 'collaboration' }),
  /** Lexical's undo or redo as a toolbar button dispatches it. */
  lexicalHistory: (editor: LexicalEditor, redo: boolean) => editor.dispatchCommand(redo ? REDO_COMMAND : UNDO_COMMAND, undefined),
  /** The editor state's blocks as `type:text` (list items inside their list). */
  lexicalBlocks: (editor: LexicalEditor) =>
    editor.getEditorState().read(() => {
      const out: string[] = [];
      const visit = (el: ElementNode): void => {
        for (const c of el.getChildren()) {
          if (c.getType() === 'list') visit(c as ElementNode);
          else
            out.push(
              `${c.getType()}${c.getType() === 'heading' ? (c as HeadingNode).getTag() : ''}:${(c as ElementNode)
                .getChildren()
                .map((n) => (n.getType() === 'image' ? '*' : n.getTextContent()))
                .join('')}`,
            );
        }
      };
      visit($getRoot());
      return out;
    }),
  /**
   * A Slate editor (slate-react, the history plugin) rendered into the page, and the adapter on
   * its editable. `blocks`: `h1:`, `quote:`, `ul:` (items split by `|`) or plain paragraphs; in
   * a block `*` is an inline void (a mention) and `[text]` a link (an inline element).
   */
  slate(blocks: string[]): { editor: SlateEditor; bound: Bound | string } {
    const editor = withHistory(withReact(createSlateEditor()));
    const { isInline, isVoid } = editor;
    const typeOf = (el: unknown): unknown => (el as { type?: unknown }).type;
    editor.isInline = (el) => typeOf(el) === 'mention' || typeOf(el) === 'link' || isInline(el);
    editor.isVoid = (el) => typeOf(el) === 'mention' || isVoid(el);
    const inlines = (text: string): Descendant[] => {
      const out: Descendant[] = [];
      for (const [, plain, link, mention] of text.matchAll(/([^*[]+)|\[([^\]]*)\]|(\*)/g)) {
        if (plain) out.push({ text: plain } as Descendant);
        else if (link !== undefined) out.push({ text: '' } as Descendant, { type: 'link', url: 'https://example.com/', children: [{ text: link }] } as Descendant);
        else if (mention) out.push({ text: '' } as Descendant, { type: 'mention', children: [{ text: '' }] } as Descendant);
      }
      out.push({ text: '' } as Descendant);
      return out;
    };
    editor.children = blocks.map((b) => {
      const [, kind, text] = /^(?:(h1|quote|ul):)?(.*)$/s.exec(b)!;
      if (kind === 'ul') return { type: 'bulleted-list', children: text!.split('|').map((item) => ({ type: 'list-item', children: inlines(item) })) } as Descendant;
      return { type: kind === 'h1' ? 'heading-one' : kind === 'quote' ? 'block-quote' : 'paragraph', children: inlines(text!) } as Descendant;
    });
    editor.normalize({ force: true }); // rendered as normalized (the texts around inlines)
    const holder = slot('');
    const initialValue = editor.children;
    flushSync(() => createRoot(holder).render(createElement(Slate, { editor, initialValue, children: undefined } as ComponentProps<typeof Slate>, createElement(Editable))));
    return { editor, bound: bind(slate, holder.querySelector<HTMLElement>('[data-slate-editor]')!) };
  },
  /** The adapter on a Slate editable the test rendered (and maybe changed). */
  bindSlate: (editable: HTMLElement) => bind(slate, editable),
  /** The editor's blocks as `type:text`, list items inside their list, `*` for a mention and `[…]` around a link. */
  slateBlocks: (editor: SlateEditor) => {
    const out: string[] = [];
    const inline = (n: Descendant): string => {
      const el = n as { type?: string; children?: Descendant[] };
      if (el.type === 'mention') return '*';
      if (el.type === 'link') return `[${el.children!.map(inline).join('')}]`;
      return SlateNode.string(n);
    };
    const visit = (nodes: Descendant[]): void => {
      for (const n of nodes) {
        const el = n as { type?: string; children: Descendant[] };
        if (el.type === 'bulleted-list') visit(el.children);
        else out.push(`${el.type}:${el.children.map(inline).join('')}`);
      }
    };
    visit(editor.children);
    return out;
  },
  /**
   * A `<trix-editor>` started from HTML (its toolbar included), and the adapter on it once Trix
   * has initialised it. `*` in `html` becomes a content attachment (a mention) at its place.
   */
  async trix(html: string): Promise<{ element: TrixElement; bound: Bound | string }> {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.id = `trix-${Math.random().toString(36).slice(2)}`;
    const [before, ...after] = html.split('*');
    input.value = before + after.join('');
    const element = document.createElement('trix-editor') as TrixElement;
    element.setAttribute('input', input.id);
    const initialized = new Promise((resolve) => element.addEventListener('trix-initialize', resolve, { once: true }));
    slot('').append(input, element);
    await initialized;
    if (after.length > 0) {
      const at =
        element.editor
          .getDocument()
          .toString()
          .indexOf(after[0]!.replace(/<[^>]*>/g, '').slice(0, 1)) || 0;
      element.editor.setSelectedRange([at, at]);
      element.editor.insertAttachment(new Trix.Attachment({ content: '<span>@someone</span>' }));
    }
    element.editor.undoManager.undoEntries = []; // what the test set up is not the person's to undo
    return { element, bound: bind(trix, element) };
  },
  /** Trix's blocks as `attributes:text` (`div` for a plain block), `*` for an attachment. */
  trixBlocks: (element: TrixElement) =>
    element.editor
      .getDocument()
      .getBlocks()
      .map((block) => {
        const text = block.text
          .getPieces()
          .filter((p) => !p.hasAttribute('blockBreak'))
          .map((p) => (p.attachment ? '*' : p.toString()))
          .join('');
        return `${block.getAttributes().join('/') || 'div'}:${text}`;
      }),
  apply: (bound: Bound, delta: TextDelta) => bound.host.apply(delta),
  /** The adapter again on an editor made above (after `unbind`), as the page shows it now. */
  bindCkeditor: (editor: ClassicEditor) => bind(ckeditor5, editor.ui.getEditableElement()!),
  bindLexical: (editor: LexicalEditor) => bind(lexical, editor.getRootElement()!),
  /**
   * A CodeMirror 6 with the text, synced by the site (`site`: y-codemirror.next over a Y.Text,
   * or @codemirror/collab) or not, and the adapter on it.
   */
  codemirror6(text: string, site: 'yjs' | 'collab' | null): { view: CmView; bound: Bound | string } {
    let extensions: unknown[] = [];
    if (site === 'yjs') {
      const ydoc = new Y.Doc();
      const ytext = ydoc.getText('codemirror');
      ytext.insert(0, text);
      extensions = [yCollab(ytext, new Awareness(ydoc))];
    } else if (site === 'collab') extensions = [collab({ startVersion: 0 })];
    const view = new CmView({ doc: text, extensions: extensions as never, parent: slot('') });
    return { view, bound: bind(codemirror6, view.dom) };
  },
  /**
   * A CodeMirror 6 bound while plain, to which the site then adds its own sync through a
   * compartment (y-codemirror.next, or @codemirror/collab), or through a new state: what the
   * adapter says, and the text then.
   */
  codemirror6SyncedLater(text: string, site: 'yjs' | 'collab', how: 'compartment' | 'state'): { notices: PageNotice[]; text: string } {
    const sync = new Compartment();
    const view = new CmView({ doc: text, extensions: [sync.of([])], parent: slot('') });
    const bound = bind(codemirror6, view.dom);
    if (typeof bound === 'string') throw new Error(bound);
    let extension: unknown;
    if (site === 'yjs') {
      const ydoc = new Y.Doc();
      const ytext = ydoc.getText('codemirror');
      ytext.insert(0, text);
      extension = yCollab(ytext, new Awareness(ydoc));
    } else extension = collab({ startVersion: 0 });
    if (how === 'compartment') view.dispatch({ effects: sync.reconfigure(extension as never) });
    else view.setState(CmState.create({ doc: text, extensions: [extension as never] }));
    const notices = [...bound.notices];
    harness.unbind(bound);
    return { notices, text: view.state.doc.toString() };
  },
  /** A plugin as y-prosemirror makes its sync plugin (Tiptap's Collaboration): its key only. */
  ySyncPlugin: () => new Plugin({ key: new PluginKey('y-sync') }),
  bindProsemirror: (view: EditorView) => bind((_root, events) => prosemirrorWithView(view as never, events), view.dom as HTMLElement),
  /** Ends a binding the way the bridge does (the adapter puts back what it changed). */
  unbind: (bound: Bound | string) => {
    if (typeof bound !== 'string') bound.adapter.destroy();
  },
};

declare global {
  interface Window {
    rich: typeof harness;
  }
}
window.rich = harness;
document.documentElement.dataset.ready = 'true';
