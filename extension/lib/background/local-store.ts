/**
 * What the extension keeps on this device (extension storage, which outlives browser
 * restarts): each document's unacknowledged updates (the outbox) and a snapshot, the documents
 * this person has used, and which fields on which pages are bound.
 */
import { decodeBase64, encodeBase64 } from '@oslojs/encoding';
import { browser } from 'wxt/browser';
import type { OutboxStore } from '../../../shared/client/sync-client';
import { STORAGE } from '../storage-keys';
import { frameHint, samePlace, type Place } from '../place';

/** A document as this browser knows it. */
export interface DocRecord {
  docId: string;
  title: string;
  /** The share link to hand out (owners: the edit link made at start). */
  link: string | null;
  /** The share token this browser joins with (opened from someone else's link). */
  share: string | null;
  originUrl: string | null;
  originField: string | null;
  lastUsed: number;
}

/** A field that stays bound: when a frame at its place loads, the binding comes back. */
export interface BoundField {
  docId: string;
  place: Place;
  locator: string;
}

const key = {
  outbox: (docId: string) => `outbox:${docId}`,
  snapshot: (docId: string) => `snapshot:${docId}`,
  doc: (docId: string) => `doc:${docId}`,
  fields: 'boundFields',
};

export class LocalStore implements OutboxStore {
  private readonly saving = new Map<string, number>();

  async load(docId: string): Promise<Uint8Array[]> {
    const stored = await browser.storage.local.get(key.outbox(docId));
    const list = stored[key.outbox(docId)];
    return Array.isArray(list) ? list.map((b) => decodeBase64(String(b))) : [];
  }

  async save(docId: string, updates: readonly Uint8Array[]): Promise<void> {
    this.saving.set(docId, (this.saving.get(docId) ?? 0) + 1);
    try {
      if (updates.length === 0) await browser.storage.local.remove(key.outbox(docId));
      else await browser.storage.local.set({ [key.outbox(docId)]: updates.map((u) => encodeBase64(u)) });
    } finally {
      this.saving.set(docId, this.saving.get(docId)! - 1);
    }
  }

  /** True while no outbox write of this document is under way. */
  isSaved(docId: string): boolean {
    return (this.saving.get(docId) ?? 0) === 0;
  }

  /** Documents with updates the server has not acknowledged (to resume at start-up). */
  async docsWithOutbox(): Promise<string[]> {
    const all = await browser.storage.local.get(null);
    return Object.keys(all)
      .filter((k) => k.startsWith('outbox:') && Array.isArray(all[k]) && (all[k] as unknown[]).length > 0)
      .map((k) => k.slice('outbox:'.length));
  }

  async loadSnapshot(docId: string): Promise<Uint8Array | null> {
    const stored = await browser.storage.local.get(key.snapshot(docId));
    const value = stored[key.snapshot(docId)];
    return typeof value === 'string' ? decodeBase64(value) : null;
  }

  async saveSnapshot(docId: string, bytes: Uint8Array): Promise<void> {
    await browser.storage.local.set({ [key.snapshot(docId)]: encodeBase64(bytes) });
  }

  async getDoc(docId: string): Promise<DocRecord | null> {
    const stored = await browser.storage.local.get(key.doc(docId));
    return (stored[key.doc(docId)] as DocRecord | undefined) ?? null;
  }

  async putDoc(record: DocRecord): Promise<void> {
    await browser.storage.local.set({ [key.doc(record.docId)]: record });
  }

  async recentDocs(limit = 10): Promise<DocRecord[]> {
    const all = await browser.storage.local.get(null);
    return Object.entries(all)
      .filter(([k]) => k.startsWith('doc:'))
      .map(([, v]) => v as DocRecord)
      .sort((a, b) => b.lastUsed - a.lastUsed)
      .slice(0, limit);
  }

  async boundFields(): Promise<BoundField[]> {
    const stored = await browser.storage.local.get(key.fields);
    const list = stored[key.fields];
    // Records without a place were keyed by the frame's address alone (about:srcdoc on every site): dropped.
    return Array.isArray(list) ? (list as Partial<BoundField>[]).filter((f): f is BoundField => typeof f.place?.top === 'string') : [];
  }

  /** The bound fields remembered for this place. */
  async boundAt(place: Place): Promise<BoundField[]> {
    return (await this.boundFields()).filter((f) => samePlace(f.place, place));
  }

  /**
   * Records (or, with `bound` false, forgets) a bound field; keeps the pages list the detector
   * reads. A field holds one document: binding it to one forgets the others remembered for it
   * (else "open where it was written" could bring back an older document into that field).
   */
  async setBound(field: BoundField, bound: boolean): Promise<void> {
    const same = (f: BoundField): boolean => samePlace(f.place, field.place) && f.locator === field.locator && (bound || f.docId === field.docId);
    const list = (await this.boundFields()).filter((f) => !same(f));
    if (bound) list.push(field);
    await this.saveFields(list);
  }

  async forgetDocBindings(docId: string): Promise<void> {
    await this.saveFields((await this.boundFields()).filter((f) => f.docId !== docId));
  }

  private async saveFields(list: BoundField[]): Promise<void> {
    await browser.storage.local.set({ [key.fields]: list, [STORAGE.boundPages]: [...new Set(list.map((f) => frameHint(f.place.origin, f.place.frame)))] });
  }
}
