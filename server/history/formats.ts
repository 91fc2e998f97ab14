/**
 * A document's formatted text (Loro delta runs) as Markdown or HTML, and Markdown back into
 * runs, for export and import. Inline only: Tandem's marks are bold, italic, underline,
 * strike, code and link; line breaks stay line breaks. Markdown writes them `**`, `_`, `<u>`,
 * `~~`, `` ` `` and `[text](href)`; the reader takes what the writer writes (and `*`/`__`).
 */
import type { RichRun } from './version-work';

type Mark = 'link' | 'bold' | 'italic' | 'strike' | 'underline' | 'code';
/** Outermost first: a link holds formatted text, code holds nothing else. */
const ORDER: readonly Mark[] = ['link', 'bold', 'italic', 'strike', 'underline', 'code'];
const MD_OPEN: Record<Exclude<Mark, 'link' | 'code'>, string> = { bold: '**', italic: '_', strike: '~~', underline: '<u>' };
const MD_CLOSE: Record<Exclude<Mark, 'link' | 'code'>, string> = { bold: '**', italic: '_', strike: '~~', underline: '</u>' };

/** Only these link targets survive an export: others (javascript:, data:) are dropped. */
export function safeHref(href: unknown): string | null {
  if (typeof href !== 'string') return null;
  return /^(https?:|mailto:)/i.test(href.trim()) ? href.trim() : null;
}

function marksOf(run: RichRun): { key: Mark; value: unknown }[] {
  const attrs = run.attributes ?? {};
  return ORDER.filter((m) => attrs[m] !== undefined && attrs[m] !== null && attrs[m] !== false && (m !== 'link' || safeHref(attrs[m]) !== null)).map((key) => ({ key, value: attrs[key] }));
}

