/**
 * Tandem's text model of a ProseMirror document, for the ProseMirror and Tiptap test pages:
 * textblocks are lines joined by `\n`, hard breaks are `\n`, marks by Tandem's names. Written
 * apart from the adapter on purpose (a test that shares the code under test proves little).
 */
import type { Node as PMNode } from 'prosemirror-model';

const NAMES: Record<string, string> = { strong: 'bold', bold: 'bold', em: 'italic', italic: 'italic', underline: 'underline', strike: 'strike', code: 'code', link: 'link' };

interface Run {
  insert: string;
  attributes?: Record<string, unknown>;
}

/** Every textblock with the position where its content starts. */
function blocks(doc: PMNode): { node: PMNode; pos: number }[] {
  const out: { node: PMNode; pos: number }[] = [];
  doc.descendants((node, pos) => {
    if (node.isTextblock) {
      out.push({ node, pos: pos + 1 });
      return false;
    }
    return true;
  });
  return out;
}

export function rich(doc: PMNode): Run[] {
  const runs: Run[] = [];
  blocks(doc).forEach(({ node }, i) => {
    if (i > 0) runs.push({ insert: '\n' });
    node.forEach((child) => {
      if (child.isText) {
        const attributes: Record<string, unknown> = {};
        for (const m of child.marks) if (NAMES[m.type.name]) attributes[NAMES[m.type.name]!] = m.type.name === 'link' ? m.attrs.href : true;
        runs.push(Object.keys(attributes).length > 0 ? { insert: child.text!, attributes } : { insert: child.text! });
      } else if (child.type.name === 'hard_break' || child.type.name === 'hardBreak') runs.push({ insert: '\n' });
    });
  });
  return runs;
}

export const text = (doc: PMNode): string =>
  rich(doc)
    .map((r) => r.insert)
    .join('');

/** Text offset → document position (documents without inline atoms). */
export function position(doc: PMNode, offset: number): number {
  let start = 0;
  for (const { node, pos } of blocks(doc)) {
    const length = node.textContent.length + countBreaks(node);
    if (offset <= start + length) return pos + (offset - start);
    start += length + 1;
  }
  return doc.content.size;
}

/** Document position → text offset. */
export function offset(doc: PMNode, position: number): number {
  let start = 0;
  for (const { node, pos } of blocks(doc)) {
    const length = node.textContent.length + countBreaks(node);
    if (position <= pos + node.content.size) return start + Math.max(0, position - pos);
    start += length + 1;
  }
  return Math.max(0, start - 1);
}

function countBreaks(node: PMNode): number {
  let n = 0;
  node.forEach((c) => {
    if (c.type.name === 'hard_break' || c.type.name === 'hardBreak') n++;
  });
  return n;
}
