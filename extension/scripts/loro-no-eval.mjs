// @ts-check
/**
 * Loro's wasm-bindgen glue builds one function from a string (`new Function(...)`): js-sys's
 * fallback for finding the global object, and the only string the wasm ever passes is
 * `return this` (checked in loro-crdt 1.17.1's binary). Stores flag any `Function`
 * constructor (web-ext lint: DANGEROUS_EVAL), and the document page's CSP forbids it, so the
 * builds (the extension's and the page editor's) replace it with a function that returns
 * `globalThis` for that string and throws for anything else. The build fails if the glue's
 * text changes (a loro-crdt upgrade): look again then. Plain JavaScript: the page editor is
 * built without TypeScript tooling by `npm start` (extension/scripts/build-page-editor.mjs).
 */
const GLUE = 'new Function(getStringFromWasm0(arg0, arg1))';
const SHIM = "((body) => { if (body !== 'return this') throw new Error('Tandem: unexpected Function body from Loro'); return function () { return globalThis; }; })(getStringFromWasm0(arg0, arg1))";

/** Module ids the patch applies to: loro-crdt's generated glue, in the builds Tandem uses. */
export const LORO_GLUE_FILE = /[\\/]loro-crdt[\\/](base64[\\/]index|web[\\/]loro_wasm)\.js$/;

/**
 * `code` without its `Function` constructor; throws when the glue is not as expected.
 * @param {string} code
 * @param {string} id
 * @returns {string}
 */
export function withoutFunctionConstructor(code, id) {
  const parts = code.split(GLUE);
  if (parts.length !== 2) throw new Error(`${id}: expected one '${GLUE}' in Loro's glue, found ${parts.length - 1}; check the new loro-crdt (extension/scripts/loro-no-eval.mjs)`);
  return parts.join(SHIM);
}
