/**
 * Proves a copy read under a slot's snapshot is complete: every table holds
 * on the destination exactly as many rows as the source had at the snapshot.
 * Before the subscription exists nothing else writes to the destination, and
 * the snapshot does not move, so the comparison is exact however busy the
 * source is. Once changes stream, counts read on two servers at two moments
 * of a busy table rarely agree, and prove nothing when they do.
 *
 * @module
 */
import type { Sql } from 'postgres';
import { inSnapshot } from '../../copy/snapshot.js';
import { qualified } from '../../pg/identifiers.js';
import { listTables } from '../../pg/queries/tables.js';
import type { TableFilter } from '../../selection/table-filter.js';

/** Tables counted per statement: one round trip for many small tables. */
const BATCH = 100;

/** How many tables were compared, and those (quoted `schema.table`, a configuration table's condition after it) whose destination row count differs from the source's at `snapshotId`. */
export async function compareWithSnapshot(source: Sql, target: Sql, snapshotId: string, filter: TableFilter | null = null): Promise<{ tables: number; differing: string[] }> {
  // An extension's configuration table is counted on the rows its condition selects, on both sides: the others are
  // its script's, on each side as CREATE EXTENSION put them there.
  const tables = await inSnapshot(source, snapshotId, async (reader) =>
    (await listTables(reader))
      .filter((t) => !filter || filter(t))
      .map((t) => `${qualified(t.schema, t.name)}${t.extensionCondition ? ` ${t.extensionCondition}` : ''}`),
  );
  // Both sides scan at once: on a large table each count costs a scan.
  const [expected, actual] = await Promise.all([
    inSnapshot(source, snapshotId, (reader) => countRows(reader, tables)),
    countRows(target, tables),
  ]);
  return { tables: tables.length, differing: tables.filter((_, i) => expected[i] !== actual[i]) };
}

/** Row counts of `tables`, in their order, as text. */
async function countRows(sql: Sql, tables: readonly string[]): Promise<string[]> {
  const counts: string[] = [];
  for (let at = 0; at < tables.length; at += BATCH) {
    const batch = tables.slice(at, at + BATCH);
    const columns = batch.map((table, i) => `(select count(*) from only ${table})::text as c${i}`).join(', ');
    const [row] = await sql.unsafe<Record<string, string>[]>(`select ${columns}`);
    for (let i = 0; i < batch.length; i++) counts.push(row?.[`c${i}`] ?? '');
  }
  return counts;
}
