/** The tables of a source database as a selection sees them, and those it leaves out. */
import type { Sql } from 'postgres';
import { PARTITION_ROOTS } from '../pg/queries/tables.js';
import type { FilteredTable, TableFilter } from './table-filter.js';

type Row = { schema: string; name: string; root_schema: string | null; root_name: string | null };

const asTable = (r: Row): FilteredTable => ({
  schema: r.schema,
  name: r.name,
  root: r.root_schema !== null && r.root_name !== null ? { schema: r.root_schema, name: r.root_name } : null,
});

/** Every table and partitioned table outside the system schemas, each partition with its root. */
export async function tablesWithRoots(sql: Sql): Promise<FilteredTable[]> {
  const rows = await sql<Row[]>`
    with roots as (${sql.unsafe(PARTITION_ROOTS)})
    select n.nspname as schema, c.relname as name, roots.root_schema, roots.root_name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace left join roots on roots.child = c.oid
    where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'`;
  return rows.map(asTable);
}

/** The tables `filter` drops (each partition by itself too: pg_dump excludes no partition with its parent). */
export async function unselectedTables(sql: Sql, filter: TableFilter): Promise<FilteredTable[]> {
  return (await tablesWithRoots(sql)).filter((t) => !filter(t));
}

/** Foreign keys, each with the table it is on and the table it references. */
export async function foreignKeys(sql: Sql): Promise<{ name: string; from: FilteredTable; to: FilteredTable }[]> {
  const rows = await sql<{ name: string; from_schema: string; from_name: string; to_schema: string; to_name: string }[]>`
    select k.conname as name, fn.nspname as from_schema, fc.relname as from_name, tn.nspname as to_schema, tc.relname as to_name
    from pg_constraint k
      join pg_class fc on fc.oid = k.conrelid join pg_namespace fn on fn.oid = fc.relnamespace
      join pg_class tc on tc.oid = k.confrelid join pg_namespace tn on tn.oid = tc.relnamespace
    where k.contype = 'f'`;
  const all = await tablesWithRoots(sql);
  const find = (schema: string, name: string): FilteredTable => all.find((t) => t.schema === schema && t.name === name) ?? { schema, name, root: null };
  return rows.map((r) => ({ name: r.name, from: find(r.from_schema, r.from_name), to: find(r.to_schema, r.to_name) }));
}

/** A name as a pg_dump pattern that matches it alone: double-quoted, where `*`, `?` and `.` are plain characters. */
export function exactPattern(...parts: string[]): string {
  return parts.map((part) => `"${part.replace(/"/g, '""')}"`).join('.');
}
