import type { Sql } from 'postgres';

/**
 * The user objects of the connected database, described ("table
 * public.orders", "large object 4242"), at most `limit`: anything a person or
 * an application put there. A fresh database holds none: the `public` schema
 * and `plpgsql` come with it, members of an extension count as the extension,
 * and the migration's own state schema is passed over.
 */
export async function userObjects(sql: Sql, ignoreSchema: string, limit = 5): Promise<string[]> {
  const rows = await sql<{ what: string }[]>`
    with namespaces as (
      select n.oid, n.nspname from pg_catalog.pg_namespace n
      where n.nspname not in ('pg_catalog', 'information_schema', ${ignoreSchema})
        and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
    ),
    members as (select classid, objid from pg_catalog.pg_depend where deptype = 'e')
    select what from (
      select 'schema ' || quote_ident(n.nspname) as what from namespaces n
      where n.nspname <> 'public'
        and not exists (select 1 from members m where m.classid = 'pg_namespace'::regclass and m.objid = n.oid)
      union all
      select case c.relkind when 'r' then 'table ' when 'p' then 'table ' when 'v' then 'view '
                            when 'm' then 'materialized view ' when 'f' then 'foreign table '
                            when 'S' then 'sequence ' else 'type ' end
             || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
      from pg_catalog.pg_class c join namespaces n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S', 'c')
        and not exists (select 1 from members m where m.classid = 'pg_class'::regclass and m.objid = c.oid)
      union all
      select 'function ' || quote_ident(n.nspname) || '.' || quote_ident(p.proname)
      from pg_catalog.pg_proc p join namespaces n on n.oid = p.pronamespace
      where not exists (select 1 from members m where m.classid = 'pg_proc'::regclass and m.objid = p.oid)
      union all
      -- Enums, domains, ranges and base types; a table's row type and the array types that come with types are not objects of their own.
      select 'type ' || quote_ident(n.nspname) || '.' || quote_ident(t.typname)
      from pg_catalog.pg_type t join namespaces n on n.oid = t.typnamespace
      where t.typtype in ('b', 'd', 'e', 'r', 'p') and t.typrelid = 0
        and not exists (select 1 from pg_catalog.pg_type e where e.typarray = t.oid)
        and not exists (select 1 from members m where m.classid = 'pg_type'::regclass and m.objid = t.oid)
      union all
      select 'collation ' || quote_ident(n.nspname) || '.' || quote_ident(c.collname)
      from pg_catalog.pg_collation c join namespaces n on n.oid = c.collnamespace
      where not exists (select 1 from members m where m.classid = 'pg_collation'::regclass and m.objid = c.oid)
      union all
      select 'operator ' || quote_ident(n.nspname) || '.' || o.oprname
      from pg_catalog.pg_operator o join namespaces n on n.oid = o.oprnamespace
      where not exists (select 1 from members m where m.classid = 'pg_operator'::regclass and m.objid = o.oid)
      union all
      select 'text search configuration ' || quote_ident(n.nspname) || '.' || quote_ident(c.cfgname)
      from pg_catalog.pg_ts_config c join namespaces n on n.oid = c.cfgnamespace
      where not exists (select 1 from members m where m.classid = 'pg_ts_config'::regclass and m.objid = c.oid)
      union all
      select 'extension ' || quote_ident(extname) from pg_catalog.pg_extension where extname not in ('plpgsql', 'datalakehouse_extras')
      union all
      select 'large object ' || oid::text from pg_catalog.pg_largeobject_metadata
      union all
      select 'publication ' || quote_ident(pubname) from pg_catalog.pg_publication
      union all
      select 'subscription ' || quote_ident(subname) from pg_catalog.pg_subscription
      where subdbid = (select oid from pg_catalog.pg_database where datname = current_database())
      union all
      select 'event trigger ' || quote_ident(evtname) from pg_catalog.pg_event_trigger
      union all
      select 'foreign server ' || quote_ident(srvname) from pg_catalog.pg_foreign_server
    ) objects
    limit ${limit}`;
  return rows.map((r) => r.what);
}
