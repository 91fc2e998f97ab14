/**
 * The background's documents: one SyncClient to the configured server, one LoroDoc per document
 * in use, and the fields bound to each through ports. Each binding is one side of a text channel
 * (the document side, `first` at ties); edits from a field are rebased there and applied to the
 * document, edits from elsewhere are sent to every bound field.
 */
import { LoroDoc, UndoManager, type LoroText } from 'loro-crdt/base64';
import { SyncClient, type ClientRoom, type SyncClientOptions } from '../../../shared/client/sync-client';
import { TEXT_CONTAINER, configureText } from '../../../shared/document';
import { encodeJoinAuth } from '../../../shared/protocol/index';
import { TextChannel, type EditMessage } from '../../../shared/text/channel';
import { applyDelta, diff, type TextDelta } from '../../../shared/text/delta';
import { OPENING_ORIGIN, applyEdit, undoStepBoundary } from '../../../shared/text/loro-edit';
import type { BackgroundToField, FieldStatus } from '../messages';
import type { LocalStore } from './local-store';
import { ServerApi } from './server-api';

/** The part of a runtime port the hub uses. */
export interface FieldPort {
  postMessage(message: BackgroundToField): void;
}

export interface Binding {
  port: FieldPort;
  key: string;
  channel: TextChannel;
  document: OpenDocument;
  ackTimer: ReturnType<typeof setTimeout> | null;
}

/** How long a pause in typing ends an undo step: a typed word, or a burst of typing, undoes at once (see `undoStepBoundary`). */
const UNDO_MERGE_MS = 1_000;

export class OpenDocument {
  readonly bindings = new Set<Binding>();
  private snapshotTimer: ReturnType<typeof setTimeout> | null = null;
  private dirtySince: number | null = null;
  private statusScheduled = false;
  /**
   * Undo of this person's edits only: the edits of every field bound here are local changes
   * of this LoroDoc (the background applies them), collaborators' arrive by import, and Loro's
   * UndoManager undoes local changes only, rebased over everything that came after.
   */
  private readonly undo: UndoManager;
  /** The binding whose edit is being committed: it already shows it, the others hear it. */
  private editing: Binding | null = null;
  /** The binding that asked for an undo or redo: it moves its caret to what changed. */
  private undoing: Binding | null = null;
  private lastEdit: TextDelta | null = null;

  constructor(
    readonly docId: string,
    readonly doc: LoroDoc,
    readonly text: LoroText,
    readonly room: ClientRoom,
    private readonly hub: DocumentHub,
  ) {
    this.undo = new UndoManager(doc, { mergeInterval: UNDO_MERGE_MS, maxUndoSteps: 500, excludeOriginPrefixes: [OPENING_ORIGIN] });
    // Every change reaches every bound field but the one that made it: from the network, from
    // a field (as Loro describes it: a plain field's typing inside bold text is bold), or an undo.
    // Loro emits a commit's events synchronously, inside `commit()` / `undo()`.
    doc.subscribe((event) => {
      if (event.by === 'local' && this.undoing === null && this.onlyEditing()) {
        // A field's edit and no other field to tell: reading the event's diff out of Loro
        // would cost a third of the per-keystroke time for nothing (measured on seph-blog1).
        this.saveSoon();
        return;
      }
      for (const e of event.events) {
        if (e.diff.type !== 'text' || e.target !== text.id) continue;
        const delta = e.diff.diff as TextDelta;
        for (const b of this.bindings) if (b !== this.editing) this.send(b, delta, b === this.undoing);
      }
      this.saveSoon();
    });
    room.onChange(() => this.statusSoon());
    room.onAcknowledged(() => this.saveSoon());
  }

  /** True when the only bound field is the one whose edit is being committed. */
  private onlyEditing(): boolean {
    for (const b of this.bindings) if (b !== this.editing) return false;
    return true;
  }

  send(binding: Binding, delta: TextDelta, caret = false): void {
    binding.port.postMessage({ t: 'remote', key: binding.key, ...binding.channel.send(delta), ...(caret ? { caret } : {}) });
  }

  /** An edit from one bound field: rebased, applied, and sent to the other fields. */
  edit(binding: Binding, message: EditMessage & { opening?: boolean }): void {
    const start = performance.now();
    const delta = binding.channel.receive(message);
    if (this.room.permission === 'read') {
      // View only: the field is put back (the status tells the person why).
      const before = this.text.toString();
      this.send(binding, diff(applyDelta(before, delta), before));
      return;
    }
    if (undoStepBoundary(this.lastEdit, delta)) this.undo.setMergeInterval(0);
    this.lastEdit = message.opening ? null : delta;
    applyEdit(this.text, delta);
    this.editing = binding;
    try {
      this.doc.commit(message.opening ? { origin: OPENING_ORIGIN } : undefined);
    } finally {
      this.editing = null;
      this.undo.setMergeInterval(UNDO_MERGE_MS);
    }
    // A field that only types hears nothing back: acknowledge now and then, so it can forget
    // the edits it keeps for rewriting remote ones.
    binding.ackTimer ??= setTimeout(() => {
      binding.ackTimer = null;
      binding.port.postMessage({ t: 'ack', key: binding.key, seen: binding.channel.seen });
    }, 100);
    // Benchmarks set this array (from the service worker's console) to collect per-edit times.
    (globalThis as { __tandemEditTimings?: number[] }).__tandemEditTimings?.push(performance.now() - start);
  }

