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

export interface AnalyzeOptions {
  /** Wait for a table another session holds locked; otherwise leave it (`SKIP_LOCKED`). */
  readonly waitForLocks: boolean;
  /** At most this many `ANALYZE` statements at once, each on a session of `sql`'s pool: 1 by default. */
  readonly jobs?: number;
  /** Runs each statement in a slot of the run's budget, when the run has one. */
  readonly slot?: <T>(work: () => Promise<T>) => Promise<T>;
}

/**
 * Analyzes every table, partitioned table and materialized view of the
 * database that was never analyzed, by hand or by autovacuum. With
 * `waitForLocks: false` a table another session holds locked is left as it
 * is rather than waited for: a stop must not hang behind a session that
 * holds a table. A table its user may not analyze is skipped by the server
 * with a warning, as any ANALYZE does.
 *
 * The tables go in `jobs` statements at once, shared out by size: on
 * "many" (64 tables of 14 MB) one statement analyzed them in 3.7-4.5 s of a
 * `stop()`, on one of the destination's cores.
 */
export async function analyzeWhatLacksStatistics(sql: Sql, options: AnalyzeOptions): Promise<StatisticsOutcome> {
  const lacking = async (): Promise<{ name: string; pages: number }[]> => {
    // pg_stat_user_tables's rows, asked for the two columns wanted: the view sums every index's counters for every
    // table, which took 110-120 ms in a database of 2,000 small tables, at the end of a dump, against 7 ms.
    // A partitioned table has analyze times from PostgreSQL 14, as it has rows in the view; its ANALYZE samples
    // its partitions, so it weighs as much as they do. Pages are the catalog's (as of the last index build or
    // ANALYZE): only to share the work out.
    const tables = await sql<{ schema: string; name: string; pages: string }[]>`
      select n.nspname as schema, c.relname as name,
             (case when c.relkind = 'p'
                   then (select coalesce(sum(greatest(l.relpages, 0)), 0) from pg_catalog.pg_inherits i
                         join pg_catalog.pg_class l on l.oid = i.inhrelid where i.inhparent = c.oid)
                   else greatest(c.relpages, 0) end)::text as pages
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where (c.relkind in ('r', 'm') or (c.relkind = 'p' and current_setting('server_version_num')::int >= 140000))
        and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'
        and pg_catalog.pg_stat_get_last_analyze_time(c.oid) is null
        and pg_catalog.pg_stat_get_last_autoanalyze_time(c.oid) is null
      order by 1, 2`;
    return tables.map((t) => ({ name: qualified(t.schema, t.name), pages: Number(t.pages) }));
  };
  const tables = await lacking();
  if (tables.length === 0) return { analyzed: [], left: [] };
  const names = tables.map((t) => t.name);
  const slot = options.slot ?? (<T>(work: () => Promise<T>): Promise<T> => work());
  // Each statement analyzes its tables one after another, each in a transaction of its own (outside a
  // transaction block, as the server does it).
  const analyze = async (list: string): Promise<void> => {
    if (options.waitForLocks) {
      await sql.unsafe(`analyze ${list}`);
      return;
    }
    const [version] = await sql<{ num: number }[]>`select current_setting('server_version_num')::int as num`;
    if ((version?.num ?? 0) >= 120000) {
      await sql.unsafe(`analyze (skip_locked) ${list}`);
      return;
    }
    // Before SKIP_LOCKED: give up on every table of the statement rather than wait for one.
    await sql
      .begin(async (tx) => {
        await tx`set local lock_timeout = '1s'`;
        await tx.unsafe(`analyze ${list}`);
      })
      .catch((error: unknown) => {
        if ((error as { code?: unknown }).code !== '55P03') throw error;
      });
  };
  // Every statement ends before the call does, whichever fails first.
  const ran = await Promise.allSettled(shareOut(tables, options.jobs ?? 1).map((group) => slot(() => analyze(group.join(', ')))));
  const failed = ran.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  const left = new Set((await lacking()).map((t) => t.name));
  return { analyzed: names.filter((name) => !left.has(name)), left: names.filter((name) => left.has(name)) };
}

/** The tables' names in at most `jobs` groups of about equal pages: each table, largest first, to the lightest group. */
export function shareOut(tables: readonly { readonly name: string; readonly pages: number }[], jobs: number): string[][] {
  const groups = Array.from({ length: Math.max(1, Math.min(Math.floor(jobs), tables.length)) }, () => ({ pages: 0, names: [] as string[] }));
  for (const table of [...tables].sort((a, b) => b.pages - a.pages)) {
    const lightest = groups.reduce((min, group) => (group.pages < min.pages ? group : min));
    lightest.names.push(table.name);
    // An empty table still costs its statement a turn.
    lightest.pages += Math.max(1, table.pages);
  }
  return groups.filter((group) => group.names.length > 0).map((group) => group.names);
}
