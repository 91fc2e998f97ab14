import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema';
import type { AccountService } from '../access/accounts';
import type { DocumentService } from '../access/documents';
import type { AccessEventBus } from '../auth/access-events';
import type { AccessTokenService } from '../auth/access-tokens';
import type { SessionService } from '../auth/sessions';
import type { SyncTicketService } from '../auth/sync-tickets';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';

/** What the HTTP routes use; built once in `tandem-server.ts`. */
export interface Services {
  config: Readonly<Config>;
  log: Logger;
  db: Kysely<Database>;
  events: AccessEventBus;
  sessions: SessionService;
  tokens: AccessTokenService;
  tickets: SyncTicketService;
  accounts: AccountService;
  documents: DocumentService;
  metrics: Metrics;
  /** Compacts a document now (admin); null when there was nothing to fold. */
  compact: (docId: string) => Promise<{ seq: number; bytes: number } | null>;
}
