/**
 * A document's version history as people use it: list the versions, open one (text, formatting,
 * who wrote what), compare two, restore one as a new change, name the current state, export a
 * version or the whole document, import a document. Readers may look; only writers restore
 * and name. The heavy parts run in the heavy-work thread; a restore goes through the room like
 * any edit, so everyone connected sees it and it is stored before this answers.
 */
import type { Kysely } from 'kysely';
import { decodeImportBlobMeta } from 'loro-crdt';
import { displayNames, readHistorySource, type HistorySource } from '../../db/repositories/doc-history';
import { documentParts, loadStoredDocument, type LogEntry } from '../../db/repositories/doc-log';
import type { Database } from '../../db/schema';
import type { DocumentService, DocumentView } from '../access/documents';
import type { Principal } from '../auth/principal';
import { DomainError, HeavyWorkTimeout } from '../errors';
import type { Compactor } from '../sync/compactor';
import type { DocRoom } from '../sync/doc-room';
import type { RoomMember } from '../sync/room-member';
import type { UpdateLimits } from '../sync/update-check';
import { admitUpdates } from '../sync/update-gate';
import { fromMarkdown, toHtml, toMarkdown } from './formats';
import { UNKNOWN_AUTHOR, entryMetaOf, foldEntries, type AuthorKey, type EntryMeta, type VersionGroup } from './version-groups';
import { authorsOf, groupOfRow, updateLastVersion } from './version-index';
import type { DiffPart, RichRun, VersionAt } from './version-work';

export interface AuthorView {
  key: AuthorKey;
  kind: 'user' | 'link' | 'unknown';
  userId: string | null;
  /** A display name, "Anonymous via link", or "Unknown". */
  name: string;
}

export interface VersionView {
  /** Stable: the first log entry of the version. */
  id: number;
  /** The last log entry it covers: the version is the document after it. */
  seq: number;
  startedAt: string;
  endedAt: string;
  authors: AuthorView[];
  /** Characters inserted and deleted, and marks set (Loro operations). */
  changes: number;
  name: string | null;
}

export type ExportFormat = 'text' | 'markdown' | 'html';

export interface HistoryDeps {
  db: Kysely<Database>;
  documents: DocumentService;
  heavy: Pick<Compactor, 'version' | 'diff' | 'restore' | 'fromRuns' | 'snapshot' | 'checkSnapshot'>;
  rooms: { acquireDoc(docId: string): Promise<DocRoom>; releaseDoc(room: DocRoom): void };
  updateLimits: UpdateLimits;
  maxDocumentTextBytes: number;
  maxDocumentBytes: number;
}

/** A restore enters the room as a member that receives nothing and cannot be evicted. */
const HISTORY_MEMBER: RoomMember = { connectionId: -1, deliver: () => {}, evict: () => {} };

/** The versions: stored groups, then the log after them grouped as it is read. */
export function versionsOf(source: HistorySource, metaOf: (entry: LogEntry) => EntryMeta = entryMetaOf): VersionGroup[] {
  const groups = source.versions.map(groupOfRow);
  const indexed = groups.at(-1)?.lastSeq ?? 0;
  if (source.snapshotSeq > indexed) {
    // Folded into a snapshot before versions were kept: one version, the snapshot's own.
    const at = source.snapshotAt ?? new Date(0);
    groups.push({ firstSeq: indexed + 1, lastSeq: source.snapshotSeq, startedAt: at, endedAt: at, authors: [UNKNOWN_AUTHOR], ops: 0, version: null, name: null, namedBy: null, closed: true });
  }
  const last = groups.pop() ?? null;
  return [...groups, ...foldEntries(last, source.log.map(metaOf), authorsOf(source.peers))];
}

/** Log entries whose headers are remembered (an entry never changes once stored). */
const META_CACHE_ENTRIES = 20_000;

export class HistoryService {
  /** Headers read from log entries, by document and seq: a listing reads the same tail again. */
  private readonly metas = new Map<string, EntryMeta>();
  /** Per document, the seq up to which every entry's headers are in `metas`. */
  private readonly cachedThrough = new Map<string, number>();

  constructor(private readonly deps: HistoryDeps) {}

