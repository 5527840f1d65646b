import type { Check } from '../facts.js';
import { listed } from './listed.js';

const KEY = 'a primary key, or ALTER TABLE ... REPLICA IDENTITY USING INDEX a unique index of NOT NULL columns';

/**
 * The destination applies an UPDATE or DELETE to the row the table's identity
 * finds: a primary key, an identity index, or, with REPLICA IDENTITY FULL and
 * neither, every column compared by its type's equality operator. A table
 * with no identity, or with FULL and a column type that has no such operator
 * (json, point, ...), stops the replication on its first change.
 */
export const replicaIdentity: Check = ({ databases }) =>
  databases.map((db) => {
    const name = db.info.name;
    const missing = db.tablesWithoutIdentity;
    const incomparable = db.fullIdentityWithoutEquality;
    if (missing.length === 0 && incomparable.length === 0) {
      return { id: 'replica-identity', ok: true, database: name, message: `Every table of "${name}" has a primary key or a replica identity the destination can use` };
    }
    const problems: string[] = [];
    const fixes: string[] = [];
    if (missing.length > 0) {
      problems.push(`${missing.length} table(s) of "${name}" have no primary key or replica identity, so their UPDATEs and DELETEs cannot replicate: ${listed(missing)}`);
      fixes.push(`Give ${missing.length === 1 ? 'that table' : 'each'} ${KEY}, or REPLICA IDENTITY FULL where every column's type has an equality operator (not json or point), on the source.`);
    }
    if (incomparable.length > 0) {
      problems.push(
        `${incomparable.length} table(s) of "${name}" have REPLICA IDENTITY FULL and no primary key, with columns of types that have no equality operator, ` +
          `so the destination cannot find the rows their UPDATEs and DELETEs name: ${listed(incomparable.map((t) => `${t.table} (${t.types.join(', ')})`))}`,
      );
      fixes.push(
        `Give ${incomparable.length === 1 ? 'that table' : 'those tables'} ${KEY}, on the source (the destination's schema is restored from it), ` +
          'or change those columns to types that have one (jsonb for json).',
      );
    }
    return {
      id: 'replica-identity',
      ok: false,
      side: 'source' as const,
      database: name,
      blocks: 'replication' as const,
      message: problems.join('; '),
      hint: fixes.join(' '),
    };
  });
