/**
 * Appends log entries to the database. With one connection (embedded Postgres) every commit
 * waits for the one before it whatever its document, so appends that arrive meanwhile are
 * written together in one transaction: one commit for many documents instead of one each.
 * With a pool (Postgres), documents commit in parallel and each append is its own statement.
 */
import type { Kysely } from 'kysely';
import { DocumentGoneError, appendLogEntry } from '../../db/repositories/doc-log';
import type { Database } from '../../db/schema';

export interface LogWriter {
  /** Appends one entry; resolves with its sequence number once committed. */
  append(docId: string, updates: readonly Uint8Array[]): Promise<number>;
}

export class DirectLogWriter implements LogWriter {
  constructor(private readonly db: Kysely<Database>) {}

  append(docId: string, updates: readonly Uint8Array[]): Promise<number> {
    return appendLogEntry(this.db, docId, updates);
  }
}

interface PendingAppend {
  docId: string;
  updates: readonly Uint8Array[];
  resolve: (seq: number) => void;
  reject: (error: unknown) => void;
}

export class CoalescingLogWriter implements LogWriter {
  private pending: PendingAppend[] = [];
  private writing = false;

  constructor(private readonly db: Kysely<Database>) {}

  append(docId: string, updates: readonly Uint8Array[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending.push({ docId, updates, resolve, reject });
      if (!this.writing) void this.writeAll();
    });
  }

  private async writeAll(): Promise<void> {
    this.writing = true;
    while (this.pending.length > 0) {
      // A room has at most one append in flight, so each document appears once per round.
      const now = this.pending;
      this.pending = [];
      const outcomes: ({ seq: number } | { gone: DocumentGoneError })[] = [];
      try {
        await this.db.transaction().execute(async (trx) => {
          outcomes.length = 0;
          for (const p of now) {
            try {
              outcomes.push({ seq: await appendLogEntry(trx, p.docId, p.updates) });
            } catch (error) {
              // A deleted document fails alone; the statement did nothing, the rest commit.
              if (!(error instanceof DocumentGoneError)) throw error;
              outcomes.push({ gone: error });
            }
          }
        });
      } catch (error) {
        for (const p of now) p.reject(error);
        continue;
      }
      now.forEach((p, i) => {
        const outcome = outcomes[i]!;
        if ('seq' in outcome) p.resolve(outcome.seq);
        else p.reject(outcome.gone);
      });
    }
    this.writing = false;
  }
}
