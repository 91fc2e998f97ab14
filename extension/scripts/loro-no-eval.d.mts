/** Types of loro-no-eval.mjs (plain JavaScript so that builds without TypeScript tooling can use it). */
export declare const LORO_GLUE_FILE: RegExp;
export declare function withoutFunctionConstructor(code: string, id: string): string;
