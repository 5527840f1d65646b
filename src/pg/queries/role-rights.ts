import type { Sql } from 'postgres';

/** What the connected role may do, as far as a migration cares. */
export interface RoleRights {
  readonly username: string;
  readonly superuser: boolean;
  /** Member of AWS RDS's `rds_superuser` (or `rds_replication`). */
  readonly rdsSuperuser: boolean;
  readonly replication: boolean;
  readonly createdb: boolean;
  readonly createrole: boolean;
}

export async function roleRights(sql: Sql): Promise<RoleRights> {
  const [row] = await sql<
    { username: string; superuser: boolean; rds: boolean; replication: boolean; createdb: boolean; createrole: boolean }[]
  >`
    select r.rolname as username, r.rolsuper as superuser, r.rolreplication as replication,
           r.rolcreatedb as createdb, r.rolcreaterole as createrole,
           exists (select 1 from pg_roles g
                   where g.rolname in ('rds_superuser', 'rds_replication')
                     and pg_has_role(r.oid, g.oid, 'member')) as rds
    from pg_roles r where r.rolname = current_user`;
  if (!row) throw new Error('current_user is not in pg_roles');
  return {
    username: row.username,
    superuser: row.superuser,
    rdsSuperuser: row.rds,
    replication: row.replication,
    createdb: row.createdb,
    createrole: row.createrole,
  };
}
