import type { Check, Finding } from '../facts.js';
import { listed } from './listed.js';

/** Unlogged tables and large objects are not carried by logical replication: those databases need a dump. */
export const unreplicatedData: Check = ({ databases }) =>
  databases.flatMap((db) => {
    const name = db.info.name;
    const findings: Finding[] = [];
    if (db.unloggedTables.length > 0) {
      findings.push({
        id: 'unlogged-tables',
        ok: false,
        side: 'source',
        database: name,
        blocks: 'replication',
        message: `"${name}" has unlogged tables, which logical replication does not carry: ${listed(db.unloggedTables)}`,
        hint: 'ALTER TABLE ... SET LOGGED on the source, or migrate this database with a dump.',
      });
    }
    if (db.largeObjects > 0) {
      findings.push({
        id: 'large-objects',
        ok: false,
        side: 'source',
        database: name,
        blocks: 'replication',
        message: `"${name}" has ${db.largeObjects} large object(s), which logical replication does not carry`,
        hint: 'Migrate this database with a dump, or move the large objects into bytea columns.',
      });
    }
    return findings;
  });
