import type { Sql } from 'postgres';
import { PARTITION_ROOTS } from './tables.js';

/** A column whose definition names a TOAST compression method (`COMPRESSION lz4`). */
export interface CompressedColumn {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  /** `pglz` or `lz4`. */
  readonly method: string;
  /** For a partition, the partitioned table at the top of its tree. */
  readonly root: { readonly schema: string; readonly name: string } | null;
}

/**
 * The columns of tables the schema dump carries that name a compression
 * method, which pg_dump writes into their definition. PostgreSQL 14 brought
 * the setting; an older source has none.
 */
export async function compressedColumns(sql: Sql): Promise<CompressedColumn[]> {
  const [version] = await sql<{ num: number }[]>`select current_setting('server_version_num')::int as num`;
  if ((version?.num ?? 0) < 140000) return [];
  const rows = await sql<{ schema: string; table: string; column: string; method: string; root_schema: string | null; root_name: string | null }[]>`
    with roots as (${sql.unsafe(PARTITION_ROOTS)})
    select n.nspname as schema, c.relname as table, a.attname as column,
           case a.attcompression when 'l' then 'lz4' when 'p' then 'pglz' else a.attcompression::text end as method,
           roots.root_schema, roots.root_name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace left join roots on roots.child = c.oid
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    where c.relkind in ('r', 'p', 'm') and a.attcompression <> ''
      and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
      and not exists (select 1 from pg_depend d
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
    order by n.nspname, c.relname, a.attnum`;
  return rows.map((r) => ({
    schema: r.schema,
    table: r.table,
    column: r.column,
    method: r.method,
    root: r.root_schema !== null && r.root_name !== null ? { schema: r.root_schema, name: r.root_name } : null,
  }));
}
