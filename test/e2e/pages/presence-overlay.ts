/**
 * The presence overlay on its own, for a contenteditable (the extension binds textareas and
 * inputs today; the rich-text binding will pass its own offset mapping). The test page calls
 * `tandemOverlay.show(peers)` and reads the shadow root.
 */
import type { RemotePeer } from '../../../shared/presence';
import { PresenceOverlay } from '../../../extension/lib/content/presence-overlay';

const overlay = PresenceOverlay.standalone();
const rich = document.getElementById('rich')!;
(globalThis as { tandemOverlay?: unknown }).tandemOverlay = {
  show: (peers: RemotePeer[]) => overlay.set(rich, peers),
};
