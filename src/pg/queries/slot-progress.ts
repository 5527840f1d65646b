import type { Sql } from 'postgres';

/** How far a logical slot's consumer has got, and whether the slot still holds its WAL. */
export interface SlotProgress {
  readonly name: string;
  readonly activePid: number | null;
  /** The last position the subscriber reported as applied and flushed on its side. */
  readonly confirmedFlushLsn: string | null;
  /** The source's WAL insert position when this was read. */
  readonly currentLsn: string;
  /** `pg_current_wal_insert_lsn() - confirmed_flush_lsn`, never negative. */
  readonly lagBytes: number | null;
  /** `reserved`, `extended`, `unreserved`, `lost` (PostgreSQL 13 and later); null before. */
  readonly walStatus: string | null;
  /** Why the slot was invalidated (PostgreSQL 17 and later). */
  readonly invalidationReason: string | null;
  /** True when the slot was invalidated by a conflict (PostgreSQL 16 and later). */
  readonly conflicting: boolean;
  /** `flush_lag` of the slot's walsender, in seconds; null with no walsender or no recent traffic. */
  readonly flushLagSeconds: number | null;
  /** Seconds since the subscriber last replied to the walsender (PostgreSQL 12 and later). */
  readonly replyAgeSeconds: number | null;
}

/**
 * The slot `name` on the source, with its walsender's timings. Columns that
 * only some majors have are read through `to_jsonb(row)`, so one statement
 * serves PostgreSQL 10 to 18.
 */
export async function slotProgress(sql: Sql, name: string): Promise<SlotProgress | undefined> {
  const [row] = await sql<
    {
      name: string;
      pid: number | null;
      confirmed: string | null;
      current: string;
      lag_bytes: number | null;
      wal_status: string | null;
      invalidation_reason: string | null;
      conflicting: boolean | null;
      flush_lag: number | null;
      reply_age: number | null;
    }[]
  >`
    select s.slot_name::text as name, s.active_pid as pid, s.confirmed_flush_lsn::text as confirmed,
           pg_current_wal_insert_lsn()::text as current,
           greatest(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), s.confirmed_flush_lsn), 0)::float8 as lag_bytes,
           to_jsonb(s) ->> 'wal_status' as wal_status,
           to_jsonb(s) ->> 'invalidation_reason' as invalidation_reason,
           (to_jsonb(s) ->> 'conflicting')::boolean as conflicting,
           extract(epoch from r.flush_lag)::float8 as flush_lag,
           extract(epoch from now() - (to_jsonb(r) ->> 'reply_time')::timestamptz)::float8 as reply_age
    from pg_replication_slots s
    left join pg_stat_replication r on r.pid = s.active_pid
    where s.slot_name = ${name}`;
  if (!row) return undefined;
  return {
    name: row.name,
    activePid: row.pid,
    confirmedFlushLsn: row.confirmed,
    currentLsn: row.current,
    lagBytes: row.lag_bytes,
    walStatus: row.wal_status,
    invalidationReason: row.invalidation_reason,
    conflicting: row.conflicting ?? false,
    flushLagSeconds: row.flush_lag,
    replyAgeSeconds: row.reply_age,
  };
}
