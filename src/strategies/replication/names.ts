import { createHash, randomBytes } from 'node:crypto';

/** Every publication, subscription and slot this library creates starts with this. */
export const OBJECT_PREFIX = 'dlh_mig_';

const MAX_IDENTIFIER_BYTES = 63;

/** Random hex digits that tell one migration's objects from another's of the same database. */
const SUFFIX_DIGITS = 10;

/**
 * The name derived from a database's name alone, `[a-z0-9_]` only, as slot
 * names require, and at most 63 bytes. Names that had to change (case, odd
 * characters, length) get a short hash of the original so two databases
 * never share a name.
 *
 * It is the stem of the name each migration records for its publication,
 * subscription and slot, and the name earlier versions of this library used
 * for every migration of the database: a migration whose record names no
 * objects still goes by it. Since any number of destinations
 * may take the same source database, look a migration's objects up by the
 * name its status reports (`replicationName` of each database), not by this.
 *
 * ### Examples
 * ```ts
 * replicationName('defaultdb');   // 'dlh_mig_defaultdb'
 * replicationName('Sales-EU');    // 'dlh_mig_sales_eu_' + 8 hex digits
 * ```
 */
export function replicationName(dbname: string): string {
  const clean = dbname.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const plain = OBJECT_PREFIX + clean;
  if (clean === dbname && Buffer.byteLength(plain) <= MAX_IDENTIFIER_BYTES) return plain;
  const hash = createHash('sha256').update(dbname).digest('hex').slice(0, 8);
  const room = MAX_IDENTIFIER_BYTES - OBJECT_PREFIX.length - hash.length - 1;
  return `${OBJECT_PREFIX}${clean.slice(0, room)}_${hash}`;
}

/**
 * A name for one migration's publication, subscription and slot: the
 * database's {@link replicationName} and a random suffix. Every destination
 * that takes the same source database then owns objects of its own on the
 * source, so none can reuse, drop or take over another's. It is recorded with
 * the migration before any object bears it, so a re-run, status and stop find
 * them by the record.
 */
export function uniqueReplicationName(dbname: string): string {
  const suffix = randomBytes(SUFFIX_DIGITS / 2).toString('hex');
  const stem = replicationName(dbname).slice(0, MAX_IDENTIFIER_BYTES - SUFFIX_DIGITS - 1);
  return `${stem}_${suffix}`;
}
