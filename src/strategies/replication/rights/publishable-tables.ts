/** What a publication of every table, or of the selected ones, carries. */
import type { Sql } from 'postgres';
import { PARTITION_ROOTS } from '../../../pg/queries/tables.js';
import type { TableFilter } from '../../../selection/table-filter.js';

/**
 * The tables `FOR ALL TABLES` would publish (permanent ordinary tables,
 * partitions included) that `filter` keeps, as quoted `schema.table`. Of an
 * extension's tables, only its configuration tables: the copy carries their
 * users' rows, so their changes must follow.
 */
export async function publishableTables(source: Sql, filter: TableFilter | null = null): Promise<string[]> {
  const rows = await source<{ schema: string; name: string; quoted: string; root_schema: string | null; root_name: string | null }[]>`
    with roots as (${source.unsafe(PARTITION_ROOTS)})
    select n.nspname as schema, c.relname as name, quote_ident(n.nspname) || '.' || quote_ident(c.relname) as quoted,
           roots.root_schema, roots.root_name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace left join roots on roots.child = c.oid
    where c.relkind = 'r' and c.relpersistence = 'p'
      and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'
      and (exists (select 1 from pg_extension x where c.oid = any (x.extconfig))
           or not exists (select 1 from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e'))
    order by 3`;
  return rows
    .filter((r) => !filter || filter({ schema: r.schema, name: r.name, root: r.root_schema !== null && r.root_name !== null ? { schema: r.root_schema, name: r.root_name } : null }))
    .map((r) => r.quoted);
}
