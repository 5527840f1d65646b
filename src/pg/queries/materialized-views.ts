import type { Sql } from 'postgres';

/** Materialized views holding data on the source, in dependency-safe order (by OID: creation order). */
export async function populatedMaterializedViews(sql: Sql): Promise<{ schema: string; name: string }[]> {
  const rows = await sql<{ schema: string; name: string }[]>`
    select n.nspname as schema, c.relname as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'm' and c.relispopulated
      and not exists (select 1 from pg_depend d
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
    order by c.oid`;
  return [...rows];
}