  private metaOf(docId: string, entry: LogEntry): EntryMeta {
    const key = `${docId}:${entry.seq}`;
    let meta = this.metas.get(key);
    if (meta) meta = { ...meta, at: entry.at ?? meta.at };
    else {
      meta = entryMetaOf(entry);
      this.metas.set(key, meta);
      if (this.metas.size > META_CACHE_ENTRIES) {
        // Forget the oldest; its document re-reads its entries' bytes from then on.
        const oldest = this.metas.keys().next().value!;
        this.metas.delete(oldest);
        this.cachedThrough.delete(oldest.slice(0, oldest.indexOf(':')));
      }
    }
    return meta;
  }

  /** Newest first. */
  async list(principal: Principal, docId: string): Promise<{ versions: VersionView[] }> {
    await this.deps.documents.decide(principal, docId);
    const groups = await this.groups(docId);
    const views = await this.views(groups);
    return { versions: views.reverse() };
  }

  /** The document at a version: text, formatting runs, and (when asked) who wrote each run. */
  async open(principal: Principal, docId: string, id: number, withAuthors = true): Promise<{ version: VersionView; text: string; runs: RichRun[]; authors: { author: AuthorView; length: number }[] }> {
    await this.deps.documents.decide(principal, docId);
    const { group, at, authorOf: peers } = await this.locate(docId, id);
    const content = await this.heavy(() => this.deps.heavy.version(at, withAuthors));
    const keys = new Set<string>();
    const merged: { key: AuthorKey; length: number }[] = [];
    for (const run of content.authors ?? []) {
      const key = peers(run.peer);
      keys.add(key);
      const last = merged.at(-1);
      if (last && last.key === key) last.length += run.length;
      else merged.push({ key, length: run.length });
    }
    const authors = await this.authorViews([...keys]);
    const [version] = await this.views([group]);
    return { version: version!, text: content.text, runs: content.runs, authors: merged.map((m) => ({ author: authors.get(m.key)!, length: m.length })) };
  }

  /** A word diff from version `from` to version `to`. */
  async diff(principal: Principal, docId: string, from: number, to: number): Promise<{ parts: DiffPart[] }> {
    await this.deps.documents.decide(principal, docId);
    const a = await this.locate(docId, from);
    const b = await this.locate(docId, to);
    return { parts: await this.heavy(() => this.deps.heavy.diff(a.at, b.at)) };
  }

  /** A version as text, Markdown or sanitised HTML. */
  async export(principal: Principal, docId: string, id: number, format: ExportFormat): Promise<string> {
    await this.deps.documents.decide(principal, docId);
    const { at } = await this.locate(docId, id);
    const content = await this.heavy(() => this.deps.heavy.version(at, false));
    return format === 'text' ? content.text : format === 'markdown' ? toMarkdown(content.runs) : toHtml(content.runs);
  }

  /** A Loro snapshot of the whole document, history included (for backups and moving servers). */
  async snapshot(principal: Principal, docId: string): Promise<Uint8Array> {
    await this.deps.documents.decide(principal, docId);
    const stored = await loadStoredDocument(this.deps.db, docId);
    return (await this.heavy(() => this.deps.heavy.snapshot(documentParts(stored), null, true))).snapshot;
  }

