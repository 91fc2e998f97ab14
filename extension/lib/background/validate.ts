/** Checks the shape of every message a content script sends: a compromised page frame could send anything. */
import { STYLE_KEYS } from '../../../shared/document';
import type { TextOp } from '../../../shared/text/delta';
import type { FieldToBackground } from '../messages';

const MAX_TEXT = 1_000_000;
const str = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max;
const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Formatting Tandem knows (a page could otherwise fill the shared document with arbitrary marks): booleans, or a link's href. */
function isAttributes(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.entries(v).every(([k, value]) => STYLE_KEYS.has(k) && (value === null || (k === 'link' ? str(value, 2048) : value === true)));
}

function isOp(op: unknown): op is TextOp {
  if (typeof op !== 'object' || op === null) return false;
  const o = op as Record<string, unknown>;
  const keys = Object.keys(o);
  if ('attributes' in o) {
    if (keys.length !== 2 || !isAttributes(o.attributes)) return false;
    return ('retain' in o && count(o.retain)) || ('insert' in o && str(o.insert, MAX_TEXT));
  }
  if (keys.length !== 1) return false;
  return ('retain' in o && count(o.retain)) || ('delete' in o && count(o.delete)) || ('insert' in o && str(o.insert, MAX_TEXT));
}

export function parseFieldMessage(raw: unknown): FieldToBackground | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  switch (m.t) {
    case 'hello':
      return str(m.origin, 500) && str(m.path, 100) ? (m as FieldToBackground) : null;
    case 'start':
      return str(m.key, 64) && str(m.text, MAX_TEXT) && str(m.locator) && str(m.pageUrl) && str(m.title, 1000) ? (m as FieldToBackground) : null;
    case 'attach':
      return str(m.key, 64) && str(m.docId, 64) && str(m.locator) ? (m as FieldToBackground) : null;
    case 'resume':
      return str(m.key, 64) && str(m.docId, 64) && str(m.text, MAX_TEXT) && str(m.locator) ? (m as FieldToBackground) : null;
    case 'edit':
      return str(m.key, 64) && (m.opening === undefined || m.opening === true) && count(m.seen) && Array.isArray(m.delta) && m.delta.length <= 10_000 && m.delta.every(isOp)
        ? (m as FieldToBackground)
        : null;
    case 'undo':
      return str(m.key, 64) && typeof m.redo === 'boolean' ? (m as FieldToBackground) : null;
    case 'stop':
      return str(m.key, 64) ? (m as FieldToBackground) : null;
    case 'selection':
      return str(m.key, 64) && count(m.anchor) && count(m.head) && count(m.seen) ? (m as FieldToBackground) : null;
    case 'use-server':
      return str(m.origin, 500) ? (m as FieldToBackground) : null;
    case 'open-shared':
      return str(m.docId, 64) && str(m.share, 200) && (m.mode === 'origin' || m.mode === 'pick') ? (m as FieldToBackground) : null;
    default:
      return null;
  }
}
