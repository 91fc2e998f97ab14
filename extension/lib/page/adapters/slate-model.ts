/**
 * Slate's document as Tandem's text (see ./slate.ts): the lines, where each text leaf and void
 * sits in the text, marks, and the editor found from its editable element. Pure reads of the
 * editor's `children`; nothing here changes the editor.
 */
import type { Attributes } from '../../../../shared/text/delta';

export type Path = number[];
export interface SText {
  text: string;
  [key: string]: unknown;
}
export interface SElement {
  children: SNode[];
  [key: string]: unknown;
}
export type SNode = SText | SElement;
export interface SPoint {
  path: Path;
  offset: number;
}
export interface SRange {
  anchor: SPoint;
  focus: SPoint;
}
export interface SlateEditor {
  children: SNode[];
  selection: SRange | null;
  operations: object[];
  apply(op: object): void;
  onChange(options?: unknown): void;
  isInline(element: SElement): boolean;
  isVoid(element: SElement): boolean;
  withoutNormalizing(fn: () => void): void;
  undo?: () => void;
  redo?: () => void;
  history?: { undos: unknown[]; redos: unknown[] };
}

/** Tandem's marks and the text properties Slate sites give them (the first is written). */
export const MARKS: Record<string, readonly string[]> = { bold: ['bold'], italic: ['italic'], underline: ['underline'], code: ['code'], strike: ['strikethrough', 'strike'] };
export const STYLES: ReadonlySet<string> = new Set(Object.keys(MARKS));

/** A piece of a line: a text leaf (its length) or a void inline (zero). */
export interface Piece {
  path: Path;
  node: SNode;
  start: number;
  length: number;
  text: boolean;
}
export interface Line {
  path: Path;
  start: number;
  length: number;
  pieces: Piece[];
}

export const isText = (node: SNode): node is SText => typeof (node as SText).text === 'string';
export const parentOf = (path: Path): Path => path.slice(0, -1);
export const nextOf = (path: Path): Path => [...path.slice(0, -1), path[path.length - 1]! + 1];
export const lastOf = (path: Path): number => path[path.length - 1]!;
export const samePath = (a: Path, b: Path): boolean => a.length === b.length && a.every((n, i) => n === b[i]);
export const isPrefix = (prefix: Path, path: Path): boolean => prefix.length <= path.length && prefix.every((n, i) => n === path[i]);
/** <0, 0, >0: `a` before, at, after `b` in document order (an ancestor comes first). */
export function comparePaths(a: Path, b: Path): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
/** A node's properties: everything but its text or children. */
export function propsOf(node: SNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) if (k !== 'text' && k !== 'children') out[k] = v;
  return out;
}

/** The `<Slate>` component's `editor`, up the React fiber of its editable element. */
export function findEditor(root: HTMLElement): SlateEditor | null {
  const key = Object.keys(root).find((k) => k.startsWith('__reactFiber$') || k.startsWith('__reactInternalInstance$'));
  type Fiber = { return: Fiber | null; memoizedProps?: { editor?: unknown } | null };
  let fiber = key ? (root as unknown as Record<string, Fiber | undefined>)[key] : undefined;
  for (let depth = 0; fiber && depth < 200; depth++, fiber = fiber.return ?? undefined) {
    const editor = fiber.memoizedProps?.editor as Partial<SlateEditor> | undefined;
    if (
      editor &&
      typeof editor.apply === 'function' &&
      typeof editor.onChange === 'function' &&
      typeof editor.isInline === 'function' &&
      typeof editor.isVoid === 'function' &&
      Array.isArray(editor.children) &&
      Array.isArray(editor.operations)
    )
      return editor as SlateEditor;
  }
  return null;
}

/** Reads an editor's tree as lines (its `isInline`/`isVoid` may throw on nodes it does not know: neither, then). */
export class SlateModel {
  constructor(readonly editor: SlateEditor) {}

  isInline(el: SElement): boolean {
    try {
      return this.editor.isInline(el) === true;
    } catch {
      return false;
    }
  }

