/**
 * Making a source database read-only for a cutover, and undoing it: new
 * sessions then start read-only (`default_transaction_read_only`), which an
 * application's writes fail on. Sessions opened before keep their setting;
 * they are counted so the caller knows.
 */
import type { Sql } from 'postgres';
import { quoteIdent, quoteLiteral } from '../pg/identifiers.js';

export interface ReadOnlySource {
  /** Client sessions of the database other than this library's, opened before. */
  readonly otherSessions: number;
  /** Puts the database's own setting back as it was. */
  restore(): Promise<void>;
}

export async function makeReadOnly(sql: Sql, dbname: string): Promise<ReadOnlySource> {
  const [row] = await sql<{ previous: string | null }[]>`
    select (select substr(s, length('default_transaction_read_only=') + 1)
            from unnest(r.setconfig) s where s like 'default\\_transaction\\_read\\_only=%') as previous
    from pg_database d left join pg_db_role_setting r on r.setdatabase = d.oid and r.setrole = 0
    where d.datname = ${dbname}`;
  const previous = row?.previous ?? null;
  const database = quoteIdent(dbname);
  await sql.unsafe(`alter database ${database} set default_transaction_read_only = on`);
  const [sessions] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = ${dbname} and backend_type = 'client backend' and pid <> pg_backend_pid()
      and application_name <> 'datalakehouse-db-migrate'`;
  return {
    otherSessions: sessions?.n ?? 0,
    restore: async () => {
      await sql.unsafe(
        previous === null
          ? `alter database ${database} reset default_transaction_read_only`
          : `alter database ${database} set default_transaction_read_only = ${quoteLiteral(previous)}`,
      );
    },
  };
}
