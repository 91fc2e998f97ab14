/**
 * The background's documents: one SyncClient to the configured server, one LoroDoc per document
 * in use, and the fields bound to each through ports. Each field is one side of a text channel
 * (the document side, `first` at ties); edits from a field are rebased there and applied to the
 * document, edits from elsewhere are sent to every bound field.
 */
import { LoroDoc, UndoManager, type Cursor, type LoroText } from 'loro-crdt/base64';
import { RoomFailure } from '../../../shared/client/client-room';
import { SyncClient, type ClientRoom, type PresenceChannel, type SyncClientOptions } from '../../../shared/client/sync-client';
import { TEXT_CONTAINER, configureText } from '../../../shared/document';
import { IDLE_AFTER_MS, encodeSelection, parsePeerState, peerStateValue, resolvePeer, type RemotePeer } from '../../../shared/presence';
import { encodeJoinAuth } from '../../../shared/protocol/index';
import { TextChannel, type EditMessage } from '../../../shared/text/channel';
import { applyDelta, diff, type TextDelta } from '../../../shared/text/delta';
import { OPENING_ORIGIN, applyEdit } from '../../../shared/text/loro-edit';
import { UndoSteps } from '../../../shared/text/undo-steps';
import { hop, measuring } from '../../../shared/trace';
import type { BackgroundToField, FieldStatus } from '../messages';
import type { LocalStore } from './local-store';
import { refusalProblem } from './refusal';
import { ServerApi } from './server-api';

/** The part of a runtime port the hub uses. */
export interface FieldPort {
  postMessage(message: BackgroundToField): void;
}

export interface BoundField {
  port: FieldPort;
  key: string;
  channel: TextChannel;
  document: OpenDocument;
  ackTimer: ReturnType<typeof setTimeout> | null;
  /** This field's entry in the document's presence room. */
  presenceKey: string;
  /** The person's selection in this field, as encoded Loro cursors (null until they put a caret there). */
  cursors: { anchor: Uint8Array | null; head: Uint8Array | null };
  idle: boolean;
  idleTimer: ReturnType<typeof setTimeout> | null;
  lastActive: number;
  publishScheduled: boolean;
  /** Set by a selection, cleared when published. */
  cursorsChanged: boolean;
  /** What the field was last told, to skip repeating it. */
  lastPeers: string;
}

/** Without activity for this long a field's person is idle (tests shorten it from the service worker's console). */
const idleAfter = (): number => (globalThis as { __tandemIdleAfterMs?: number }).__tandemIdleAfterMs ?? IDLE_AFTER_MS;

/**
 * Whose account this browser is signed in to, so a field can tell this person's other fields
 * (other tabs) from other people. Only for that: who an entry is, others see as the server
 * stamped it, never as a client says.
 */
export interface Identity {
  /** The account id, or '' when signed out (share links: the server calls the socket anonymous). */
  user: string;
}

/** How long a pause in typing ends an undo step: a burst of typing undoes at once (see UndoSteps). */
const UNDO_PAUSE_MS = 1_000;

export class OpenDocument {
  readonly fields = new Set<BoundField>();
  private snapshotTimer: ReturnType<typeof setTimeout> | null = null;
  private dirtySince: number | null = null;
  private statusScheduled = false;
  /**
   * Undo of this person's edits only: the edits of every field bound here are local changes
   * of this LoroDoc (the background applies them), collaborators' arrive by import, and Loro's
   * UndoManager undoes local changes only, rebased over everything that came after; UndoSteps
   * makes one press take back one burst, whatever arrived in the middle of it.
   */
  private readonly undo: UndoSteps<Cursor>;
  /** The field whose edit is being committed: it already shows it, the others hear it. */
  private editing: BoundField | null = null;
  /** The field that asked for an undo or redo: it moves its caret to what changed. */
  private undoing: BoundField | null = null;
  private presenceScheduled = false;

