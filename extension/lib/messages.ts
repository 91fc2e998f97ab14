/**
 * Messages between the content scripts and the background. Content scripts are page-adjacent
 * and the background never trusts more from them than a page could do to its own field: it
 * checks every message's shape, and acts only for the tab and frame the port belongs to.
 */
import type { EditMessage } from '../../shared/text/channel';
import type { TextDelta } from '../../shared/text/delta';
import type { RemotePeer } from '../../shared/presence';

/** How a bound field looks to the person typing in it. */
export interface FieldStatus {
  connection: 'live' | 'connecting' | 'offline';
  /** Edits not yet stored on the server. */
  unsaved: number;
  /** Unsaved edits are written to this device's extension storage. */
  keptLocally: boolean;
  permission: 'read' | 'write' | null;
  /** Set when the binding stopped: why, in words for the person. */
  problem: string | null;
}

/** Content script → background, over the `tandem-binding` port. */
export type FieldToBackground =
  /** First on every port: the frame's origin and position (see ./place.ts). */
  | { t: 'hello'; origin: string; path: string }
  /** Start a new document from this field's text. */
  | { t: 'start'; key: string; text: string; locator: string; pageUrl: string; title: string }
  /** Bind this field to an existing document: the document's text replaces the field's. */
  | { t: 'attach'; key: string; docId: string; locator: string }
  /** The port dropped while bound (background restarted): the field holds the latest text. */
  | { t: 'resume'; key: string; docId: string; text: string; locator: string }
  /** `opening`: the field's text when it was bound (a new document, a resumed binding): not undoable. */
  | ({ t: 'edit'; key: string; opening?: true } & EditMessage)
  /** Undo (or redo) this person's last change to the document (Ctrl+Z in a bound field). */
  | { t: 'undo'; key: string; redo: boolean }
  | { t: 'stop'; key: string }
  /** The person's caret (`head`) and selection, after applying `seen` of the background's edits. */
  | { t: 'selection'; key: string; anchor: number; head: number; seen: number }
  /** On the server's own pages: remember this server, or open a shared document. */
  | { t: 'use-server'; origin: string }
  | { t: 'open-shared'; docId: string; share: string; mode: 'origin' | 'pick' };

/** Background → content script. */
export type BackgroundToField =
  /** `text`: the document's text (plain fields); `content`: with its formatting (rich fields). */
  | { t: 'bound'; key: string; docId: string; text: string; content: TextDelta; link: string | null; title: string }
  /** `caret`: this is the field's own undo or redo: put the caret where it changed the text. */
  | ({ t: 'remote'; key: string; caret?: boolean } & EditMessage)
  /** The background applied `seen` of the field's edits (sent when it has nothing else to say). */
  | { t: 'ack'; key: string; seen: number }
  | { t: 'status'; key: string; status: FieldStatus }
  /** Everyone else in the document, offsets measured after applying `seen` of the field's edits. */
  | { t: 'presence'; key: string; seen: number; peers: RemotePeer[]; me: string }
  | { t: 'failed'; key: string; message: string; signIn: string | null }
  /** Bind the field this locator finds (after "open where it was written", or a reload). */
  | { t: 'autobind'; docId: string; locator: string }
  /** The person chose "bind to a field here": the next field they focus offers this document. */
  | { t: 'offer'; docId: string; title: string }
  | { t: 'server-used'; origin: string }
  /** The context menu or shortcut: collaborate on the focused field. */
  | { t: 'collaborate-focused' };

/** One-off messages (runtime.sendMessage). */
export type OneOff =
  | { t: 'load-binding' }
  /** A frame met a framework editor: load the page-world adapters into it. */
  | { t: 'load-adapters' }
  | { t: 'popup-state' }
  | { t: 'popup-stop'; docId: string };

export type { EditMessage, RemotePeer, TextDelta };

export const BINDING_PORT = 'tandem-binding';

export { pageKey } from './place';
