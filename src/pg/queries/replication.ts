import type { Sql } from 'postgres';
import { systemIdentifier } from './server-settings.js';

/** A subscription in the connected database. */
export interface SubscriptionInfo {
  readonly oid: number;
  readonly name: string;
  readonly enabled: boolean;
  readonly slotName: string | null;
}

export async function findSubscription(sql: Sql, name: string): Promise<SubscriptionInfo | undefined> {
  const [row] = await sql<{ oid: number; name: string; enabled: boolean; slot: string | null }[]>`
    select oid::bigint::float8 as oid, subname as name, subenabled as enabled, subslotname as slot
    from pg_subscription
    where subname = ${name} and subdbid = (select oid from pg_database where datname = current_database())`;
  return row ? { oid: Number(row.oid), name: row.name, enabled: row.enabled, slotName: row.slot } : undefined;
}

/** Per-table sync states: `i` init, `d` copying, `f` finished copy, `s` synchronised, `r` ready. */
export async function subscriptionTableStates(sql: Sql, subscriptionOid: number): Promise<{ table: string; state: string }[]> {
  const rows = await sql<{ table: string; state: string }[]>`
    select srrelid::regclass::text as table, srsubstate::text as state
    from pg_subscription_rel where srsubid = ${subscriptionOid}`;
  return [...rows];
}

export async function publicationExists(sql: Sql, name: string): Promise<boolean> {
  return (await sql`select 1 from pg_publication where pubname = ${name}`).length > 0;
}

/** The tables a publication carries, as `schema.table` pairs. */
export async function publishedTables(sql: Sql, publication: string): Promise<{ schema: string; name: string }[]> {
  const rows = await sql<{ schema: string; name: string }[]>`
    select schemaname as schema, tablename as name from pg_publication_tables where pubname = ${publication}
    order by 1, 2`;
  return [...rows];
}

export interface SlotInfo {
  readonly name: string;
  readonly active: boolean;
  readonly activePid: number | null;
}

/** Slots named one of `names`, or whose name matches the regular expression `pattern`. */
export async function findSlots(sql: Sql, names: readonly string[], pattern: string | null): Promise<SlotInfo[]> {
  const rows = await sql<{ name: string; active: boolean; pid: number | null }[]>`
    select slot_name::text as name, active, active_pid as pid from pg_replication_slots
    where slot_name = any(${sql.array([...names])}::text[])
       or (${pattern}::text is not null and slot_name::text ~ ${pattern}::text)`;
  return rows.map((r) => ({ name: r.name, active: r.active, activePid: r.pid }));
}

/**
 * The pattern of the table-synchronisation slots a subscription's workers
 * create on the source (PostgreSQL 14+): `pg_<subscription oid>_sync_<table
 * oid>_<subscriber's system identifier>`. Two destinations may well give
 * their subscriptions the same OID, so only the system identifier tells
 * whose a slot is: `null` where the destination does not let us read it.
 */
export async function syncSlotPattern(target: Sql, subscriptionOid: number): Promise<string | null> {
  const systemId = await systemIdentifier(target);
  return systemId === null ? null : `^pg_${subscriptionOid}_sync_[0-9]+_${systemId}$`;
}
