/**
 * Finding a field again on a later visit: a locator is a path of CSS selectors, one per
 * (shadow) root from the document down to the field. Each step prefers what pages keep stable
 * (an id, a name) over position.
 */
import { FIELD_SELECTOR, shadowRootOf } from '../messages';

export interface Locator {
  /** The frame's address without #fragment: fields in iframes are found by their own frame. */
  frame: string;
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
  // Position among same-tag fields of this root: robust to unrelated markup changing around it.
  const same = [...root.querySelectorAll(tag)];
  return `${tag}:nth-match(${same.indexOf(el)})`;
}

export function locatorOf(field: Element, frameUrl: string): Locator {
  const steps: string[] = [];
  let el: Element = field;
  for (;;) {
    const root = el.getRootNode() as Document | ShadowRoot;
    steps.unshift(stepFor(el, root));
    if (!(root instanceof ShadowRoot)) break;
    el = root.host;
  }
  return { frame: frameUrl, steps };
}

function resolveStep(root: Document | ShadowRoot, step: string): Element | null {
  const match = /^([a-z][\w-]*):nth-match\((\d+)\)$/.exec(step);
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
  return el instanceof HTMLElement && el.matches(FIELD_SELECTOR) ? el : null;
}

export function parseLocator(text: string): Locator | null {
  try {
    const value = JSON.parse(text) as Partial<Locator>;
    if (typeof value.frame !== 'string' || !Array.isArray(value.steps) || !value.steps.every((s) => typeof s === 'string')) return null;
    return { frame: value.frame, steps: value.steps };
  } catch {
    return null; // not a locator this version wrote
  }
}
