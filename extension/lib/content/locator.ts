/**
 * Finding a field again on a later visit: a locator is a path of CSS selectors, one per
 * (shadow) root from the document down to the field. Each step prefers what pages keep stable
 * (an id, a name) over position.
 */
import { pageKey } from '../messages';
import { FIELD_SELECTOR, shadowRootOf } from './fields';
import { framePath } from '../place';
import { EDITOR_ROOT_SELECTOR, editorRootSelector } from './editors';

export interface Locator {
  /** The frame's address without #fragment. */
  frame: string;
  /** The frame's origin and position (../place.ts): with the top page's address, where the field is. */
  origin: string;
  path: string;
  steps: string[];
}

function stepFor(el: Element, root: Document | ShadowRoot): string {
  const tag = el.localName;
  if (el.id && root.querySelectorAll(`#${CSS.escape(el.id)}`).length === 1) return `#${CSS.escape(el.id)}`;
  const name = el.getAttribute('name');
  if (name) {
    const selector = `${tag}[name="${CSS.escape(name)}"]`;
    if (root.querySelectorAll(selector).length === 1) return selector;
  }
  // A framework editor's root is a plain div among the many its editor renders (tooltips and
  // panels come and go): named by its editor's selector under the nearest ancestor with an id,
  // or by its position among the editors of that kind.
  const editor = editorRootSelector(el);
  if (editor) {
    const anchor = el.parentElement?.closest('[id]');
    if (anchor && root.querySelectorAll(`#${CSS.escape(anchor.id)}`).length === 1) {
      const scoped = `#${CSS.escape(anchor.id)} ${editor}`;
      if (root.querySelectorAll(scoped).length === 1) return scoped;
    }
    return `${editor}:nth-match(${[...root.querySelectorAll(editor)].indexOf(el)})`;
  }
  // Position among same-tag fields of this root: robust to unrelated markup changing around it.
  const same = [...root.querySelectorAll(tag)];
  return `${tag}:nth-match(${same.indexOf(el)})`;
}

/** The locator of a field in this frame. */
export function locatorOf(field: Element): Locator {
  const steps: string[] = [];
  let el: Element = field;
  for (;;) {
    const root = el.getRootNode() as Document | ShadowRoot;
    steps.unshift(stepFor(el, root));
    if (!(root instanceof ShadowRoot)) break;
    el = root.host;
  }
  return { frame: pageKey(location.href), origin: self.origin, path: framePath(), steps };
}

function resolveStep(root: Document | ShadowRoot, step: string): Element | null {
  const match = /^(.+):nth-match\((\d+)\)$/.exec(step);
  if (match) return root.querySelectorAll(match[1]!)[Number(match[2])] ?? null;
  return root.querySelector(step);
}

/** The field a locator names in this document, if it is there now. */
export function findField(locator: Locator): HTMLElement | null {
  let root: Document | ShadowRoot = document;
  let el: Element | null = null;
  for (let i = 0; i < locator.steps.length; i++) {
    el = resolveStep(root, locator.steps[i]!);
    if (!el) return null;
    if (i < locator.steps.length - 1) {
      const shadow = shadowRootOf(el);
      if (!shadow) return null;
      root = shadow;
    }
  }
  return el instanceof HTMLElement && (el.matches(FIELD_SELECTOR) || el.matches(EDITOR_ROOT_SELECTOR)) ? el : null;
}

export function parseLocator(text: string): Locator | null {
  try {
    const value = JSON.parse(text) as Partial<Locator>;
    if (typeof value.frame !== 'string' || !Array.isArray(value.steps) || !value.steps.every((s) => typeof s === 'string')) return null;
    return { frame: value.frame, origin: typeof value.origin === 'string' ? value.origin : '', path: typeof value.path === 'string' ? value.path : '', steps: value.steps };
  } catch {
    return null; // not a locator this version wrote
  }
}
