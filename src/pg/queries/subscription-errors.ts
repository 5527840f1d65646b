import type { Sql } from 'postgres';

/** How often a subscription's workers failed since its statistics were last reset. */
export interface SubscriptionErrors {
  /** Failures of the apply worker, which follows the source's changes. */
  readonly apply: number;
  /** Failures of table synchronisation workers, which copy a table's initial rows. */
  readonly sync: number;
}

/** Reads `pg_stat_subscription_stats` (PostgreSQL 15 and later); zeros where it does not exist. */
export async function subscriptionErrors(sql: Sql, subscriptionOid: number): Promise<SubscriptionErrors> {
  const [present] = await sql<{ present: boolean }[]>`select to_regclass('pg_catalog.pg_stat_subscription_stats') is not null as present`;
  if (!present?.present) return { apply: 0, sync: 0 };
  const [row] = await sql<{ apply: number; sync: number }[]>`
    select apply_error_count::int as apply, sync_error_count::int as sync
    from pg_stat_subscription_stats where subid = ${subscriptionOid}`;
  return { apply: row?.apply ?? 0, sync: row?.sync ?? 0 };
}
