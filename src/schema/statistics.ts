/**
 * Planner statistics on a destination that is about to stand on its own.
 *
 * A dump analyzes each table as its rows arrive: `done` means ready for
 * queries. A replication does not, on the way to `syncing`: on "many" (64
 * tables of 50k rows, a text and a text[] column each) the per-table ANALYZE
 * was 3.4 of the destination's 8.1 CPU seconds, and replication took 6.1 s
 * to `syncing` with it, 4.2-4.5 s without, all that time holding WAL on the
 * source behind a slot nothing consumes yet. A plain subscription analyzes
 * nothing either. While it streams, autovacuum analyzes each copied table
 * (its rows count as changes since the last analyze); what it has not
 * reached when the replication stops, and partitioned parents, which
 * autovacuum never analyzes, are analyzed here, so a destination switched
 * over to has statistics for every table.
 *
 * @module
 */
import type { Sql } from 'postgres';
import { qualified } from '../pg/identifiers.js';

/**
 * Analyzes every table, partitioned table and materialized view of the
 * database that was never analyzed, by hand or by autovacuum; resolves with
 * their names (quoted `schema.name`). A table its user may not analyze is
 * skipped by the server with a warning, as any ANALYZE does.
 */
export async function analyzeWhatLacksStatistics(sql: Sql): Promise<string[]> {
  const tables = await sql<{ schema: string; name: string }[]>`
    select schemaname as schema, relname as name
    from pg_catalog.pg_stat_user_tables
    where last_analyze is null and last_autoanalyze is null
      and schemaname not like 'pg\\_temp\\_%' and schemaname not like 'pg\\_toast\\_temp\\_%'
    order by schemaname, relname`;
  if (tables.length === 0) return [];
  const names = tables.map((t) => qualified(t.schema, t.name));
  // One statement: outside a transaction block the server analyzes each table in a transaction of its own.
  await sql.unsafe(`analyze ${names.join(', ')}`);
  return names;
}
