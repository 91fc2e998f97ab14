/**
 * The shape of a Tandem document inside its Loro doc: the text lives in one root text
 * container, whatever kind of field it is bound to. Rich bindings (contenteditable) add Loro
 * text styles to it; plain fields see the same text without them.
 */
export const TEXT_CONTAINER = 'text';

/**
 * The formatting Tandem understands, as Loro text styles. Expansion as in Peritext: typing at
 * the end of bold text continues bold ('after'); a link does not grow when typing after it
 * ('none'). Loro refuses to mark with a style its doc was not told about, so every doc that
 * edits formatting calls `configureText` (the server only imports, and needs none).
 */
export const TEXT_STYLES = {
  bold: { expand: 'after' },
  italic: { expand: 'after' },
  underline: { expand: 'after' },
  strike: { expand: 'after' },
  code: { expand: 'after' },
  /** The value is the link's href. */
  link: { expand: 'none' },
} as const;

export type TextStyle = keyof typeof TEXT_STYLES;

export const STYLE_KEYS: ReadonlySet<string> = new Set(Object.keys(TEXT_STYLES));

/** Structural, so the server's `loro-crdt` and the extension's `loro-crdt/base64` docs both fit. */
export function configureText(doc: { configTextStyle(styles: typeof TEXT_STYLES): void }): void {
  doc.configTextStyle(TEXT_STYLES);
}
