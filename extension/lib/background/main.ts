/**
 * The background: wires ports from content scripts, the popup, the context menu and the
 * shortcut to the document hub. Listeners are registered synchronously (a Chrome service worker
 * woken by an event must have them before its first await); they wait for `ready` inside.
 */
import { browser } from 'wxt/browser';
import { BINDING_PORT, type BackgroundToField, type FieldToBackground, type OneOff } from '../messages';
import { STORAGE, storedServerUrl } from '../storage-keys';
import { DocumentHub, type BoundField } from './document-hub';
import { LocalStore, type DocRecord } from './local-store';
import { placeOfOrigin, placeOfSender, type Place } from '../place';
import { ApiError } from './server-api';
import { parseFieldMessage } from './validate';

const MENU_ID = 'tandem-collaborate';

export function startBackground(): void {
  const store = new LocalStore();
  const ports = new Set<{ postMessage(m: BackgroundToField): void }>();
  let offer: { docId: string; title: string } | null = null;

  const ready = (async () => {
    const stored = await browser.storage.local.get(STORAGE.serverUrl);
    const hub = new DocumentHub(store, storedServerUrl(stored));
    // Edits made offline or before a restart go out as soon as the server is reachable.
    for (const docId of await store.docsWithOutbox()) {
      void hub.openDocument(docId, (await store.getDoc(docId))?.share ?? null).catch((error: unknown) => console.warn('[tandem]', error));
    }
    return hub;
  })();

  async function inject(tabId: number, frameId: number | undefined): Promise<void> {
    if (browser.runtime.getManifest().manifest_version === 3) {
      await browser.scripting.executeScript({ target: frameId === undefined ? { tabId, allFrames: true } : { tabId, frameIds: [frameId] }, files: ['/binding.js'] });
    } else {
      // matchAboutBlank: Firefox injects into about:blank and about:srcdoc frames only when asked.
      await browser.tabs.executeScript(tabId, frameId === undefined ? { file: '/binding.js', allFrames: true, matchAboutBlank: true } : { file: '/binding.js', frameId, matchAboutBlank: true });
    }
  }

  async function collaborateInTab(tabId: number, frameId: number | undefined): Promise<void> {
    await inject(tabId, frameId);
    const message: BackgroundToField = { t: 'collaborate-focused' };
    await (frameId === undefined ? browser.tabs.sendMessage(tabId, message) : browser.tabs.sendMessage(tabId, message, { frameId }));
  }

  browser.runtime.onMessage.addListener((raw: unknown, sender) => {
    const message = raw as OneOff;
    switch (message?.t) {
      case 'load-binding':
        if (sender.tab?.id !== undefined) return inject(sender.tab.id, sender.frameId).then(() => true);
        return undefined;
      case 'load-adapters':
        // Into the page's own world, where editors' objects are (Firefox MV2 has `scripting` too).
        if (sender.tab?.id === undefined) return undefined;
        return browser.scripting.executeScript({ target: { tabId: sender.tab.id, frameIds: [sender.frameId ?? 0] }, world: 'MAIN', files: ['/page-adapters.js'] }).then(() => true);
      case 'popup-state':
        return ready.then(popupState);
      case 'popup-stop':
        return ready.then(async (hub) => {
          await hub.stop(message.docId);
          await store.forgetDocBindings(message.docId);
          return true;
        });
      default:
        return undefined;
    }
  });

  async function popupState() {
    const hub = await ready;
    const user = await hub.api.me().then(
      (r) => r.user,
      () => null,
    );
    const open = await hub.describe();
    const records = await store.recentDocs(20);
    const byId = new Map(records.map((r) => [r.docId, r]));
    return {
      server: hub.api.origin,
      signInUrl: hub.api.signInUrl(),
      user,
      bound: open.filter((d) => d.fields > 0).map((d) => ({ ...d, title: byId.get(d.docId)?.title ?? '', link: byId.get(d.docId)?.link ?? null })),
      recent: records,
    };
  }

  browser.runtime.onConnect.addListener((port) => {
    if (port.name !== BINDING_PORT) return;
    const frameUrl = port.sender?.url ?? '';
    const tabUrl = port.sender?.tab?.url ?? frameUrl;
    /** Where this frame is (set by its hello): bound fields are remembered, and restored, only by place. */
    let place: Place | null = null;
    const fields = new Map<string, BoundField>();
    let open = true;
    const post = (m: BackgroundToField): void => {
      if (!open) return;
      try {
        port.postMessage(m);
      } catch {
        open = false;
      }
    };
    const handle = { postMessage: post };
    ports.add(handle);
    port.onDisconnect.addListener(() => {
      open = false;
      ports.delete(handle);
      void ready.then((hub) => {
        for (const b of fields.values()) hub.unbind(b);
      });
    });

    void ready.then(() => {
      if (offer) post({ t: 'offer', ...offer });
    });
    const remember = async (docId: string, locator: string): Promise<void> => {
      if (place) await store.setBound({ docId, place, locator }, true);
    };

    const fail = (key: string, error: unknown, hub: DocumentHub): void => {
      if (error instanceof ApiError && error.status === 401) {
        post({ t: 'failed', key, message: 'Sign in to Tandem first, then try again.', signIn: hub.api.signInUrl() });
      } else if (error instanceof ApiError && error.code === 'unreachable') {
        post({ t: 'failed', key, message: `Cannot reach the Tandem server at ${hub.api.origin}. Is it running? (Set it in the extension's options.)`, signIn: null });
      } else {
        // The server's name for a refusal (quota_exceeded, too_many_signups…) stays in the notice.
        const named = error instanceof ApiError && error.status > 0 ? ` (${error.code})` : '';
        post({ t: 'failed', key, message: `Tandem could not do that: ${(error as Error).message}${named}`, signIn: null });
      }
    };

    const touch = async (record: Partial<DocRecord> & { docId: string }): Promise<DocRecord> => {
      const previous = await store.getDoc(record.docId);
      const next: DocRecord = { title: '', link: null, share: null, originUrl: null, originField: null, ...previous, ...record, lastUsed: Date.now() };
      await store.putDoc(next);
      return next;
    };

    port.onMessage.addListener((raw: unknown) => {
      const message = parseFieldMessage(raw);
      if (!message) return; // not something our content script sends: ignored
      void ready.then((hub) => onMessage(hub, message));
    });

    async function onMessage(hub: DocumentHub, message: FieldToBackground): Promise<void> {
      switch (message.t) {
        case 'hello':
          // Fields bound at this frame's place come back by themselves; at no other place, whatever its address.
          if (place) return;
          place = placeOfSender(port.sender ?? {}, message);
          if (!place) return;
          for (const field of await store.boundAt(place)) post({ t: 'autobind', docId: field.docId, locator: field.locator });
          return;
        case 'start':
          try {
            await hub.api.me();
            const title = message.title.trim().slice(0, 200) || new URL(tabUrl).host;
            // The server keeps only http(s) origins (a file: or browser page cannot be reopened by others).
            const originUrl = /^https?:\/\//i.test(tabUrl) ? tabUrl : undefined;
            const doc = await hub.api.createDocument({ title, text: message.text, ...(originUrl ? { originUrl } : {}), originField: message.locator });
            const link = await hub.api.createLink(doc.id, 'edit');
            await touch({ docId: doc.id, title, link: link.url, originUrl: tabUrl, originField: message.locator });
            fields.set(message.key, await hub.bind(handle, message.key, doc.id, null, { waitMs: 5_000, link: link.url, title }));
            await remember(doc.id, message.locator);
          } catch (error) {
            fail(message.key, error, hub);
          }
          return;
        case 'attach':
        case 'resume': {
          const record = await touch({ docId: message.docId });
          const hasLocalCopy = (await store.loadSnapshot(message.docId)) !== null;
          try {
            const field = await hub.bind(handle, message.key, message.docId, record.share, {
              // Joining: wait for the server's text (a local copy does if the server is away).
              waitMs: message.t === 'resume' || hasLocalCopy ? 3_000 : 15_000,
              link: null,
              title: record.title,
            });
            fields.set(message.key, field);
            await remember(message.docId, message.locator);
            if (offer?.docId === message.docId) offer = null;
          } catch (error) {
            fail(message.key, error, hub);
          }
          return;
        }
        case 'edit': {
          const field = fields.get(message.key);
          if (field) hub.edit(field, message);
          return;
        }
        case 'undo': {
          const field = fields.get(message.key);
          if (field) hub.undoRedo(field, message.redo);
          return;
        }
        case 'selection': {
          const field = fields.get(message.key);
          if (field) hub.select(field, message.anchor, message.head, message.seen);
          return;
        }
        case 'stop': {
          const field = fields.get(message.key);
          if (field) hub.unbind(field);
          fields.delete(message.key);
          return;
        }
        case 'use-server': {
          if (originOf(frameUrl) !== message.origin) return; // only a server's own page may name itself
          await browser.storage.local.set({ [STORAGE.serverUrl]: message.origin });
          hub.useServer(message.origin);
          post({ t: 'server-used', origin: message.origin });
          return;
        }
        case 'open-shared': {
          if (originOf(frameUrl) !== hub.api.origin) return; // share pages of the configured server only
          try {
            const view = await hub.api.openShared(message.docId, message.share);
            await touch({ docId: message.docId, title: view.title, share: message.share, originUrl: view.originUrl, originField: view.originField });
            const origin = message.mode === 'origin' ? placeOfOrigin(view.originUrl, originLocator(view.originField)) : null;
            if (origin && view.originUrl) {
              await store.setBound({ docId: message.docId, place: origin, locator: view.originField! }, true);
              await browser.tabs.create({ url: view.originUrl });
            } else {
              offer = { docId: message.docId, title: view.title };
              for (const p of ports) p.postMessage({ t: 'offer', ...offer });
            }
          } catch (error) {
            fail('', error, hub);
          }
          return;
        }
      }
    }
  });

  browser.runtime.onInstalled.addListener(() => {
    browser.contextMenus.create({ id: MENU_ID, title: 'Collaborate on this field', contexts: ['editable'] });
  });
  browser.contextMenus.onClicked.addListener((info, tab) => {
    if (info.menuItemId === MENU_ID && tab?.id !== undefined) void collaborateInTab(tab.id, info.frameId);
  });
  browser.commands.onCommand.addListener((command, tab) => {
    if (command === 'collaborate' && tab?.id !== undefined) void collaborateInTab(tab.id, undefined);
  });
}

/** The frame part of a locator its creator's browser stored on the server (anything at all: checked by `placeOfOrigin`). */
function originLocator(field: string | null): { frame: string; origin?: string; path?: string } | null {
  try {
    const value = field === null ? null : (JSON.parse(field) as Record<string, unknown>);
    if (typeof value?.frame !== 'string') return null;
    return {
      frame: value.frame,
      ...(typeof value.origin === 'string' ? { origin: value.origin } : {}),
      ...(typeof value.path === 'string' ? { path: value.path } : {}),
    };
  } catch {
    return null;
  }
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
