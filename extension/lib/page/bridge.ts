/**
 * The page-world end of the content script's calls (see ../page-protocol.ts): one listener on
 * the window for calls dispatched on editors' roots, one EditorHost per attached root.
 */
import { CALL_EVENT, EDITOR_NAMES, NOTICE_EVENT, REPLY_EVENT, type EditorKind, type PageCall, type PageNotice, type PageReply } from '../page-protocol';
import { adapterOn, type AdapterFactory } from './adapter';
import { EditorHost } from './host';

/**
 * `factories`: an adapter per editor kind. `preparers`: for kinds whose instance takes a moment
 * to find (a bare ProseMirror view), what to do before `attach`.
 */
export function startPageBridge(factories: Partial<Record<EditorKind, AdapterFactory>>, preparers: Partial<Record<EditorKind, (root: HTMLElement) => Promise<void>>> = {}): void {
  const g = globalThis as { __tandemPageBridge?: boolean };
  if (g.__tandemPageBridge) return; // injected twice: the first one serves
  g.__tandemPageBridge = true;

  const hosts = new Map<HTMLElement, EditorHost>();

  const send = (root: HTMLElement, type: string, payload: PageReply | PageNotice): void => {
    root.dispatchEvent(new CustomEvent(type, { detail: JSON.stringify(payload), bubbles: true, composed: true }));
  };

  function handle(root: HTMLElement, call: PageCall): PageReply {
    if (call.op === 'prepare') {
      const prepare = preparers[call.kind] ?? (() => Promise.resolve());
      prepare(root)
        .catch((error: unknown) => console.warn('[tandem] looking for the editor failed', error))
        .finally(() => send(root, NOTICE_EVENT, { t: 'prepared' }));
      return { ok: true };
    }
    if (call.op === 'attach') {
      hosts.get(root)?.adapter.destroy();
      hosts.delete(root);
      const factory = factories[call.kind];
      if (!factory) return { ok: false, reason: `${EDITOR_NAMES[call.kind] ?? 'this editor'} is not supported yet` };
      let host: EditorHost | null = null;
      const adapter = adapterOn(factory, root, {
        changed: (delta) => host?.changed(delta),
        selected: () => {
          if (!host || host.applying) return;
          const selection = host.adapter.selection();
          if (selection) send(root, NOTICE_EVENT, { t: 'selection', selection });
        },
        undo: (redo) => send(root, NOTICE_EVENT, { t: 'undo', redo }),
        composing: (active) => send(root, NOTICE_EVENT, { t: 'composing', active }),
        moved: () => send(root, NOTICE_EVENT, { t: 'moved' }),
        detached: (reason) => host?.detach(reason),
      });
      if (typeof adapter === 'string') return { ok: false, reason: adapter };
      host = new EditorHost(adapter, (notice) => send(root, NOTICE_EVENT, notice));
      hosts.set(root, host);
      return { ok: true, attached: { rich: adapter.rich, styles: [...adapter.styles] } };
    }
    const host = hosts.get(root);
    if (!host) return { ok: false, reason: 'not attached' };
    switch (call.op) {
      case 'flush':
        host.flush();
        return { ok: true };
      case 'read':
        return { ok: true, read: host.read() };
      case 'apply':
        return host.apply(call.delta) ? { ok: true } : { ok: false, reason: 'the editor changed what Tandem wrote into it' };
      case 'selection':
        return { ok: true, selection: host.adapter.selection() };
      case 'select':
        host.select(call.selection);
        return { ok: true };
      case 'rects':
        return { ok: true, rects: call.ranges.map(([from, to]) => host.adapter.rects(from, to)) };
      case 'detach':
        host.adapter.destroy();
        hosts.delete(root);
        return { ok: true };
      default:
        return { ok: false, reason: 'unknown call' };
    }
  }

  addEventListener(
    CALL_EVENT,
    (event) => {
      const root = event.composedPath()[0];
      const detail = (event as CustomEvent<unknown>).detail;
      if (!(root instanceof HTMLElement) || typeof detail !== 'string') return;
      event.stopImmediatePropagation();
      let reply: PageReply;
      try {
        reply = handle(root, JSON.parse(detail) as PageCall);
      } catch (error) {
        console.warn('[tandem] editor adapter failed', error);
        reply = { ok: false, reason: `the editor adapter failed: ${(error as Error).message}` };
      }
      send(root, REPLY_EVENT, reply);
    },
    true,
  );
}
