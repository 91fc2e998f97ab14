import type { ColumnType, Generated, Selectable } from 'kysely';

export type LinkAccess = 'view' | 'edit';

/** "Anyone with the link" grants: the token travels in the link's #fragment; its hash is here. */
export interface ShareLinksTable {
  id: string;
  doc_id: string;
  token_hash: string;
  access: LinkAccess;
  created_by: string | null;
  created_at: Generated<Date>;
  revoked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export type ShareLinkRow = Selectable<ShareLinksTable>;
