import type { Check, Finding } from '../facts.js';
import { listed } from './listed.js';

/**
 * Logical replication carries neither unlogged tables (those databases need
 * a dump) nor large objects: those are copied with the initial copy and
 * brought level again at stop() and cutover(), so a database with large
 * objects replicates, with a warning that changes to them arrive only then.
 */
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
        message: `"${name}" has ${db.largeObjects} large object(s), which logical replication does not carry: they are copied with the initial copy, and written, changed or removed ones are brought over at stop() or cutover()`,
        hint: 'Until then the destination has them as of the initial copy: switch applications over only after stop() or cutover(), or move large objects into bytea columns.',
      });
    }
    return findings;
  });
