/**
 * The migration's memory, kept on the destination in the target connection's
 * database, so `status()` and `stop()` work from any process and a re-run
 * knows what an earlier one did. A record is bound to identities, never to a
 * name alone: which source cluster and database it copies, and which
 * destination database (by OID) it filled and whether it created it.
 *
 * Every change of state goes through {@link recordState}, which applies it
 * only from a state {@link canTransition} allows, in one statement.
 *
 * @module
 */
import type { ReplicationPaths } from '../strategies/replication/rights/paths.js';
import { replicationName, uniqueReplicationName } from '../strategies/replication/names.js';
import type { JSONValue, Sql } from 'postgres';
import type { MigrationErrorKind } from '../errors.js';
import type { DatabaseMethod } from '../status.js';
import { statesLeadingTo, type RecordedState } from './lifecycle.js';

/** The schema holding the state; preflight's "is the target empty" looks past it. */
export const STATE_SCHEMA = 'datalakehouse_migrate';

/** Which source database a record copies. */
export interface SourceIdentity {
  /** The source cluster's `system_identifier`; `null` where the role may not read it. */
  readonly systemId: string | null;
  readonly databaseOid: number;
}

/** One database's row. */
export interface DatabaseRecord {
  /** The destination database's name. */
  readonly dbname: string;
  /** The source database's name: `dbname`, unless it was copied under another name. */
  readonly sourceDbname: string;
  readonly method: DatabaseMethod;
  readonly status: RecordedState;
  readonly error: string | null;
  readonly errorKind: MigrationErrorKind | null;
  readonly fallbackReasons: readonly string[];
  /** The source it copies; `null` for a record that never started (or one written before identities were kept). */
  readonly source: SourceIdentity | null;
  /** The destination database it fills, by OID; `null` when it never got one. */
  readonly targetOid: number | null;
  /** True when this migration created that destination database, so an unfinished attempt may drop it. */
  readonly createdDatabase: boolean;
  /** Apply and sync errors the subscription had when it became `syncing`; errors beyond it are news. */
  readonly applyErrorsBaseline: number;
  /** The rights a replicated database publishes and subscribes by, once it reached `syncing`. */
  readonly rights: ReplicationPaths | null;
  /**
   * The name of its publication and slot on the source and its subscription
   * on the destination: the one recorded with it, or, for a record an older
   * version wrote, the name that version derived from the database's name.
   */
  readonly replicationName: string;
  /** False for a record an older version wrote, whose objects go by the name derived from the database's name. */
  readonly replicationNameRecorded: boolean;
  /**
   * The replication reached `syncing` since it last started afresh, whatever
   * its status says now: a re-run that resumes it records it `running`
   * again, and if that run dies there, the destination still holds a copy
   * the user may have switched over to.
   */
  readonly synced: boolean;
  readonly startedAt: string | null;
  readonly updatedAt: string | null;
}

const TABLE = `${STATE_SCHEMA}.database_state`;

/** Creates the state table, or brings one an older version made up to date. */
export async function ensureStateTable(sql: Sql): Promise<void> {
  await sql.unsafe(`
    create schema if not exists ${STATE_SCHEMA};
    create table if not exists ${TABLE} (
      dbname text primary key,
      method text not null check (method in ('replication', 'pg_dump')),
      status text not null check (status in ('running', 'syncing', 'done', 'failed')),
      error text,
      fallback_reasons text[] not null default '{}',
      created_database boolean not null default false,
      started_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    alter table ${TABLE}
      add column if not exists error_kind text,
      add column if not exists source_system_id text,
      add column if not exists source_database_oid bigint,
      add column if not exists target_database_oid bigint,
      add column if not exists apply_errors_baseline bigint not null default 0,
      add column if not exists replication_rights jsonb,
      add column if not exists source_dbname text,
      add column if not exists replication_name text,
      add column if not exists synced_at timestamptz`).simple();
}

interface Row {
  dbname: string;
  method: DatabaseMethod;
  status: RecordedState;
  error: string | null;
  error_kind: MigrationErrorKind | null;
  fallback_reasons: string[];
  created_database: boolean;
  source_system_id: string | null;
  source_database_oid: string | null;
  target_database_oid: string | null;
  apply_errors_baseline: string | null;
  replication_rights?: ReplicationPaths | null;
  source_dbname?: string | null;
  replication_name?: string | null;
  synced_at?: string | null;
  started_at: Date;
  updated_at: Date;
}

