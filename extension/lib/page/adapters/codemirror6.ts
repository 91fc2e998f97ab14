/**
 * CodeMirror 6. The view is found through the tile (6.39+: `cmTile`) or content view (older:
 * `cmView`) CodeMirror keeps on its DOM, the way `EditorView.findFromDOM` does. Changes are read
 * from every transaction the view applies (its `update`), so they are exact and arrive before
 * anything else can run; ours go in as transactions annotated `remote` and kept out of the
 * history (`addToHistory: false`), which CodeMirror maps the person's history over.
 */
import type { TextDelta, TextOp } from '../../../../shared/text/delta';
import { push } from '../../../../shared/text/delta';
import type { Rect, TextSelection } from '../../page-protocol';
import { rangeRects, type AdapterFactory, type EditorAdapter } from '../adapter';

interface ChangeSet {
  iterChanges(f: (fromA: number, toA: number, fromB: number, toB: number, inserted: { toString(): string }) => void): void;
}
interface Transaction {
  docChanged: boolean;
  changes: ChangeSet;
  selection?: unknown;
  /** True when the transaction changed the extensions (a compartment reconfigured). */
  reconfigured?: boolean;
  annotation(type: unknown): unknown;
}
interface AnnotationType {
  of(value: unknown): unknown;
}
interface TransactionClass {
  addToHistory: AnnotationType;
  remote: AnnotationType;
  userEvent: AnnotationType;
}
interface State {
  doc: { length: number; toString(): string };
  selection: { main: { anchor: number; head: number } };
  update(spec: object): Transaction & { constructor: TransactionClass };
}
interface View {
  state: State;
  dom: HTMLElement;
  contentDOM: HTMLElement;
  hasFocus: boolean;
  update(transactions: readonly Transaction[]): void;
  setState(state: State): void;
  dispatch(spec: object): void;
  domAtPos(pos: number): { node: Node; offset: number };
  coordsAtPos(pos: number, side?: number): { left: number; right: number; top: number; bottom: number } | null;
}

/** The EditorView of a `.cm-editor` (or anything inside one). */
function findView(root: HTMLElement): View | null {
  const editor = root.closest('.cm-editor') ?? root;
  const content = editor.querySelector('.cm-content') ?? editor;
  const tile = (content as { cmTile?: { root?: { view?: View } } }).cmTile;
  if (tile?.root?.view) return tile.root.view;
  const view = (content as { cmView?: { rootView?: { view?: View }; view?: View } }).cmView;
  return view?.rootView?.view ?? view?.view ?? null;
}

/**
 * True when the site syncs this editor itself: y-codemirror.next's sync plugin (its value keeps
 * the `Y.Text` in `conf.ytext`) or @codemirror/collab's state field (`{ version, unconfirmed }`).
 * Both are read by property name, which bundlers keep; every change would otherwise travel twice.
 */
function syncedBySite(view: View): boolean {
  const plugins = (view as { plugins?: unknown }).plugins;
  if (Array.isArray(plugins) && plugins.some((p) => (p as { value?: { conf?: { ytext?: unknown } } } | null)?.value?.conf?.ytext != null)) return true;
  const values = (view.state as { values?: unknown }).values;
  return (
    Array.isArray(values) &&
    values.some((v) => {
      const c = v as { version?: unknown; unconfirmed?: unknown } | null;
      return typeof c === 'object' && c !== null && typeof c.version === 'number' && Array.isArray(c.unconfirmed);
    })
  );
}

/** A transaction's changes as a delta on the document before it. */
function deltaOf(changes: ChangeSet): TextDelta {
  const out: TextOp[] = [];
  let at = 0;
  changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
    push(out, { retain: fromA - at });
    push(out, { delete: toA - fromA });
    push(out, { insert: inserted.toString() });
    at = toA;
  });
  return out;
}