  /**
   * Brings the document back to a version, as a new change on top made through the room (so
   * everyone connected sees it and it is stored before this returns). The restore is a
   * version of its own, named after the one it restored; restoring an earlier one undoes it.
   */
  async restore(principal: Principal, docId: string, id: number): Promise<{ restored: boolean; text: string }> {
    const user = await this.writer(principal, docId);
    const { group, at, all } = await this.locate(docId, id);
    const made = await this.heavy(() => this.deps.heavy.restore(all.parts, all.version));
    if (!made) return { restored: false, text: (await this.heavy(() => this.deps.heavy.version(at, false))).text };
    // The restore starts a version of its own.
    await updateLastVersion(this.deps.db, docId, (last) => (last.closed = true));
    const room = await this.deps.rooms.acquireDoc(docId);
    try {
      // Through the update gate, as an edit (the server's own change, so no bound on its
      // operations): restoring a large version and an empty one in turn would otherwise grow
      // the document without bound.
      const { maxDocumentTextBytes, maxDocumentBytes } = this.deps;
      const admitted = await admitUpdates([made.update], () => room, {
        options: { maxOpsPerUpdate: Number.MAX_SAFE_INTEGER, maxDocumentTextBytes, maxDocumentBytes },
        checkSnapshot: (bytes, limits) => this.deps.heavy.checkSnapshot(bytes, limits),
      });
      if (!admitted.ok) throw new DomainError('document_too_large', admitted.detail);
      const outcome = room.submit(HISTORY_MEMBER, [made.update], { userId: user, linkId: null });
      if (outcome.kind === 'invalid') throw new Error(`the room refused a restore: ${outcome.reason}`);
      await outcome.committed;
    } finally {
      this.deps.rooms.releaseDoc(room);
    }
    const label = `Restored ${group.name ? `“${group.name}”` : `the version of ${group.endedAt.toISOString()}`}`;
    await updateLastVersion(this.deps.db, docId, (last) => {
      last.name ??= label;
      last.namedBy ??= user;
      last.closed = true;
    });
    return { restored: true, text: made.text };
  }

  /** Names the current state (the latest version, which later edits no longer extend). */
  async name(principal: Principal, docId: string, name: string): Promise<VersionView> {
    const user = await this.writer(principal, docId);
    const groups = await updateLastVersion(this.deps.db, docId, (last) => {
      last.name = name;
      last.namedBy = user;
      last.closed = true;
    });
    if (!groups) throw new DomainError('no_history', 'the document has no edits to name yet');
    const [view] = await this.views([groups.at(-1)!]);
    return view!;
  }

  /** Creates a document from a Loro snapshot, plain text or Markdown; the importer owns it. */
  async import(ownerId: string, input: { title: string; format: 'snapshot' | 'text' | 'markdown'; content: string }): Promise<DocumentView> {
    if (input.format === 'snapshot') return this.importSnapshot(ownerId, input.title, new Uint8Array(Buffer.from(input.content, 'base64')));
    const runs: RichRun[] = input.format === 'markdown' ? fromMarkdown(input.content) : [{ insert: input.content }];
    if (Buffer.byteLength(runs.map((r) => r.insert).join(''), 'utf8') > this.deps.maxDocumentTextBytes) {
      throw new DomainError('document_too_large', `a document may hold at most ${this.deps.maxDocumentTextBytes} bytes of text`);
    }
    if (runs.every((r) => r.insert === '')) return this.deps.documents.createWith(ownerId, { title: input.title }, null);
    const made = await this.heavy(() => this.deps.heavy.fromRuns(runs));
    return this.deps.documents.createWith(ownerId, { title: input.title }, { update: made.update, peers: [{ peer: made.peer, userId: ownerId, linkId: null }] });
  }

