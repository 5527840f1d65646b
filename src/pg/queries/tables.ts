import type { Sql } from 'postgres';

/** A table whose rows a migration moves. */
export interface TableInfo {
  readonly schema: string;
  readonly name: string;
  /** Columns that take values on insert: not dropped, not generated. */
  readonly columns: readonly string[];
  /** A primary key, a replica identity index, or REPLICA IDENTITY FULL. */
  readonly replicaIdentity: boolean;
  readonly unlogged: boolean;
  /** On-disk size in bytes, for progress estimates. */
  readonly bytes: number;
}

/**
 * The user tables that hold rows: ordinary tables and partitions (a
 * partitioned parent holds none itself), without system schemas and without
 * tables an extension created (the extension's own script fills those).
 */
export async function listTables(sql: Sql): Promise<TableInfo[]> {
  const rows = await sql<
    { schema: string; name: string; columns: string[]; identity: boolean; unlogged: boolean; bytes: string }[]
  >`
    select n.nspname as schema, c.relname as name,
           array(select a.attname::text from pg_attribute a
                 where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
                 order by a.attnum) as columns,
           (c.relreplident = 'f'
            or (c.relreplident = 'i' and exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisreplident))
            or (c.relreplident = 'd' and exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary))) as identity,
           c.relpersistence = 'u' as unlogged,
           pg_table_size(c.oid)::text as bytes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'r'
      and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
      and not exists (select 1 from pg_depend d
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
    order by pg_table_size(c.oid) desc, n.nspname, c.relname`;
  return rows.map((r) => ({
    schema: r.schema,
    name: r.name,
    columns: r.columns,
    replicaIdentity: r.identity,
    unlogged: r.unlogged,
    bytes: Number(r.bytes),
  }));
}
