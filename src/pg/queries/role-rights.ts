import type { Sql } from 'postgres';

/** What the connected role may do, as far as a migration cares. */
export interface RoleRights {
  readonly username: string;
  readonly superuser: boolean;
  /** Member of AWS RDS's `rds_superuser`: publishes all tables there. */
  readonly rdsSuperuser: boolean;
  /** May open replication connections: the `REPLICATION` attribute, or RDS's `rds_replication`. */
  readonly replication: boolean;
  readonly createdb: boolean;
  readonly createrole: boolean;
  /** PostgreSQL 16+: member of `pg_create_subscription`, so it may subscribe with CREATE on a database. */
  readonly createSubscription: boolean;
}

export async function roleRights(sql: Sql): Promise<RoleRights> {
  const [row] = await sql<
    { username: string; superuser: boolean; replication: boolean; createdb: boolean; createrole: boolean; memberships: string[] }[]
  >`
    select r.rolname as username, r.rolsuper as superuser, r.rolreplication as replication,
           r.rolcreatedb as createdb, r.rolcreaterole as createrole,
           array(select g.rolname::text from pg_roles g
                 where g.rolname in ('rds_superuser', 'rds_replication', 'pg_create_subscription')
                   and pg_has_role(r.oid, g.oid, 'member')) as memberships
    from pg_roles r where r.rolname = current_user`;
  if (!row) throw new Error('current_user is not in pg_roles');
  const member = (role: string): boolean => row.memberships.includes(role);
  return {
    username: row.username,
    superuser: row.superuser,
    rdsSuperuser: member('rds_superuser'),
    replication: row.superuser || row.replication || member('rds_replication') || member('rds_superuser'),
    createdb: row.createdb,
    createrole: row.createrole,
    createSubscription: member('pg_create_subscription'),
  };
}
