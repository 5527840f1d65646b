import type { Check } from '../facts.js';

const SHOWN = 5;

function listed(names: readonly string[]): string {
  return names.slice(0, SHOWN).join(', ') + (names.length > SHOWN ? ` and ${names.length - SHOWN} more` : '');
}

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

/** Unlogged tables and large objects are not carried by logical replication: those databases need a dump. */
export const unreplicatedData: Check = ({ databases }) =>
  databases.flatMap((db) => {
    const name = db.info.name;
    const findings = [];
    if (db.unloggedTables.length > 0) {
      findings.push({
        id: 'unlogged-tables',
        ok: false,
        side: 'source' as const,
        database: name,
        blocks: 'replication' as const,
        message: `"${name}" has unlogged tables, which logical replication does not carry: ${listed(db.unloggedTables)}`,
        hint: 'ALTER TABLE ... SET LOGGED on the source, or migrate this database with a dump.',
      });
    }
    if (db.largeObjects > 0) {
      findings.push({
        id: 'large-objects',
        ok: false,
        side: 'source' as const,
        database: name,
        blocks: 'replication' as const,
        message: `"${name}" has ${db.largeObjects} large object(s), which logical replication does not carry`,
        hint: 'Migrate this database with a dump, or move the large objects into bytea columns.',
      });
    }
    return findings;
  });
