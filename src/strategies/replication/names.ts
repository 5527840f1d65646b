import { createHash } from 'node:crypto';

/** Every publication, subscription and slot this library creates starts with this. */
export const OBJECT_PREFIX = 'dlh_mig_';

const MAX_IDENTIFIER_BYTES = 63;

/**
 * The one name used for a database's publication, subscription and slot:
 * deterministic, so a re-run finds its own objects; `[a-z0-9_]` only, as slot
 * names require; at most 63 bytes. Names that had to change (case, odd
 * characters, length) get a short hash of the original so two databases
 * never share a name.
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
