import type { Sql } from 'postgres';

/**
 * The processes pg_stat_activity lists that are not background workers: they
 * do not count against max_worker_processes. Every other type is a background
 * worker's own name (`logical replication launcher`, `parallel worker`, an
 * extension's `pg_cron launcher`, ...), so the list is of what is left out.
 */
const NOT_BACKGROUND_WORKERS = [
  'client backend',
  'standalone backend',
  'autovacuum launcher',
  'autovacuum worker',
  'background writer',
  'checkpointer',
  'walwriter',
  'walsender',
  'walreceiver',
  'wal summarizer',
  'startup',
  'archiver',
  'logger',
  'slotsync worker',
  'io worker',
] as const;

/** Background worker processes running now, by what max_worker_processes has to hold. */
export interface BackgroundWorkers {
  /**
   * Running background workers other than logical replication workers: the
   * launcher, parallel query workers, extensions' workers. A role without
   * pg_read_all_stats sees no other role's process type, so this is then at
   * least the launcher, which every server replicating runs.
   */
  readonly other: number;
  /** Whether every process's type was visible, so {@link other} is exact. */
  readonly complete: boolean;
}

export async function backgroundWorkers(sql: Sql): Promise<BackgroundWorkers> {
  const [row] = await sql<{ other: number; hidden: number }[]>`
    select count(*) filter (where backend_type is not null
                              and backend_type <> all(${NOT_BACKGROUND_WORKERS as unknown as string[]})
                              and backend_type not like 'logical replication %worker')::int as other,
           count(*) filter (where backend_type is null)::int as hidden
    from pg_stat_activity`;
  const hidden = row?.hidden ?? 0;
  return { other: Math.max(row?.other ?? 0, 1), complete: hidden === 0 };
}

/** Whether a subscription's apply worker runs, and how full the destination's worker limits are. */
export interface ApplyWorkerRoom {
  readonly applyWorkerRuns: boolean;
  readonly maxWorkerProcesses: number;
  readonly maxLogicalReplicationWorkers: number;
  /** Background workers running now, as far as the role sees them. */
  readonly backgroundWorkers: number;
  readonly logicalReplicationWorkers: number;
}

export async function applyWorkerRoom(sql: Sql, subscriptionOid: number): Promise<ApplyWorkerRoom> {
  const [row] = await sql<{ runs: boolean; mwp: number; mlrw: number; bgw: number; lrw: number }[]>`
    select exists (select 1 from pg_stat_subscription where subid = ${subscriptionOid} and relid is null and pid is not null) as runs,
           current_setting('max_worker_processes')::int as mwp,
           current_setting('max_logical_replication_workers')::int as mlrw,
           (select count(*)::int from pg_stat_activity
            where backend_type is not null and backend_type <> all(${NOT_BACKGROUND_WORKERS as unknown as string[]})) as bgw,
           (select count(*)::int from pg_stat_subscription where pid is not null) as lrw`;
  return {
    applyWorkerRuns: row?.runs ?? false,
    maxWorkerProcesses: row?.mwp ?? 0,
    maxLogicalReplicationWorkers: row?.mlrw ?? 0,
    backgroundWorkers: row?.bgw ?? 0,
    logicalReplicationWorkers: row?.lrw ?? 0,
  };
}