  isVoid(el: SElement): boolean {
    try {
      return this.editor.isVoid(el) === true;
    } catch {
      return false;
    }
  }

  layout(): Line[] {
    const lines: Line[] = [];
    let offset = 0;
    const inline = (node: SNode, path: Path, line: Line): void => {
      if (isText(node)) {
        line.pieces.push({ path, node, start: offset, length: node.text.length, text: true });
        offset += node.text.length;
        line.length += node.text.length;
      } else if (this.isVoid(node)) line.pieces.push({ path, node, start: offset, length: 0, text: false });
      else node.children.forEach((child, i) => inline(child, [...path, i], line));
    };
    const block = (node: SElement, path: Path): void => {
      if (this.isVoid(node)) return; // a block image or embed: not text
      if (node.children.every((c) => isText(c) || this.isInline(c))) {
        if (lines.length > 0) offset += 1;
        const line: Line = { path, start: offset, length: 0, pieces: [] };
        node.children.forEach((child, i) => inline(child, [...path, i], line));
        lines.push(line);
        return;
      }
      node.children.forEach((child, i) => {
        if (!isText(child)) block(child, [...path, i]);
      });
    };
    this.editor.children.forEach((child, i) => {
      if (!isText(child)) block(child, [i]);
    });
    return lines;
  }

  lineAt(lines: Line[], offset: number): Line {
    const line = lines.find((l) => offset <= l.start + l.length) ?? lines[lines.length - 1];
    if (!line) throw new Error('this Slate editor holds no line to write into');
    return line;
  }

  /** The text leaves at `offset`, the one ending there first. */
  textsAt(line: Line, offset: number): Piece[] {
    return line.pieces.filter((p) => p.text && offset >= p.start && offset <= p.start + p.length);
  }

  nodeAt(path: Path): SNode {
    let node: SNode = { children: this.editor.children };
    for (const i of path) {
      const child: SNode | undefined = isText(node) ? undefined : node.children[i];
      if (!child) throw new Error(`Slate has no node at ${path.join(',')}`);
      node = child;
    }
    return node;
  }

  offsetOf(lines: Line[], point: SPoint): number {
    for (const line of lines) {
      if (!isPrefix(line.path, point.path)) continue;
      for (const piece of line.pieces) {
        if (piece.text && samePath(piece.path, point.path)) return piece.start + Math.min(point.offset, piece.length);
        if (!piece.text && isPrefix(piece.path, point.path)) return piece.start;
      }
      return line.start;
    }
    // Inside a block void: the start of the line after it.
    const after = lines.find((l) => comparePaths(l.path, point.path) > 0);
    return after ? after.start : lines.length > 0 ? lines[lines.length - 1]!.start + lines[lines.length - 1]!.length : 0;
  }

  pointAt(lines: Line[], offset: number): SPoint | null {
    const line = this.lineAt(lines, offset);
    const piece = this.textsAt(line, offset)[0];
    return piece ? { path: piece.path, offset: offset - piece.start } : null;
  }
}

/** Tandem's marks on a text leaf. */
export function marksOf(node: SNode): Attributes {
  const out: Record<string, string | boolean> = {};
  for (const [mark, names] of Object.entries(MARKS)) {
    const value = names.map((n) => node[n]).find((v) => v !== undefined && v !== null && v !== false);
    if (value !== undefined) out[mark] = typeof value === 'string' ? value : true;
  }
  return out;
}

/** Slate text properties for Tandem's marks (`null`: removed). */
export function propsFor(marks: Attributes, node?: SNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [mark, value] of Object.entries(marks)) {
    const names = MARKS[mark];
    if (!names) continue;
    // An existing property under another of the mark's names is the one changed.
    const name = (node && names.find((n) => node[n] !== undefined)) ?? names[0]!;
    out[name] = value === false ? null : value;
  }
  return out;
}

export const sameMarks = (a: Attributes, b: Attributes): boolean => [...STYLES].every((m) => (a[m] ?? null) === (b[m] ?? null));