  /** A new document from a Loro snapshot (or a whole-history update), checked before anything is stored. */
  async importSnapshot(ownerId: string, title: string, bytes: Uint8Array): Promise<DocumentView> {
    let check: Awaited<ReturnType<Compactor['checkSnapshot']>>;
    try {
      const meta = decodeImportBlobMeta(bytes, true);
      if (meta.mode !== 'snapshot' && meta.mode !== 'update') throw new Error(`a ${meta.mode} cannot start a document`);
      check = await this.heavy(() => this.deps.heavy.checkSnapshot(bytes, this.deps.updateLimits));
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw new DomainError('invalid_snapshot', `not a Loro snapshot of a Tandem document: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!check.ok) throw new DomainError('invalid_snapshot', `not a Loro snapshot of a Tandem document: ${check.detail}`);
    // Its peers wrote elsewhere: their authors are unknown here.
    return this.deps.documents.createWith(ownerId, { title }, { update: bytes, peers: [] });
  }

  private async writer(principal: Principal, docId: string): Promise<string> {
    const decision = await this.deps.documents.decide(principal, docId);
    if (decision.permission !== 'write' || principal.kind !== 'user') throw new DomainError('forbidden', 'only people who may edit the document can change its history');
    return principal.user.id;
  }

  private async groups(docId: string): Promise<VersionGroup[]> {
    return (await this.history(docId)).groups;
  }

  /** The versions and the peers' authors. Entries whose headers are cached are read without their bytes. */
  private async history(docId: string): Promise<{ groups: VersionGroup[]; authorOf: (peer: string) => AuthorKey }> {
    let source = await readHistorySource(this.deps.db, docId, this.cachedThrough.get(docId) ?? 0);
    // Headers forgotten since (the cache is bounded): read the bytes again.
    if (source?.log.some((e) => e.updates.length === 0 && !this.metas.has(`${docId}:${e.seq}`))) source = await readHistorySource(this.deps.db, docId);
    if (!source) throw new DomainError('not_found', 'no such document');
    const groups = versionsOf(source, (entry) => this.metaOf(docId, entry));
    const last = source.log.at(-1);
    if (last) this.cachedThrough.set(docId, last.seq);
    return { groups, authorOf: authorsOf(source.peers) };
  }

  /**
   * A version by id; the fewest stored parts that hold it, with the version to take of them
   * (`at`); and every stored part with the version as a version vector (`all`, for a restore).
   * A version the snapshot covers is read from the snapshot alone: importing the log on top of
   * a large snapshot costs more than everything else (the first import decodes its history).
   * A later one is exactly the log up to it, so it needs no version vector.
   */
  private async locate(docId: string, id: number): Promise<{ group: VersionGroup; at: VersionAt; all: VersionAt; authorOf: (peer: string) => AuthorKey }> {
    const { groups, authorOf } = await this.history(docId);
    const group = groups.find((g) => g.firstSeq === id);
    if (!group) throw new DomainError('version_not_found', `the document has no version ${id}`);
    const stored = await loadStoredDocument(this.deps.db, docId);
    const { snapshot } = stored;
    if (snapshot && group.lastSeq <= snapshot.seq) {
      if (group.version === null && group.lastSeq !== snapshot.seq) throw new DomainError('version_not_found', `version ${id} is no longer stored`);
      const version = group.version ?? Object.fromEntries(decodeImportBlobMeta(snapshot.bytes, false).partialEndVersionVector.toJSON());
      return { group, at: { parts: [snapshot.bytes], version: group.version, key: `${docId}:${snapshot.seq}:${snapshot.seq}` }, all: { parts: documentParts(stored), version }, authorOf };
    }
    const upTo = { ...stored, log: stored.log.filter((e) => e.seq <= group.lastSeq) };
    return {
      group,
      at: { parts: documentParts(upTo), version: null, key: `${docId}:${snapshot?.seq ?? 0}:${group.lastSeq}` },
      all: { parts: documentParts(stored), version: group.version },
      authorOf,
    };
  }

  private async heavy<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof HeavyWorkTimeout) throw new DomainError('export_timeout', `this took longer than ${error.budgetMs} ms`, 60);
      throw error;
    }
  }

  private async authorViews(keys: readonly AuthorKey[]): Promise<Map<AuthorKey, AuthorView>> {
    const userIds = keys.filter((k) => k.startsWith('user:')).map((k) => k.slice(5));
    const names = await displayNames(this.deps.db, userIds);
    return new Map(
      keys.map((key): [AuthorKey, AuthorView] => {
        if (key.startsWith('user:')) {
          const userId = key.slice(5);
          return [key, { key, kind: 'user', userId, name: names.get(userId) ?? 'Deleted account' }];
        }
        if (key.startsWith('link:')) return [key, { key, kind: 'link', userId: null, name: 'Anonymous via link' }];
        return [key, { key, kind: 'unknown', userId: null, name: 'Unknown' }];
      }),
    );
  }

  private async views(groups: readonly VersionGroup[]): Promise<VersionView[]> {
    const authors = await this.authorViews([...new Set(groups.flatMap((g) => g.authors))]);
    return groups.map((g) => ({
      id: g.firstSeq,
      seq: g.lastSeq,
      startedAt: g.startedAt.toISOString(),
      endedAt: g.endedAt.toISOString(),
      authors: g.authors.map((a) => authors.get(a)!),
      changes: g.ops,
      name: g.name,
    }));
  }
}
