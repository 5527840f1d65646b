import type { Sql } from 'postgres';

/** How much of the replication capacity is already taken. */
export interface ReplicationUsage {
  readonly slots: number;
  readonly walSenders: number;
  /** Enabled subscriptions: each holds one logical-replication worker. */
  readonly enabledSubscriptions: number;
  /** Our own slots and subscriptions, which a re-run reuses rather than adds. */
  readonly ownSlots: readonly string[];
  readonly ownSubscriptions: readonly string[];
}

export async function replicationUsage(sql: Sql, ownPrefix: string): Promise<ReplicationUsage> {
  const [row] = await sql<
    { slots: number; senders: number; subs: number; own_slots: string[]; own_subs: string[] }[]
  >`
    select (select count(*)::int from pg_replication_slots) as slots,
           (select count(*)::int from pg_stat_replication) as senders,
           (select count(*)::int from pg_subscription where subenabled) as subs,
           array(select slot_name::text from pg_replication_slots where starts_with(slot_name, ${ownPrefix})) as own_slots,
           array(select subname::text from pg_subscription where starts_with(subname, ${ownPrefix})) as own_subs`;
  return {
    slots: row?.slots ?? 0,
    walSenders: row?.senders ?? 0,
    enabledSubscriptions: row?.subs ?? 0,
    ownSlots: row?.own_slots ?? [],
    ownSubscriptions: row?.own_subs ?? [],
  };
}
