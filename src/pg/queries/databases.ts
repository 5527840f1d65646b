import type { Sql } from 'postgres';

/** A database as `CREATE DATABASE` needs to recreate it. */
export interface DatabaseInfo {
  readonly name: string;
  readonly encoding: string;
  readonly collate: string;
  readonly ctype: string;
  readonly owner: string;
}

/** Every database that is not a template and accepts connections. */
export async function listDatabases(sql: Sql): Promise<DatabaseInfo[]> {
  const rows = await sql<DatabaseInfo[]>`
    select datname as name, pg_encoding_to_char(encoding) as encoding,
           datcollate as collate, datctype as ctype, pg_get_userbyid(datdba) as owner
    from pg_database
    where not datistemplate and datallowconn
    order by datname`;
  return [...rows];
}

export async function databaseExists(sql: Sql, name: string): Promise<boolean> {
  const rows = await sql`select 1 from pg_database where datname = ${name}`;
  return rows.length > 0;
}