export const codemirror6: AdapterFactory = (root, events) => {
  const view = findView(root);
  if (!view || typeof view.dispatch !== 'function') return 'CodeMirror was found, but not its editor view';
  const Transaction = view.state.update({}).constructor;
  if (!Transaction?.addToHistory || !Transaction.remote) return 'this CodeMirror version is not supported yet';
  if (syncedBySite(view)) return 'this editor is already collaborative (the site syncs it itself)';
  let ours = false;
  /** The site added its own sync after Tandem bound the editor (a compartment, a new state): stop. */
  const syncAddedBySite = (): boolean => {
    if (!syncedBySite(view)) return false;
    events.detached('the site made it collaborative itself (its own sync was added after Tandem bound it; every change would travel twice)');
    return true;
  };

  // Every transaction the view applies passes through its `update` (the default dispatch and
  // any page-supplied `dispatchTransactions` both end there).
  const ownUpdate = Object.hasOwn(view, 'update');
  const originalUpdate = view.update;
  view.update = function (this: View, transactions: readonly Transaction[]) {
    originalUpdate.call(this, transactions);
    if (ours) return;
    if (transactions.some((tr) => tr.reconfigured) && syncAddedBySite()) return;
    let selected = false;
    for (const tr of transactions) {
      if (tr.docChanged) events.changed(deltaOf(tr.changes));
      else if (tr.selection) selected = true;
    }
    if (selected) events.selected();
  };
  // A whole new state is how CodeMirror shows another file (a tabbed editor keeps a state per
  // file): with other text it ends the binding, as another model does in Monaco and another
  // document in CodeMirror 5 and Ace, and neither text is written into the other. The same text
  // (a page rebuilding its state) stays bound.
  const ownSetState = Object.hasOwn(view, 'setState');
  const originalSetState = view.setState;
  view.setState = function (this: View, state: State) {
    const before = this.state.doc.toString();
    originalSetState.call(this, state);
    if (this.state.doc.toString() !== before) events.detached('the editor switched to another document');
    else syncAddedBySite();
  };

  const adapter: EditorAdapter = {
    rich: false,
    styles: new Set(),
    read: () => view.state.doc.toString(),
    apply(delta) {
      const changes: { from: number; to: number; insert: string }[] = [];
      let at = 0;
      for (const op of delta) {
        if ('retain' in op) at += op.retain;
        else if ('delete' in op) {
          const last = changes[changes.length - 1];
          if (last && last.to === at && last.insert === '') last.to = at + op.delete;
          else changes.push({ from: at, to: at + op.delete, insert: '' });
          at += op.delete;
        } else {
          const last = changes[changes.length - 1];
          if (last && last.to === at) last.insert += op.insert;
          else changes.push({ from: at, to: at, insert: op.insert });
        }
      }
      ours = true;
      try {
        view.dispatch({
          changes,
          annotations: [Transaction.addToHistory.of(false), Transaction.remote.of(true), Transaction.userEvent.of('tandem.remote')],
          filter: false, // a collaborator's change is made whole: no change filter of this page trims it
        });
      } finally {
        ours = false;
      }
    },
    selection(): TextSelection {
      const { anchor, head } = view.state.selection.main;
      return { anchor, head };
    },
    select({ anchor, head }) {
      const length = view.state.doc.length;
      ours = true;
      try {
        view.dispatch({ selection: { anchor: Math.min(anchor, length), head: Math.min(head, length) }, annotations: [Transaction.addToHistory.of(false)], scrollIntoView: true });
      } finally {
        ours = false;
      }
    },
    rects(from, to): Rect[] {
      const length = view.state.doc.length;
      from = Math.min(from, length);
      to = Math.min(to, length);
      if (from === to) {
        const c = view.coordsAtPos(from, 1) ?? view.coordsAtPos(from, -1);
        return c ? [{ left: c.left, top: c.top, width: 0, height: c.bottom - c.top }] : [];
      }
      // Only the rendered part of the document has DOM (CodeMirror draws its viewport).
      try {
        const a = view.domAtPos(from);
        const b = view.domAtPos(to);
        const range = document.createRange();
        range.setStart(a.node, a.offset);
        range.setEnd(b.node, b.offset);
        return rangeRects(range);
      } catch {
        return [];
      }
    },
    focused: () => view.hasFocus,
    destroy() {
      if (ownUpdate) view.update = originalUpdate;
      else delete (view as Partial<View>).update;
      if (ownSetState) view.setState = originalSetState;
      else delete (view as Partial<View>).setState;
    },
  };
  return adapter;
};
