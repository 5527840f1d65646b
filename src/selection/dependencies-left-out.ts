/**
 * Objects the schema dump keeps that need an object it leaves out: a table
 * inheriting from a table left out, a view or materialized view reading one,
 * a column, function or extension needing a type, function or schema in an
 * excluded schema. pg_dump leaves them in (`--exclude-table` and
 * `--exclude-schema` drop only what they name), and the destination refuses
 * them. Read from pg_depend, PostgreSQL's own record of what needs what;
 * foreign keys, said better by `foreign-keys-left-out.ts`, and partitions,
 * whose parents the dump keeps, are not asked about here.
 */
import type { Sql } from 'postgres';
import type { QualifiedTable } from './table-filter.js';

export interface DumpLeftOut {
  readonly tables: readonly QualifiedTable[];
  readonly schemas: readonly string[];
  /** Extensions not created on the destination (`excludeExtensions`). */
  readonly extensions: readonly string[];
}

/** The table an object of catalog `classid` belongs to (its column, index, rule, default, constraint, trigger, policy, row type), if any. */
const owningTable = (classid: string, objid: string): string => `
  case ${classid}
    when 'pg_class'::regclass then (select case when c.relkind in ('i', 'I') then (select x.indrelid from pg_index x where x.indexrelid = c.oid) else c.oid end
                                    from pg_class c where c.oid = ${objid})
    when 'pg_rewrite'::regclass then (select r.ev_class from pg_rewrite r where r.oid = ${objid})
    when 'pg_attrdef'::regclass then (select a.adrelid from pg_attrdef a where a.oid = ${objid})
    when 'pg_constraint'::regclass then (select nullif(k.conrelid, 0) from pg_constraint k where k.oid = ${objid})
    when 'pg_trigger'::regclass then (select t.tgrelid from pg_trigger t where t.oid = ${objid})
    when 'pg_policy'::regclass then (select p.polrelid from pg_policy p where p.oid = ${objid})
    when 'pg_statistic_ext'::regclass then (select s.stxrelid from pg_statistic_ext s where s.oid = ${objid})
    when 'pg_type'::regclass then (select coalesce(nullif(t.typrelid, 0), (select nullif(e.typrelid, 0) from pg_type e where e.oid = t.typelem))
                                   from pg_type t where t.oid = ${objid})
  end`;

/** Each as `<object> needs <object>`, e.g. `view public.v needs table public.t`. */
export async function dependenciesLeftOut(sql: Sql, leftOut: DumpLeftOut): Promise<string[]> {
  const rows = await sql<{ needing: string; needed: string }[]>`
    with left_out_tables as (
      select c.oid from unnest(${sql.array(leftOut.tables.map((t) => t.schema))}::text[], ${sql.array(leftOut.tables.map((t) => t.name))}::text[]) as l(schema, name)
        join pg_namespace n on n.nspname = l.schema join pg_class c on c.relnamespace = n.oid and c.relname = l.name and c.relkind in ('r', 'p')
    ),
    left_out_schemas as (select n.oid, n.nspname from pg_namespace n where n.nspname = any(${sql.array([...leftOut.schemas])}::text[])),
    needs as (
      select d.classid, d.objid, d.objsubid, d.refclassid, d.refobjid,
             ${sql.unsafe(owningTable('d.classid', 'd.objid'))} as table_of,
             ${sql.unsafe(owningTable('d.refclassid', 'd.refobjid'))} as ref_table_of
      from pg_depend d
      -- Normal dependencies only: automatic and internal ones tie parts of one object together (a partition to its parent too).
      where d.deptype = 'n' and d.objid >= 16384
    ),
    unmet as (
      select x.*, (pg_identify_object(x.classid, x.objid, 0)).schema as schema_of
      from needs x
      where x.ref_table_of in (select oid from left_out_tables)
         -- Naming every referenced object's schema is the costly part: only when a schema is left out.
         or (exists (select 1 from left_out_schemas)
             and ((x.refclassid = 'pg_namespace'::regclass and x.refobjid in (select oid from left_out_schemas))
                  or (pg_identify_object(x.refclassid, x.refobjid, 0)).schema in (select nspname from left_out_schemas)))
    )
    select distinct
      case
        when u.classid = 'pg_rewrite'::regclass
          then concat_ws(' ', (pg_identify_object('pg_class'::regclass, u.table_of, 0)).type, (pg_identify_object('pg_class'::regclass, u.table_of, 0)).identity)
        when u.classid = 'pg_attrdef'::regclass
          then concat_ws(' ', 'default of', (pg_identify_object('pg_class'::regclass, u.table_of, (select a.adnum from pg_attrdef a where a.oid = u.objid))).identity)
        else concat_ws(' ', (pg_identify_object(u.classid, u.objid, u.objsubid)).type, (pg_identify_object(u.classid, u.objid, u.objsubid)).identity)
      end as needing,
      case
        when u.ref_table_of is not null then concat_ws(' ', (pg_identify_object('pg_class'::regclass, u.ref_table_of, 0)).type, (pg_identify_object('pg_class'::regclass, u.ref_table_of, 0)).identity)
        else concat_ws(' ', (pg_identify_object(u.refclassid, u.refobjid, 0)).type, (pg_identify_object(u.refclassid, u.refobjid, 0)).identity)
      end as needed
    from unmet u
    where (u.schema_of is null or (u.schema_of not in (select nspname from left_out_schemas) and u.schema_of not in ('pg_catalog', 'information_schema') and u.schema_of !~ '^pg_'))
      and (u.table_of is null or (u.table_of not in (select oid from left_out_tables)
                                  and not exists (select 1 from pg_class c where c.oid = u.table_of and c.relnamespace in (select oid from left_out_schemas))))
      and not (u.classid = 'pg_constraint'::regclass and exists (select 1 from pg_constraint k where k.oid = u.objid and k.contype = 'f'))
      and not exists (select 1 from pg_extension e where u.classid = 'pg_extension'::regclass and e.oid = u.objid and e.extname = any(${sql.array([...leftOut.extensions])}::text[]))
      -- An extension's own objects are its script's to create, not the dump's.
      and not exists (select 1 from pg_depend e where e.deptype = 'e' and ((e.classid = u.classid and e.objid = u.objid)
                                                                           or (e.classid = 'pg_class'::regclass and e.objid = u.table_of)))
    order by 1, 2`;
  return rows.map((r) => `${r.needing} needs ${r.needed}`);
}
