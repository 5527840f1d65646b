import type { Sql } from 'postgres';

/** A database as `CREATE DATABASE` needs to recreate it. */
export interface DatabaseInfo {
  readonly name: string;
  /** Its identity on its cluster: a database dropped and created again under the same name gets another. */
  readonly oid: number;
  readonly encoding: string;
  readonly collate: string;
  readonly ctype: string;
  readonly owner: string;
  /** `c` (libc), `i` (ICU, PostgreSQL 15+) or `b` (builtin, 17+). */
  readonly localeProvider: 'c' | 'i' | 'b';
  /** The ICU or builtin locale, when the provider is not libc. */
  readonly locale: string | null;
}

/** Every database that is not a template and accepts connections. */
export async function listDatabases(sql: Sql): Promise<DatabaseInfo[]> {
  // to_jsonb reads the locale columns on every major: they appeared in 15 and were renamed in 17.
  const rows = await sql<(Omit<DatabaseInfo, 'localeProvider' | 'locale'> & { provider: string | null; locale: string | null })[]>`
    select d.datname as name, d.oid::bigint::float8 as oid, pg_encoding_to_char(d.encoding) as encoding,
           d.datcollate as collate, d.datctype as ctype, pg_get_userbyid(d.datdba) as owner,
           to_jsonb(d) ->> 'datlocprovider' as provider,
           coalesce(to_jsonb(d) ->> 'datlocale', to_jsonb(d) ->> 'daticulocale') as locale
    from pg_database d
    where not d.datistemplate and d.datallowconn
    order by d.datname`;
  return rows.map(({ provider, locale, ...info }) => ({
    ...info,
    oid: Number(info.oid),
    localeProvider: provider === 'i' || provider === 'b' ? provider : 'c',
    locale: provider === 'i' || provider === 'b' ? locale : null,
  }));
}

/** Every database's OID by name, templates included: what is there now. */
export async function databaseOids(sql: Sql): Promise<Map<string, number>> {
  const rows = await sql<{ name: string; oid: number }[]>`select datname as name, oid::bigint::float8 as oid from pg_database`;
  return new Map(rows.map((r) => [r.name, Number(r.oid)]));
}
