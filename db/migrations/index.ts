import type { Migration } from 'kysely';
import * as documentLog from './2026-11-28T0900-document-log';
import * as accountsAndSharing from './2026-11-28T1100-accounts-and-sharing';

/** Every migration, by name; names sort in the order they run. */
export const migrations: Record<string, Migration> = {
  '2026-11-28T0900-document-log': documentLog,
  '2026-11-28T1100-accounts-and-sharing': accountsAndSharing,
};