  /** Undoes (or redoes) this person's last step; every field hears the result, the asking one moves its caret there. */
  undoRedo(binding: Binding, redo: boolean): void {
    if (this.room.permission === 'read') return;
    this.lastEdit = null;
    this.undoing = binding;
    try {
      if (redo) this.undo.redo();
      else this.undo.undo();
    } finally {
      this.undoing = null;
    }
  }

  status(): FieldStatus {
    const connection = this.hub.client?.status === 'open' && this.room.status === 'live' ? 'live' : this.hub.client?.status === 'connecting' ? 'connecting' : 'offline';
    const problem =
      this.room.status === 'failed'
        ? this.room.error?.reason === 'evicted' || this.room.error?.reason === 'auth_failed' || this.room.error?.reason === 'not_found'
          ? 'access to this document was removed'
          : `stopped: ${this.room.error?.message ?? 'unknown error'}`
        : null;
    return { connection, unsaved: this.room.unacknowledged, keptLocally: this.hub.store.isSaved(this.docId), permission: this.room.permission, problem };
  }

  statusSoon(): void {
    if (this.statusScheduled) return;
    this.statusScheduled = true;
    setTimeout(() => {
      this.statusScheduled = false;
      const status = this.status();
      for (const b of this.bindings) b.port.postMessage({ t: 'status', key: b.key, status });
    }, 50);
  }

  /**
   * A snapshot on this device, so the document opens offline after a browser restart. Written
   * 2 s after the last change (at least every 30 s while changes continue): exporting and
   * encoding a large document on every pause in typing made garbage-collection pauses land on
   * keystrokes. Unacknowledged edits do not depend on it: they are in the outbox at once.
   */
  saveSoon(): void {
    this.dirtySince ??= Date.now();
    if (this.snapshotTimer) clearTimeout(this.snapshotTimer);
    const wait = Math.max(0, Math.min(2_000, this.dirtySince + 30_000 - Date.now()));
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = null;
      this.dirtySince = null;
      void this.hub.store.saveSnapshot(this.docId, this.doc.export({ mode: 'snapshot' }));
    }, wait);
  }
}

export class DocumentHub {
  client: SyncClient | null = null;
  api: ServerApi;
  private readonly open = new Map<string, Promise<OpenDocument>>();

  constructor(
    readonly store: LocalStore,
    serverUrl: string,
  ) {
    this.api = new ServerApi(serverUrl);
  }

  /** Switches to another server: documents of the old one are closed (their outboxes stay stored). */
  useServer(serverUrl: string): void {
    this.client?.close();
    this.client = null;
    this.open.clear();
    this.api = new ServerApi(serverUrl);
  }

  private ensureClient(): SyncClient {
    if (!this.client) {
      const api = this.api;
      this.client = new SyncClient({
        url: () => api.socketUrl(),
        WebSocket: globalThis.WebSocket as unknown as SyncClientOptions['WebSocket'],
        onError: (error) => console.warn('[tandem]', error.message),
      });
      this.client.onStatus(() => {
        for (const d of this.open.values()) void d.then((doc) => doc.statusSoon());
      });
    }
    return this.client;
  }

  /** Opens a document (from this device's copy first, then the server). */
  openDocument(docId: string, share: string | null): Promise<OpenDocument> {
    let opening = this.open.get(docId);
    if (!opening) {
      opening = (async () => {
        const doc = new LoroDoc(); // a fresh random peer id for every instance
        configureText(doc);
        const snapshot = await this.store.loadSnapshot(docId);
        if (snapshot) doc.import(snapshot);
        const auth = share ? encodeJoinAuth({ share }) : new Uint8Array(0);
        const room = await this.ensureClient().open(docId, doc, this.store, auth);
        return new OpenDocument(docId, doc, doc.getText(TEXT_CONTAINER), room, this);
      })();
      this.open.set(docId, opening);
      opening.catch(() => this.open.delete(docId));
    }
    return opening;
  }

  /**
   * Binds a field. `waitMs`: how long to wait for the server's copy before binding with this
   * device's (0: do not wait).
   */
  async bind(port: FieldPort, key: string, docId: string, share: string | null, options: { waitMs: number; link: string | null; title: string }): Promise<Binding> {
    const open = await this.openDocument(docId, share);
    if (options.waitMs > 0) {
      await Promise.race([open.room.whenSynced(), new Promise((resolve) => setTimeout(resolve, options.waitMs))]).catch(() => {});
    }
    const binding: Binding = { port, key, channel: new TextChannel(true), document: open, ackTimer: null };
    open.bindings.add(binding);
    port.postMessage({ t: 'bound', key, docId, text: open.text.toString(), content: open.text.toDelta() as TextDelta, link: options.link, title: options.title });
    port.postMessage({ t: 'status', key, status: open.status() });
    return binding;
  }

  edit(binding: Binding, message: EditMessage & { opening?: boolean }): void {
    binding.document.edit(binding, message);
  }

  undoRedo(binding: Binding, redo: boolean): void {
    binding.document.undoRedo(binding, redo);
  }

  unbind(binding: Binding): void {
    binding.document.bindings.delete(binding);
  }

  /** Bindings of a document, for the popup. */
  async describe(): Promise<{ docId: string; fields: number; status: FieldStatus }[]> {
    const out = [];
    for (const opening of this.open.values()) {
      const open = await opening.catch(() => null);
      if (open) out.push({ docId: open.docId, fields: open.bindings.size, status: open.status() });
    }
    return out;
  }

  async stop(docId: string): Promise<void> {
    const open = this.open.get(docId);
    if (!open) return;
    const doc = await open;
    for (const b of doc.bindings) b.port.postMessage({ t: 'failed', key: b.key, message: 'Stopped collaborating on this field.', signIn: null });
    doc.bindings.clear();
  }
}
