/** Messages between the main thread and the embedded-Postgres worker (`pglite-worker.ts`). */

export interface PGliteWorkerOptions {
  dataDir?: string;
  /** A data-folder tarball to start from. */
  loadDataDir?: ArrayBuffer;
}

export type PGliteRequest = { type: 'query'; id: number; sql: string; params: unknown[] } | { type: 'close' };

/** A Postgres error as data: `code` is the SQLSTATE, which callers classify. */
export interface PGliteErrorData {
  message: string;
  code?: string | undefined;
  detail?: string | undefined;
  constraint?: string | undefined;
  name?: string | undefined;
}

export type PGliteReply =
  | { type: 'ready' }
  | { type: 'failed'; error: PGliteErrorData }
  | { type: 'result'; id: number; rows: Record<string, unknown>[]; affectedRows: number | undefined }
  | { type: 'error'; id: number; error: PGliteErrorData }
  | { type: 'closed' };
