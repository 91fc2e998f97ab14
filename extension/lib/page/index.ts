/**
 * The page-world script (injected with `world: 'MAIN'` when a known editor is focused): the
 * bridge, and an adapter per editor family.
 */
import { startPageBridge } from './bridge';
import { ace } from './adapters/ace';
import { ckeditor5 } from './adapters/ckeditor5';
import { codemirror5 } from './adapters/codemirror5';
import { codemirror6 } from './adapters/codemirror6';
import { lexical } from './adapters/lexical';
import { monaco } from './adapters/monaco';
import { catchView, caughtViews, prosemirror } from './adapters/prosemirror';
import { quill } from './adapters/quill';
import { slate } from './adapters/slate';
import { tinymce, tinymceReady } from './adapters/tinymce';
import { trix } from './adapters/trix';

export function startPageAdapters(): void {
  startPageBridge(
    { codemirror6, codemirror5, monaco, ace, prosemirror, quill, tinymce, ckeditor5, lexical, slate, trix },
    {
      async prosemirror(root) {
        const editor = (root.closest('.ProseMirror') as HTMLElement | null) ?? root;
        if ((editor as { editor?: unknown }).editor) return; // Tiptap: the view is on the DOM
        const view = await catchView(editor);
        if (view) caughtViews.set(editor, view);
      },
      tinymce: tinymceReady,
    },
  );
}
