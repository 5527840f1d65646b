/**
 * Making a source database read-only for a cutover, and undoing it: new
 * sessions then start read-only (`default_transaction_read_only`), which an
 * application's writes fail on. Sessions opened before keep their setting;
 * they are counted so the caller knows.
 *
 * The setting found is read before anything changes, so the undo is known
 * even when the change is cut off without an answer (a cancellation closing
 * its session): whether it landed is then read again by the undo itself.
 */
import type { Sql, TransactionSql } from 'postgres';
import { quoteIdent, quoteLiteral, readableIdent } from '../pg/identifiers.js';

/** A source database's own `default_transaction_read_only` before the cutover, and how to put it back. */
export interface ReadOnlySetting {
  /** The source database (its name on the source). */
  readonly dbname: string;
  /** Its own value of the setting (`ALTER DATABASE … SET`), `null` when it had none. */
  readonly previous: string | null;
  /** The statement that puts it back, as a person would type it: for a hint when it could not be run. */
  readonly restoreStatement: string;
}

/**
 * How long undoing may wait on locks and the server: long enough for a busy
 * catalog, short enough that a cancelled call still ends within seconds.
 */
const RESTORE_TIMEOUT = '10s';

export async function readOnlySetting(sql: Sql, dbname: string): Promise<ReadOnlySetting> {
  const previous = await ownSetting(sql, dbname);
  return { dbname, previous, restoreStatement: restoreSql(dbname, previous, readableIdent) };
}

/** Makes new sessions of the database read-only; resolves with how many client sessions opened before may still write. */
export async function makeReadOnly(sql: Sql, setting: ReadOnlySetting): Promise<number> {
  await sql.unsafe(`alter database ${quoteIdent(setting.dbname)} set default_transaction_read_only = on`);
  const [sessions] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = ${setting.dbname} and backend_type = 'client backend' and pid <> pg_backend_pid()
      and application_name <> 'datalakehouse-db-migrate'`;
  return sessions?.n ?? 0;
}

/**
 * Puts the database's own setting back as it was, on `sql`, which must be a
 * session that may write (see `OpenOptions.readWrite`). Resolves `false` when
 * it already was (the change never landed, or someone undid it), `true` when
 * it put it back.
 */
export async function restoreSetting(sql: Sql, setting: ReadOnlySetting): Promise<boolean> {
  return sql.begin(async (tx) => {
    // A lock held on the database's settings must not hold a cancelled call.
    await tx`select set_config('statement_timeout', ${RESTORE_TIMEOUT}, true), set_config('lock_timeout', ${RESTORE_TIMEOUT}, true)`;
    if ((await ownSetting(tx, setting.dbname)) === setting.previous) return false;
    await tx.unsafe(restoreSql(setting.dbname, setting.previous, quoteIdent));
    return true;
  });
}

async function ownSetting(sql: Sql | TransactionSql, dbname: string): Promise<string | null> {
  const [row] = await sql<{ value: string | null }[]>`
    select (select substr(s, length('default_transaction_read_only=') + 1)
            from unnest(r.setconfig) s where s like 'default\\_transaction\\_read\\_only=%') as value
    from pg_database d left join pg_db_role_setting r on r.setdatabase = d.oid and r.setrole = 0
    where d.datname = ${dbname}`;
  return row?.value ?? null;
}

function restoreSql(dbname: string, previous: string | null, ident: (name: string) => string): string {
  return previous === null
    ? `ALTER DATABASE ${ident(dbname)} RESET default_transaction_read_only`
    : `ALTER DATABASE ${ident(dbname)} SET default_transaction_read_only = ${quoteLiteral(previous)}`;
}
