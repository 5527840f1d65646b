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

/** What {@link analyzeWhatLacksStatistics} did: tables analyzed, and those it had to leave (quoted `schema.name`). */
export interface StatisticsOutcome {
  readonly analyzed: readonly string[];
  /** Locked by another session (when not waiting), or not the user's to analyze: still without statistics. */
  readonly left: readonly string[];
}

/**
 * Analyzes every table, partitioned table and materialized view of the
 * database that was never analyzed, by hand or by autovacuum. With
 * `waitForLocks: false` a table another session holds locked is left as it
 * is rather than waited for: a stop must not hang behind a session that
 * holds a table. A table its user may not analyze is skipped by the server
 * with a warning, as any ANALYZE does.
 */
export async function analyzeWhatLacksStatistics(sql: Sql, options: { readonly waitForLocks: boolean }): Promise<StatisticsOutcome> {
  const lacking = async (): Promise<string[]> => {
    // pg_stat_user_tables's rows, asked for the two columns wanted: the view sums every index's counters for every
    // table, which took 110-120 ms in a database of 2,000 small tables, at the end of a dump, against 7 ms.
    // A partitioned table has analyze times from PostgreSQL 14, as it has rows in the view.
    const tables = await sql<{ schema: string; name: string }[]>`
      select n.nspname as schema, c.relname as name
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where (c.relkind in ('r', 'm') or (c.relkind = 'p' and current_setting('server_version_num')::int >= 140000))
        and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'
        and pg_catalog.pg_stat_get_last_analyze_time(c.oid) is null
        and pg_catalog.pg_stat_get_last_autoanalyze_time(c.oid) is null
      order by 1, 2`;
    return tables.map((t) => qualified(t.schema, t.name));
  };
  const names = await lacking();
  if (names.length === 0) return { analyzed: [], left: [] };
  // One statement: outside a transaction block the server analyzes each table in a transaction of its own.
  const list = names.join(', ');
  if (options.waitForLocks) {
    await sql.unsafe(`analyze ${list}`);
  } else {
    const [version] = await sql<{ num: number }[]>`select current_setting('server_version_num')::int as num`;
    if ((version?.num ?? 0) >= 120000) {
      await sql.unsafe(`analyze (skip_locked) ${list}`);
    } else {
      // Before SKIP_LOCKED: give up on every table rather than wait for one.
      await sql
        .begin(async (tx) => {
          await tx`set local lock_timeout = '1s'`;
          await tx.unsafe(`analyze ${list}`);
        })
        .catch((error: unknown) => {
          if ((error as { code?: unknown }).code !== '55P03') throw error;
        });
    }
  }
  const left = new Set(await lacking());
  return { analyzed: names.filter((name) => !left.has(name)), left: names.filter((name) => left.has(name)) };
}