  constructor(
    readonly docId: string,
    readonly doc: LoroDoc,
    readonly text: LoroText,
    readonly room: ClientRoom,
    private readonly hub: DocumentHub,
    readonly presence: PresenceChannel,
    public identity: Identity,
  ) {
    const manager = new UndoManager(doc, { mergeInterval: 0, maxUndoSteps: 20_000, excludeOriginPrefixes: [OPENING_ORIGIN] });
    this.undo = new UndoSteps(manager, doc, text, { pauseMs: UNDO_PAUSE_MS, maxSteps: 500 });
    // Every change reaches every bound field but the one that made it: from the network, from
    // a field (as Loro describes it: a plain field's typing inside bold text is bold), or an undo.
    // Loro emits a commit's events synchronously, inside `commit()` / `undo()`.
    // Collaborators' carets are cursors resolved against the document: any change to either
    // (someone moved, someone typed, here or elsewhere) recomputes every field's offsets.
    presence.onChange(() => this.presenceSoon());
    doc.subscribe(() => this.presenceSoon());
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
        for (const b of this.fields) if (b !== this.editing) this.send(b, delta, b === this.undoing);
      }
      if (event.by === 'import' && measuring()) hop('background-import', this.text.length);
      this.saveSoon();
    });
    room.onChange(() => this.statusSoon());
    room.onAcknowledged(() => this.saveSoon());
  }

  /** True when the only bound field is the one whose edit is being committed. */
  private onlyEditing(): boolean {
    for (const b of this.fields) if (b !== this.editing) return false;
    return true;
  }

  send(field: BoundField, delta: TextDelta, caret = false): void {
    field.port.postMessage({ t: 'remote', key: field.key, ...field.channel.send(delta), ...(caret ? { caret } : {}) });
  }

  /** An edit from one bound field: rebased, applied, and sent to the other fields. */
  edit(field: BoundField, message: EditMessage & { opening?: boolean }): void {
    const start = performance.now();
    const delta = field.channel.receive(message);
    if (this.room.permission === 'read') {
      // View only: the field is put back (the status tells the person why).
      const before = this.text.toString();
      this.send(field, diff(applyDelta(before, delta), before));
      return;
    }
    this.editing = field;
    try {
      this.undo.commit(delta, () => applyEdit(this.text, delta), field, message.opening === true);
    } finally {
      this.editing = null;
    }
    this.active(field);
    // A field that only types hears nothing back: acknowledge now and then, so it can forget
    // the edits it keeps for rewriting remote ones.
    field.ackTimer ??= setTimeout(() => {
      field.ackTimer = null;
      field.port.postMessage({ t: 'ack', key: field.key, seen: field.channel.seen });
    }, 100);
    // Benchmarks set this array (from the service worker's console) to collect per-edit times.
    (globalThis as { __tandemEditTimings?: number[] }).__tandemEditTimings?.push(performance.now() - start);
    if (measuring()) hop('background-edit', this.text.length, start);
  }

  /** Undoes (or redoes) this person's last step; every field hears the result, the asking one moves its caret there. */
  undoRedo(field: BoundField, redo: boolean): void {
    if (this.room.permission === 'read') return;
    this.undoing = field;
    try {
      if (redo) this.undo.redo();
      else this.undo.undo();
    } finally {
      this.undoing = null;
    }
  }

  /** The person moved the caret or selection in a field (offsets in the field's text after `seen` of our edits). */
  select(field: BoundField, anchor: number, head: number, seen: number): void {
    const a = field.channel.positionFrom(seen, anchor);
    const h = field.channel.positionFrom(seen, head);
    field.cursors = encodeSelection(this.text, a, h);
    field.cursorsChanged = true;
    this.active(field);
  }

  /** Typing or moving: not idle; idle again after a quiet while. */
  active(field: BoundField): void {
    const wasIdle = field.idle;
    field.idle = false;
    field.lastActive = performance.now();
    // One timer per quiet spell, not one per keystroke: it re-arms for what is left.
    const arm = (wait: number): void => {
      field.idleTimer = setTimeout(() => {
        field.idleTimer = null;
        const left = field.lastActive + idleAfter() - performance.now();
        if (left > 0) return arm(left);
        field.idle = true;
        this.publish(field);
      }, wait);
    };
    if (!field.idleTimer) arm(idleAfter());
    if (wasIdle || field.cursorsChanged) this.publish(field);
  }

  /** Puts this field's entry in the presence room, once per task (the channel throttles what goes out). */
  publish(field: BoundField): void {
    field.cursorsChanged = false;
    if (field.publishScheduled) return;
    field.publishScheduled = true;
    queueMicrotask(() => {
      field.publishScheduled = false;
      if (!this.fields.has(field)) return;
      this.presence.set(field.presenceKey, peerStateValue({ ...field.cursors, idle: field.idle }));
    });
  }

  /** The field is gone: its entry leaves the room at once. */
  unpublish(field: BoundField): void {
    if (field.idleTimer) clearTimeout(field.idleTimer);
    field.idleTimer = null;
    this.presence.delete(field.presenceKey);
  }

  /** Everyone else in the document, offsets resolved against the document now. */
  others(): RemotePeer[] {
    const out: RemotePeer[] = [];
    for (const [key, value] of this.presence.others()) {
      const state = parsePeerState(value);
      if (state) out.push(resolvePeer(this.doc, key, state));
    }
    return out;
  }

  /**
   * Sends every field the collaborators' positions, at most every 40 ms however many changes
   * came meanwhile (resolving cursors in a long history costs; a caret 40 ms late is not seen).
   * Offsets are computed when sent: every delta posted to a field before then is in them, and
   * the field maps them over its own unsent typing.
   */
  presenceSoon(): void {
    if (this.presenceScheduled) return;
    this.presenceScheduled = true;
    setTimeout(() => {
      this.presenceScheduled = false;
      if (this.fields.size === 0) return;
      const peers = this.others();
      const json = JSON.stringify(peers);
      for (const b of this.fields) {
        if (b.lastPeers === json) continue;
        b.lastPeers = json;
        b.port.postMessage({ t: 'presence', key: b.key, seen: b.channel.seen, peers, me: this.identity.user });
      }
    }, 40);
  }

  status(): FieldStatus {
    const connection = this.hub.client?.status === 'open' && this.room.status === 'live' ? 'live' : this.hub.client?.status === 'connecting' ? 'connecting' : 'offline';
    const problem = refusalProblem({
      lastClose: this.hub.client?.lastClose ?? null,
      live: connection === 'live',
      failure: this.room.status === 'failed' ? (this.room.error ?? new RoomFailure('closed_by_server', 'unknown error')) : null,
    });
    return { connection, unsaved: this.room.unacknowledged, keptLocally: this.hub.store.isSaved(this.docId), permission: this.room.permission, problem };
  }

  statusSoon(): void {
    if (this.statusScheduled) return;
    this.statusScheduled = true;
    setTimeout(() => {
      this.statusScheduled = false;
      const status = this.status();
      for (const b of this.fields) b.port.postMessage({ t: 'status', key: b.key, status });
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

  /** Who this browser is on the server now: its account, or no one (share links). */
  async identity(): Promise<Identity> {
    try {
      const { user } = await this.api.me();
      return { user: user.id };
    } catch {
      return { user: '' };
    }
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
        const client = this.ensureClient();
        const room = await client.open(docId, doc, this.store, auth);
        return new OpenDocument(docId, doc, doc.getText(TEXT_CONTAINER), room, this, client.presence(docId), await this.identity());
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
  async bind(port: FieldPort, key: string, docId: string, share: string | null, options: { waitMs: number; link: string | null; title: string }): Promise<BoundField> {
    const open = await this.openDocument(docId, share);
    if (options.waitMs > 0) {
      await Promise.race([open.room.whenSynced(), new Promise((resolve) => setTimeout(resolve, options.waitMs))]).catch(() => {});
    }
    const field: BoundField = {
      port,
      key,
      channel: new TextChannel(true),
      document: open,
      ackTimer: null,
      presenceKey: `${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`,
      cursors: { anchor: null, head: null },
      idle: false,
      idleTimer: null,
      lastActive: 0,
      publishScheduled: false,
      cursorsChanged: false,
      lastPeers: '',
    };
    // Signing in since the document was opened changes who we are.
    open.identity = await this.identity();
    open.fields.add(field);
    port.postMessage({ t: 'bound', key, docId, text: open.text.toString(), content: open.text.toDelta() as TextDelta, link: options.link, title: options.title });
    port.postMessage({ t: 'status', key, status: open.status() });
    open.publish(field); // here, before any caret: the others count this field's person
    open.active(field);
    open.presenceSoon();
    return field;
  }

  edit(field: BoundField, message: EditMessage & { opening?: boolean }): void {
    field.document.edit(field, message);
  }

  undoRedo(field: BoundField, redo: boolean): void {
    field.document.undoRedo(field, redo);
  }

  select(field: BoundField, anchor: number, head: number, seen: number): void {
    field.document.select(field, anchor, head, seen);
  }

  unbind(field: BoundField): void {
    field.document.fields.delete(field);
    field.document.unpublish(field);
  }

  /** The fields bound to a document, for the popup. */
  async describe(): Promise<{ docId: string; fields: number; status: FieldStatus; others: string[] }[]> {
    const out = [];
    for (const opening of this.open.values()) {
      const open = await opening.catch(() => null);
      if (open) out.push({ docId: open.docId, fields: open.fields.size, status: open.status(), others: [...new Set(open.others().map((p) => p.name))] });
    }
    return out;
  }

  async stop(docId: string): Promise<void> {
    const open = this.open.get(docId);
    if (!open) return;
    const doc = await open;
    for (const b of doc.fields) {
      b.port.postMessage({ t: 'failed', key: b.key, message: 'Stopped collaborating on this field.', signIn: null });
      doc.unpublish(b);
    }
    doc.fields.clear();
  }
}
