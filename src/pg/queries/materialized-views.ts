import type { Sql } from 'postgres';

/** Materialized views holding data, by OID (creation order, which is not the order they read each other in). */
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

/**
 * Every materialized view (extensions' own aside) with the materialized views
 * its query reads, directly or through views and functions: what a REFRESH of
 * it needs populated first. A function counts when PostgreSQL records what it
 * reads (a `BEGIN ATOMIC` body); a body kept as a string is never parsed ahead.
 */
export async function materializedViewDependencies(sql: Sql): Promise<{ schema: string; name: string; readsFrom: { schema: string; name: string }[] }[]> {
  const rows = await sql<{ schema: string; name: string; reads_schemas: string[]; reads_names: string[] }[]>`
    with recursive reaches(view, refclass, ref) as (
      select m.oid, d.refclassid, d.refobjid
      from pg_class m join pg_rewrite r on r.ev_class = m.oid
        join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid
      where m.relkind = 'm' and d.refobjid <> m.oid
      union
      -- On through a view's query and a function's body, never through another materialized view: its refresh reads only its own rows.
      select e.view, d.refclassid, d.refobjid
      from reaches e
        left join pg_rewrite r on e.refclass = 'pg_class'::regclass and r.ev_class = e.ref
          and exists (select 1 from pg_class v where v.oid = e.ref and v.relkind = 'v')
        join pg_depend d on (r.oid is not null and d.classid = 'pg_rewrite'::regclass and d.objid = r.oid)
                         or (e.refclass = 'pg_proc'::regclass and d.classid = 'pg_proc'::regclass and d.objid = e.ref)
      where d.refobjid <> e.ref
    )
    select n.nspname as schema, m.relname as name,
           array_remove(array_agg(rn.nspname order by read.oid), null) as reads_schemas,
           array_remove(array_agg(read.relname order by read.oid), null) as reads_names
    from pg_class m join pg_namespace n on n.oid = m.relnamespace
      left join reaches e on e.view = m.oid and e.refclass = 'pg_class'::regclass and e.ref <> m.oid
      left join pg_class read on read.oid = e.ref and read.relkind = 'm'
      left join pg_namespace rn on rn.oid = read.relnamespace
    where m.relkind = 'm'
      and not exists (select 1 from pg_depend x where x.classid = 'pg_class'::regclass and x.objid = m.oid and x.deptype = 'e')
    group by m.oid, n.nspname, m.relname
    order by m.oid`;
  return rows.map((r) => ({ schema: r.schema, name: r.name, readsFrom: r.reads_names.map((name, i) => ({ schema: r.reads_schemas[i] as string, name })) }));
}
