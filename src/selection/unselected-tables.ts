/** The tables of a source database as a selection sees them, and those its schema dump leaves out. */
import type { Sql } from 'postgres';
import type { Ancestry, FilteredTable, QualifiedTable, TableFilter } from './table-filter.js';

/** A table or partitioned table, with the partitioned tables above it when it is a partition. */
export interface SourceTable extends FilteredTable {
  readonly partitioned: boolean;
  /** Its parent first, the root last; empty unless it is a partition. */
  readonly ancestors: readonly QualifiedTable[];
}

const keyOf = (table: QualifiedTable): string => JSON.stringify([table.schema, table.name]);

/** Every table and partitioned table outside the system schemas, extensions' own included (their names can be selected). */
export async function sourceTables(sql: Sql): Promise<SourceTable[]> {
  const rows = await sql<{ schema: string; name: string; partitioned: boolean; up_schemas: string[] | null; up_names: string[] | null }[]>`
    with recursive up(child, parent, depth) as (
      select i.inhrelid, i.inhparent, 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid where c.relispartition
      union all
      select up.child, i.inhparent, up.depth + 1 from up join pg_inherits i on i.inhrelid = up.parent join pg_class p on p.oid = up.parent where p.relispartition
    ),
    ancestors as (
      select up.child, array_agg(pn.nspname::text order by up.depth) as up_schemas, array_agg(pc.relname::text order by up.depth) as up_names
      from up join pg_class pc on pc.oid = up.parent join pg_namespace pn on pn.oid = pc.relnamespace
      group by up.child
    )
    select n.nspname as schema, c.relname as name, c.relkind = 'p' as partitioned, a.up_schemas, a.up_names
    from pg_class c join pg_namespace n on n.oid = c.relnamespace left join ancestors a on a.child = c.oid
    where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'`;
  return rows.map((r) => {
    const ancestors = (r.up_names ?? []).map((name, i) => ({ schema: (r.up_schemas ?? [])[i] as string, name }));
    return { schema: r.schema, name: r.name, partitioned: r.partitioned, ancestors, root: ancestors.at(-1) ?? null };
  });
}

/** Each table's partitioned ancestors, as `tables` has them. */
export function ancestryOf(tables: readonly SourceTable[]): Ancestry {
  const byKey = new Map(tables.map((t) => [keyOf(t), t.ancestors]));
  return (table) => byKey.get(keyOf(table)) ?? [];
}

/**
 * What the schema dump leaves out: each table `filter` drops (a partition by
 * itself too: pg_dump excludes no partition with its parent), but the
 * partitioned tables above a selected partition, which it cannot exist
 * without. They come as definitions only: a partitioned table holds no rows,
 * and its other partitions stay out.
 */
export function tablesLeftOutOfDump(tables: readonly SourceTable[], filter: TableFilter): SourceTable[] {
  const above = new Set(tables.filter(filter).flatMap((t) => t.ancestors.map(keyOf)));
  return tables.filter((t) => !filter(t) && !above.has(keyOf(t)));
}

/** A name as a pg_dump pattern that matches it alone: double-quoted, where `*`, `?` and `.` are plain characters. */
export function exactPattern(...parts: string[]): string {
  return parts.map((part) => `"${part.replace(/"/g, '""')}"`).join('.');
}
