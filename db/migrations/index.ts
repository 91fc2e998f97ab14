import type { Migration } from 'kysely';
import * as documentLog from './2026-11-28T0900-document-log';
import * as accountsAndSharing from './2026-11-28T1100-accounts-and-sharing';
import * as abuseLimits from './2026-12-01T0900-abuse-limits';
import * as snapshotTextSize from './2026-12-02T0900-snapshot-text-size';
import * as versionHistory from './2026-12-05T0900-version-history';

/** Every migration, by name; names sort in the order they run. */
export const migrations: Record<string, Migration> = {
  '2026-11-28T0900-document-log': documentLog,
  '2026-11-28T1100-accounts-and-sharing': accountsAndSharing,
  '2026-12-01T0900-abuse-limits': abuseLimits,
  '2026-12-02T0900-snapshot-text-size': snapshotTextSize,
  '2026-12-05T0900-version-history': versionHistory,
};
