import type { Migration } from 'kysely';
import * as documentLog from './2026-11-28T0900-document-log';

/** Every migration, by name; names sort in the order they run. */
export const migrations: Record<string, Migration> = {
  '2026-11-28T0900-document-log': documentLog,
};
