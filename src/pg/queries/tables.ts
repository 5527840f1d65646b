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
  /** For a partition, the partitioned table at the top of its tree. */
  readonly root: { readonly schema: string; readonly name: string } | null;
  /**
   * For an extension's configuration table (registered by
   * `pg_extension_config_dump`), the condition its rows are copied and
   * compared by: `''` for all of them, else a `WHERE` clause, as written in
   * `pg_extension.extcondition`. Null for every other table.
   */
  readonly extensionCondition: string | null;
}

/** A table with its size, as the copy plans by. */
export interface SizedTable extends TableInfo {
  /**
   * Bytes of its rows on disk (the heap and its TOAST table), for progress
   * estimates and the order of the copy.
   */
  readonly bytes: number;
}

/** Each partition's top-most partitioned table, as `child, root_schema, root_name` (PostgreSQL 10+). */
export const PARTITION_ROOTS = `
  with recursive up(child, parent) as (
    select i.inhrelid, i.inhparent from pg_inherits i join pg_class c on c.oid = i.inhrelid where c.relispartition
    union all
    select up.child, i.inhparent from up join pg_inherits i on i.inhrelid = up.parent join pg_class p on p.oid = up.parent where p.relispartition
  )
  select up.child, rn.nspname as root_schema, rc.relname as root_name
  from up join pg_class rc on rc.oid = up.parent join pg_namespace rn on rn.oid = rc.relnamespace
  where not rc.relispartition`;

/**
 * Whether the table `c` has a replica identity its UPDATEs and DELETEs can be
 * published with. A deferrable primary key is none: PostgreSQL takes only an
 * immediate one (and a replica identity index must be immediate already).
 */
export const HAS_REPLICA_IDENTITY = `
  (c.relreplident = 'f'
   or (c.relreplident = 'i' and exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisreplident))
   or (c.relreplident = 'd' and exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary and i.indimmediate)))`;

/**
 * The user tables that hold rows: ordinary tables and partitions (a
 * partitioned parent holds none itself), without system schemas. Of the
 * tables an extension created, only its configuration tables: CREATE
 * EXTENSION fills the others, and the rows a configuration table's condition
 * selects are the user's (pg_cron's jobs, pg_partman's part_config), which
 * pg_dump copies too.
 */
export async function listTables(sql: Sql): Promise<TableInfo[]> {
  return (await tableRows(sql, false)).map(tableInfo);
}

/**
 * The tables {@link listTables} lists, each with its size, largest first.
 * Sizing opens every table's files: 2,000 small tables took 66 ms to list
 * with sizes and 20 ms without, so only the copy, which orders by them, asks.
 */
export async function listSizedTables(sql: Sql): Promise<SizedTable[]> {
  return (await tableRows(sql, true)).map((row) => ({ ...tableInfo(row), bytes: Number(row.bytes) }));
}

interface TableRow {
  schema: string;
  name: string;
  columns: string[];
  identity: boolean;
  unlogged: boolean;
  bytes: string | null;
  root_schema: string | null;
  root_name: string | null;
  condition: string | null;
}

function tableInfo(r: TableRow): TableInfo {
  return {
    schema: r.schema,
    name: r.name,
    columns: r.columns,
    replicaIdentity: r.identity,
    unlogged: r.unlogged,
    root: r.root_schema !== null && r.root_name !== null ? { schema: r.root_schema, name: r.root_name } : null,
    extensionCondition: r.condition,
  };
}

function tableRows(sql: Sql, sized: boolean): Promise<TableRow[]> {
  // The heap and its TOAST table, main forks only: pg_table_size() also opens each table's free space
  // and visibility maps and its TOAST index. Listing 2,000 small tables took 45-50 ms with it, 26-34 ms without.
  const size = sized
    ? sql`pg_relation_size(c.oid) + case when c.reltoastrelid <> 0 then pg_relation_size(c.reltoastrelid) else 0 end`
    : sql`null::bigint`;
  return sql<TableRow[]>`
    with roots as (${sql.unsafe(PARTITION_ROOTS)})
    select n.nspname as schema, c.relname as name, roots.root_schema, roots.root_name,
           array(select a.attname::text from pg_attribute a
                 where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
                 order by a.attnum) as columns,
           ${sql.unsafe(HAS_REPLICA_IDENTITY)} as identity,
           c.relpersistence = 'u' as unlogged,
           size.bytes::text as bytes,
           config.condition
    from pg_class c join pg_namespace n on n.oid = c.relnamespace left join roots on roots.child = c.oid
      left join lateral (select coalesce(e.extcondition[array_position(e.extconfig, c.oid)], '') as condition
                         from pg_extension e where c.oid = any (e.extconfig)) config on true
      cross join lateral (select ${size} as bytes) size
    where c.relkind = 'r'
      and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
      and (config.condition is not null
           or not exists (select 1 from pg_depend d
                          where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e'))
    order by size.bytes desc nulls last, n.nspname, c.relname`;
}
