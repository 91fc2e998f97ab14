import type { Generated, Selectable } from 'kysely';

/** Who sent each Loro peer id of a document (recorded when a room first accepts its ops). */
export interface DocPeersTable {
  doc_id: string;
  /** A Loro PeerID in decimal. */
  peer: string;
  /** The account that sent it (null: anonymous through a link, or the account was deleted). */
  user_id: string | null;
  /** The share link an anonymous writer came through. */
  share_link_id: string | null;
  created_at: Generated<Date>;
}

export type DocPeerRow = Selectable<DocPeersTable>;
