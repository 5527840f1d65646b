import type { Sql } from 'postgres';

/**
 * Where the source's next WAL record goes: past every transaction committed
 * so far, including asynchronous commits (`synchronous_commit = off`) whose
 * commit record is not yet written — `pg_current_wal_lsn()` can stand before
 * those.
 */
export async function walInsertPosition(sql: Sql): Promise<string> {
  const [row] = await sql<{ lsn: string }[]>`select pg_current_wal_insert_lsn()::text as lsn`;
  if (!row) throw new Error('pg_current_wal_insert_lsn() returned no row');
  return row.lsn;
}
