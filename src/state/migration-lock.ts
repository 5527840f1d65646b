/**
 * One migration at a time per destination cluster. PostgreSQL's advisory
 * locks belong to a database, so a lock taken wherever the state lives would
 * not keep out a run whose state lives in another database of the same
 * cluster. The lock is therefore always taken in the cluster's first
 * database — the connectable, non-template database with the lowest OID,
 * `postgres` on any cluster that kept it — whatever database the state uses.
 *
 * @module
 */
import type { ReservedSql, Sql } from 'postgres';

/** Key of the advisory lock: "dlh " in ASCII. */
const LOCK_KEY = 0x646c6820;

/** The database the lock lives in, as SQL that any connection to the cluster can run. */
const LOCK_DATABASE = `
  select d.oid, d.datname::text as name from pg_catalog.pg_database d
  where d.datallowconn and not d.datistemplate and has_database_privilege(d.oid, 'CONNECT')
  order by d.oid limit 1`;

/** The name of the database the cluster's migration lock is taken in. */
export async function lockDatabase(sql: Sql): Promise<string> {
  const [row] = await sql.unsafe<{ name: string }[]>(LOCK_DATABASE);
  if (!row) throw new Error('The destination has no database this user may connect to');
  return row.name;
}

/** Takes the lock on a reserved session in the lock database; false when another run holds it. */
export async function tryLock(session: ReservedSql): Promise<boolean> {
  const [row] = await session<{ locked: boolean }[]>`select pg_try_advisory_lock(${LOCK_KEY}) as locked`;
  return row?.locked ?? false;
}

export async function unlock(session: ReservedSql): Promise<void> {
  await session`select pg_advisory_unlock(${LOCK_KEY})`;
}

/** True while some session anywhere on the cluster holds the migration lock: a run is under way. */
export async function isLocked(sql: Sql): Promise<boolean> {
  const [row] = await sql.unsafe<{ held: boolean }[]>(
    `select exists (select 1 from pg_catalog.pg_locks l
                    where l.locktype = 'advisory' and l.classid = 0 and l.objid = $1 and l.objsubid = 1
                      and l.granted and l.database = (select oid from (${LOCK_DATABASE}) first)) as held`,
    [LOCK_KEY],
  );
  return row?.held ?? false;
}
