/**
 * Tells a subscription this library created on a slot whose snapshot it had
 * already copied and checked (`copy_data = false`) from one whose tables the
 * server copied itself. PostgreSQL records a table added without a copy as
 * ready with no synchronisation position (`srsublsn` null); a table its sync
 * worker copied is ready at the position where the copy ended.
 */
import type { Sql } from 'postgres';
import { findSubscription } from '../../pg/queries/replication.js';

/** True when subscription `name` exists, has tables, and none of them was copied by the server. */
export async function copiedBeforeSubscribing(target: Sql, name: string): Promise<boolean> {
  const subscription = await findSubscription(target, name);
  if (!subscription) return false;
  const [row] = await target<{ tables: number; uncopied: number }[]>`
    select count(*)::int as tables, count(*) filter (where srsubstate = 'r' and srsublsn is null)::int as uncopied
    from pg_subscription_rel where srsubid = ${subscription.oid}`;
  return row !== undefined && row.tables > 0 && row.uncopied === row.tables;
}
