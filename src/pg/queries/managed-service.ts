/**
 * Which managed service runs a cluster, told from facts the server shows
 * any role: its provider-specific settings and administrator roles. Hints
 * are worded for it: on RDS, logical replication is a parameter group
 * setting and a reboot; Cloud SQL offers no logical replication to another
 * service for this, so its databases move by dump.
 *
 * @module
 */
import type { Sql } from 'postgres';

export type ManagedService = 'rds' | 'cloudsql';

export async function managedService(sql: Sql): Promise<ManagedService | null> {
  const [row] = await sql<{ rds: boolean; cloudsql: boolean }[]>`
    select exists (select 1 from pg_settings where name like 'rds.%')
             or exists (select 1 from pg_roles where rolname = 'rds_superuser') as rds,
           exists (select 1 from pg_settings where name like 'cloudsql.%')
             or exists (select 1 from pg_roles where rolname = 'cloudsqlsuperuser') as cloudsql`;
  if (row?.rds) return 'rds';
  if (row?.cloudsql) return 'cloudsql';
  return null;
}
