import type { Check } from '../facts.js';
import { listed } from './listed.js';


/** UPDATE and DELETE can only be replicated for tables with a primary key or a replica identity. */
export const replicaIdentity: Check = ({ databases }) =>
  databases.map((db) =>
    db.tablesWithoutIdentity.length === 0
      ? { id: 'replica-identity', ok: true, database: db.info.name, message: `Every table of "${db.info.name}" has a primary key or replica identity` }
      : {
          id: 'replica-identity',
          ok: false,
          side: 'source' as const,
          database: db.info.name,
          blocks: 'replication' as const,
          message: `${db.tablesWithoutIdentity.length} table(s) of "${db.info.name}" have no primary key or replica identity, so their UPDATEs and DELETEs cannot replicate: ${listed(db.tablesWithoutIdentity)}`,
          hint: 'Add a primary key, or ALTER TABLE ... REPLICA IDENTITY FULL (or USING INDEX a unique index) on the source.',
        },
  );