/** Escapes what would read as a mark, and what would start a block at a line's start (a run's start may be one). */
const escapeMarkdown = (text: string): string =>
  text
    .replace(/[\\`*_~[\]<>]/g, (c) => `\\${c}`)
    .replace(/^([#>+-])/gm, '\\$1')
    .replace(/^(\d+)\./gm, '$1\\.');
/** Percent-encodes what would end or break `(href)`; `decodeHref` undoes exactly this. */
const encodeHref = (href: string): string => href.replace(/[% ()<>\n]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
const decodeHref = (href: string): string => href.replace(/%(25|20|28|29|3C|3E|0A)/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

function codeSpan(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = longest > 0 || text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * Runs as Markdown. Spaces where an emphasis starts or ends are moved outside it (Markdown does
 * not read `** bold**` as bold), so they lose that emphasis; every other character keeps its marks.
 */
export function toMarkdown(runs: readonly RichRun[]): string {
  let out = '';
  const open: { key: Mark; value: unknown }[] = [];
  const close = (mark: { key: Mark; value: unknown }): void => {
    if (mark.key === 'link') out += `](${encodeHref(safeHref(mark.value)!)})`;
    else if (mark.key !== 'code') {
      const spaces = /\s*$/.exec(out)![0];
      out = `${out.slice(0, out.length - spaces.length)}${MD_CLOSE[mark.key]}${spaces}`;
    }
  };
  for (const run of runs) {
    const want = marksOf(run);
    // Keep the open marks that this run continues (as a prefix); close the rest, innermost first.
    let keep = 0;
    while (keep < open.length && keep < want.length && open[keep]!.key === want[keep]!.key && open[keep]!.value === want[keep]!.value && open[keep]!.key !== 'code') keep++;
    while (open.length > keep) close(open.pop()!);
    let insert = run.insert;
    const opening = want.slice(keep);
    if (opening.some((m) => m.key !== 'link' && m.key !== 'code')) {
      const spaces = /^\s*/.exec(insert)![0];
      out += spaces;
      insert = insert.slice(spaces.length);
    }
    for (const mark of opening) {
      open.push(mark);
      if (mark.key === 'link') out += '[';
      else if (mark.key !== 'code') out += MD_OPEN[mark.key];
    }
    out += open.at(-1)?.key === 'code' ? codeSpan(insert) : escapeMarkdown(insert);
    if (open.at(-1)?.key === 'code') open.pop();
  }
  while (open.length > 0) close(open.pop()!);
  return out;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Runs as HTML: escaped text, the six marks as their tags, a paragraph per line. Nothing else gets through. */
export function toHtml(runs: readonly RichRun[]): string {
  const tag: Record<Exclude<Mark, 'link'>, string> = { bold: 'strong', italic: 'em', strike: 's', underline: 'u', code: 'code' };
  let line = '';
  const lines: string[] = [];
  for (const run of runs) {
    const marks = marksOf(run);
    const pieces = run.insert.split('\n');
    pieces.forEach((piece, i) => {
      if (i > 0) {
        lines.push(line);
        line = '';
      }
      if (piece === '') return;
      let html = escapeHtml(piece);
      for (const mark of [...marks].reverse()) {
        html = mark.key === 'link' ? `<a href="${escapeHtml(safeHref(mark.value)!)}" rel="noopener noreferrer nofollow">${html}</a>` : `<${tag[mark.key]}>${html}</${tag[mark.key]}>`;
      }
      line += html;
    });
  }
  lines.push(line);
  return lines.map((l) => (l === '' ? '<p><br></p>' : `<p>${l}</p>`)).join('\n');
}

type Token = { kind: 'text'; runs: RichRun[] } | { kind: 'delim'; mark: Exclude<Mark, 'link' | 'code'>; raw: string; canOpen: boolean; canClose: boolean; closes?: boolean; matched?: boolean };

const DELIMS: [string, Exclude<Mark, 'link' | 'code'>][] = [
  ['<u>', 'underline'],
  ['</u>', 'underline'],
  ['**', 'bold'],
  ['__', 'bold'],
  ['~~', 'strike'],
  ['*', 'italic'],
  ['_', 'italic'],
];

/** Markdown (inline: the marks Tandem has) as runs. Unmatched delimiters stay text. */
export function fromMarkdown(markdown: string): RichRun[] {
  const tokens: Token[] = [];
  const text = (s: string, attributes?: Record<string, unknown>): void => {
    if (s !== '') tokens.push({ kind: 'text', runs: [{ insert: s, ...(attributes ? { attributes } : {}) }] });
  };
  let i = 0;
  while (i < markdown.length) {
    const c = markdown[i]!;
    if (c === '\\' && i + 1 < markdown.length && /[\\`*_~[\]<>#+\-.!()]/.test(markdown[i + 1]!)) {
      text(markdown[i + 1]!);
      i += 2;
      continue;
    }
    if (c === '`') {
      const fence = /^`+/.exec(markdown.slice(i))![0];
      const end = markdown.indexOf(fence, i + fence.length);
      if (end > 0) {
        let code = markdown.slice(i + fence.length, end);
        if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ')) code = code.slice(1, -1);
        text(code, { code: true });
        i = end + fence.length;
        continue;
      }
    }
    if (c === '[') {
      const link = matchLink(markdown, i);
      if (link) {
        tokens.push({ kind: 'text', runs: fromMarkdown(link.label).map((r) => ({ ...r, attributes: { ...r.attributes, link: link.href } })) });
        i = link.end;
        continue;
      }
    }
    const delim = DELIMS.find(([raw]) => markdown.startsWith(raw, i));
    if (delim) {
      const [raw, mark] = delim;
      const before = markdown[i - 1] ?? ' ';
      const after = markdown[i + raw.length] ?? ' ';
      const isTag = raw.startsWith('<');
      tokens.push({ kind: 'delim', mark, raw, canOpen: raw === '</u>' ? false : isTag || !/\s/.test(after), canClose: raw === '<u>' ? false : isTag || !/\s/.test(before) });
      i += raw.length;
      continue;
    }
    text(c);
    i++;
  }
  // Pair each closer with the nearest opener of the same mark (and the same characters).
  const openers: number[] = [];
  tokens.forEach((t, index) => {
    if (t.kind !== 'delim') return;
    const opener = t.canClose
      ? [...openers].reverse().find((o) => {
          const d = tokens[o] as Extract<Token, { kind: 'delim' }>;
          return d.mark === t.mark && (d.raw === t.raw || (d.raw === '<u>' && t.raw === '</u>'));
        })
      : undefined;
    if (opener !== undefined) {
      (tokens[opener] as Extract<Token, { kind: 'delim' }>).matched = true;
      t.matched = true;
      t.closes = true;
      openers.splice(openers.lastIndexOf(opener));
    } else if (t.canOpen) openers.push(index);
  });
  const runs: RichRun[] = [];
  const active = new Map<string, number>();
  for (const t of tokens) {
    if (t.kind === 'delim' && t.matched) {
      const n = (active.get(t.mark) ?? 0) + (t.closes ? -1 : 1);
      if (n > 0) active.set(t.mark, n);
      else active.delete(t.mark);
      continue;
    }
    const pieces = t.kind === 'text' ? t.runs : [{ insert: t.raw }];
    for (const piece of pieces) {
      const marks: Record<string, unknown> = { ...piece.attributes };
      for (const mark of active.keys()) marks[mark] = true;
      const attributes = Object.fromEntries(Object.entries(marks).sort(([a], [b]) => (a < b ? -1 : 1)));
      const last = runs.at(-1);
      const same = last && JSON.stringify(last.attributes ?? {}) === JSON.stringify(attributes);
      if (same) last.insert += piece.insert;
      else runs.push(Object.keys(attributes).length > 0 ? { insert: piece.insert, attributes } : { insert: piece.insert });
    }
  }
  return runs;
}

/** `[label](href)` at `start`: its label, decoded target and end; null when it is not one. */
function matchLink(markdown: string, start: number): { label: string; href: string; end: number } | null {
  let depth = 0;
  for (let i = start; i < markdown.length; i++) {
    const c = markdown[i];
    if (c === '\\') i++;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) {
      if (markdown[i + 1] !== '(') return null;
      const close = markdown.indexOf(')', i + 2);
      if (close < 0) return null;
      const href = markdown.slice(i + 2, close).trim();
      if (/\s/.test(href)) return null;
      return { label: markdown.slice(start + 1, i), href: decodeHref(href), end: close + 1 };
    } else if (c === '\n' && markdown[i + 1] === '\n') return null;
  }
  return null;
}