export async function readStates(sql: Sql): Promise<DatabaseRecord[]> {
  const [exists] = await sql<{ present: boolean }[]>`select to_regclass(${TABLE}) is not null as present`;
  if (!exists?.present) return [];
  // to_jsonb: a table an older version made lacks the identity columns until the next migrate() adds them.
  const rows = await sql<{ row: Row }[]>`
    select to_jsonb(s) as row from ${sql(STATE_SCHEMA)}.database_state s order by dbname`;
  return rows.map(({ row: r }) => ({
    dbname: r.dbname,
    sourceDbname: r.source_dbname ?? r.dbname,
    method: r.method,
    status: r.status,
    error: r.error,
    errorKind: r.error_kind ?? null,
    fallbackReasons: r.fallback_reasons,
    source:
      r.source_database_oid !== null && r.source_database_oid !== undefined
        ? { systemId: r.source_system_id ?? null, databaseOid: Number(r.source_database_oid) }
        : null,
    targetOid: r.target_database_oid !== null && r.target_database_oid !== undefined ? Number(r.target_database_oid) : null,
    // An older record never said which database it created: without that proof nothing is dropped.
    createdDatabase: r.created_database && r.target_database_oid !== null && r.target_database_oid !== undefined,
    applyErrorsBaseline: Number(r.apply_errors_baseline ?? 0),
    rights: r.replication_rights ?? null,
    replicationName: r.replication_name ?? replicationName(r.dbname),
    replicationNameRecorded: typeof r.replication_name === 'string',
    synced: r.status === 'syncing' || (r.synced_at !== null && r.synced_at !== undefined),
    startedAt: new Date(r.started_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  }));
}

/** What a run starting (or starting over) a database binds its record to. */
export interface StartRecord {
  readonly dbname: string;
  /** The source database's name, when it differs from `dbname`. */
  readonly sourceDbname: string;
  readonly method: DatabaseMethod;
  readonly fallbackReasons: readonly string[];
  readonly source: SourceIdentity;
  readonly targetOid: number;
  readonly createdDatabase: boolean;
  /** The name its replication objects get: recorded before any of them exists, so a record always points at what it left. */
  readonly replicationName: string;
}

/** Records that a database's migration starts afresh, bound to the source and destination it moves between. */
export async function recordStart(sql: Sql, start: StartRecord): Promise<void> {
  const from = statesLeadingTo('running');
  const rows = await sql`
    insert into ${sql(STATE_SCHEMA)}.database_state as s
      (dbname, method, status, error, error_kind, fallback_reasons, created_database,
       source_system_id, source_database_oid, target_database_oid, apply_errors_baseline, source_dbname, replication_name)
    values (${start.dbname}, ${start.method}, 'running', null, null, ${sql.array([...start.fallbackReasons])},
            ${start.createdDatabase}, ${start.source.systemId}, ${start.source.databaseOid}, ${start.targetOid}, 0, ${start.sourceDbname},
            ${start.replicationName})
    on conflict (dbname) do update set
      method = excluded.method, status = 'running', error = null, error_kind = null,
      fallback_reasons = excluded.fallback_reasons, created_database = excluded.created_database,
      source_system_id = excluded.source_system_id, source_database_oid = excluded.source_database_oid,
      target_database_oid = excluded.target_database_oid, apply_errors_baseline = 0, source_dbname = excluded.source_dbname,
      replication_name = excluded.replication_name, synced_at = null, started_at = now(), updated_at = now()
    where s.status = any(${sql.array(from)}::text[])
    returning 1`;
  if (rows.length === 0) throw new Error(`The state of "${start.dbname}" may not start over from where it is`);
}

/** A change of state, with its error when it failed. */
export interface StateChange {
  readonly status: RecordedState;
  readonly error?: string | null;
  readonly errorKind?: MigrationErrorKind | null;
  readonly applyErrorsBaseline?: number;
  /** Kept as it was when left out. */
  readonly rights?: ReplicationPaths;
}

/**
 * Moves an existing record to a new state, only from a state the lifecycle
 * allows; returns false when the record was not in one (nothing changes).
 */
export async function recordState(sql: Sql, dbname: string, change: StateChange): Promise<boolean> {
  const from = statesLeadingTo(change.status);
  const rows = await sql`
    update ${sql(STATE_SCHEMA)}.database_state
    set status = ${change.status}, error = ${change.error ?? null}, error_kind = ${change.errorKind ?? null},
        apply_errors_baseline = coalesce(${change.applyErrorsBaseline ?? null}::bigint, apply_errors_baseline),
        replication_rights = coalesce(${change.rights ? sql.json(change.rights as unknown as JSONValue) : null}::jsonb, replication_rights),
        synced_at = case when ${change.status} = 'syncing' then coalesce(synced_at, now()) else synced_at end,
        updated_at = now()
    where dbname = ${dbname} and status = any(${sql.array(from)}::text[])
    returning 1`;
  return rows.length > 0;
}

/**
 * Records a database that could not start (its destination is not empty, say).
 * A record that is `done` or `syncing` is left as it is: what it claims is
 * judged when status is read, and a refusal must not erase it. Nor does it
 * erase the kind `unsafe-stop` of a database stopped by force: that mark is
 * what keeps every later run from dropping it, until one starts it afresh
 * (see `decide`). A new record
 * gets a replication name of its own like any other, so only records an
 * older version wrote ever go by the name derived from the database's.
 */
export async function recordRefusal(
  sql: Sql,
  names: { readonly dbname: string; readonly sourceDbname: string },
  method: DatabaseMethod,
  error: string,
  errorKind: MigrationErrorKind,
): Promise<void> {
  const { dbname, sourceDbname } = names;
  // The source database's name too: a status read picks a renamed database's record by it.
  await sql`
    insert into ${sql(STATE_SCHEMA)}.database_state as s (dbname, source_dbname, method, status, error, error_kind, replication_name)
    values (${dbname}, ${sourceDbname}, ${method}, 'failed', ${error}, ${errorKind}, ${uniqueReplicationName(dbname)})
    on conflict (dbname) do update set
      status = 'failed', error = excluded.error, source_dbname = coalesce(s.source_dbname, excluded.source_dbname),
      error_kind = case when s.error_kind = 'unsafe-stop' then s.error_kind else excluded.error_kind end, updated_at = now()
    where s.status in ('failed', 'running')`;
}
