import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema';
import type { AccountService } from '../access/accounts';
import type { DocumentService } from '../access/documents';
import type { HistoryService } from '../history/history-service';
import type { AccessEventBus } from '../auth/access-events';
import type { AccessTokenService } from '../auth/access-tokens';
import type { PasswordHasher } from '../auth/password-hasher';
import type { SessionService } from '../auth/sessions';
import type { SyncTicketService } from '../auth/sync-tickets';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { HostPolicy } from '../auth/host-policy';

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
  hasher: PasswordHasher;
  documents: DocumentService;
  history: HistoryService;
  metrics: Metrics;
  /** The Host names this server answers to, and the origin of links it hands out. */
  hosts: HostPolicy;
  /** Compacts a document now (admin); null when there was nothing to fold. */
  compact: (docId: string) => Promise<{ seq: number; bytes: number } | null>;
}
