/**
 * The migration's memory, kept on the destination in the target connection's
 * database, so `status()` and `stop()` work from any process and a re-run
 * knows what an earlier one did.
 *
 * @module
 */
import type { Sql } from 'postgres';
import type { DatabaseMethod, DatabaseState } from '../status.js';

/** The schema holding the state; preflight's "is the target empty" looks past it. */
export const STATE_SCHEMA = 'datalakehouse_migrate';

/** One database's row. */
export interface DatabaseRecord {
  readonly dbname: string;
  readonly method: DatabaseMethod;
  readonly status: DatabaseState;
  readonly error: string | null;
  readonly fallbackReasons: readonly string[];
  /** True when this migration created the database, so a failed attempt may drop it. */
  readonly createdDatabase: boolean;
  readonly startedAt: string | null;
  readonly updatedAt: string | null;
}

/** Key of the advisory lock that keeps two migrations off one destination. */
const LOCK_KEY = 0x646c6820; // "dlh "

export async function ensureStateTable(sql: Sql): Promise<void> {
  await sql.unsafe(`
    create schema if not exists ${STATE_SCHEMA};
    create table if not exists ${STATE_SCHEMA}.database_state (
      dbname text primary key,
      method text not null check (method in ('replication', 'pg_dump')),
      status text not null check (status in ('running', 'syncing', 'done', 'failed')),
      error text,
      fallback_reasons text[] not null default '{}',
      created_database boolean not null default false,
      started_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`).simple();
}

export async function readStates(sql: Sql): Promise<DatabaseRecord[]> {
  const [exists] = await sql<{ present: boolean }[]>`
    select to_regclass(${`${STATE_SCHEMA}.database_state`}) is not null as present`;
  if (!exists?.present) return [];
  const rows = await sql<
    {
      dbname: string;
      method: DatabaseMethod;
      status: DatabaseState;
      error: string | null;
      fallback_reasons: string[];
      created_database: boolean;
      started_at: Date;
      updated_at: Date;
    }[]
  >`select * from ${sql(STATE_SCHEMA)}.database_state order by dbname`;
  return rows.map((r) => ({
    dbname: r.dbname,
    method: r.method,
    status: r.status,
    error: r.error,
    fallbackReasons: r.fallback_reasons,
    createdDatabase: r.created_database,
    startedAt: r.started_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  }));
}

/** Records that a database's migration starts (or starts over). */
export async function recordStart(
  sql: Sql,
  dbname: string,
  method: DatabaseMethod,
  fallbackReasons: readonly string[],
  createdDatabase: boolean,
): Promise<void> {
  await sql`
    insert into ${sql(STATE_SCHEMA)}.database_state
      (dbname, method, status, error, fallback_reasons, created_database)
    values (${dbname}, ${method}, 'running', null, ${sql.array([...fallbackReasons])}, ${createdDatabase})
    on conflict (dbname) do update set
      method = excluded.method, status = 'running', error = null,
      fallback_reasons = excluded.fallback_reasons,
      created_database = database_state.created_database or excluded.created_database,
      started_at = now(), updated_at = now()`;
}

export async function recordStatus(
  sql: Sql,
  dbname: string,
  status: DatabaseState,
  error: string | null = null,
): Promise<void> {
  await sql`
    update ${sql(STATE_SCHEMA)}.database_state
    set status = ${status}, error = ${error}, updated_at = now()
    where dbname = ${dbname}`;
}

/**
 * Records a database that could not start (say, its target is not empty), so
 * status shows it failed without claiming we created anything.
 */
export async function recordFailure(
  sql: Sql,
  dbname: string,
  method: DatabaseMethod,
  error: string,
): Promise<void> {
  await sql`
    insert into ${sql(STATE_SCHEMA)}.database_state (dbname, method, status, error)
    values (${dbname}, ${method}, 'failed', ${error})
    on conflict (dbname) do update set
      method = excluded.method, status = 'failed', error = excluded.error, updated_at = now()`;
}

/** Takes the destination's migration lock on a reserved connection; false when another run holds it. */
export async function tryLock(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ locked: boolean }[]>`select pg_try_advisory_lock(${LOCK_KEY}) as locked`;
  return row?.locked ?? false;
}

export async function unlock(sql: Sql): Promise<void> {
  await sql`select pg_advisory_unlock(${LOCK_KEY})`;
}

/** True while some session holds the migration lock: a migrate() is running somewhere. */
export async function isLocked(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ held: boolean }[]>`
    select exists (select 1 from pg_locks
                   where locktype = 'advisory' and classid = 0 and objid = ${LOCK_KEY} and granted
                     and database = (select oid from pg_database where datname = current_database())) as held`;
  return row?.held ?? false;
}
