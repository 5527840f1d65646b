import type { Sql } from 'postgres';

/**
 * A table's copied columns and their types, in one string per table of
 * `pg_class c`, the same whatever the session's search_path: format_type
 * names a type outside pg_catalog with its schema only when the path does
 * not reach it, and the copy reads the source and the destination on
 * sessions with different paths.
 */
const COLUMN_TYPES = `(select string_agg(quote_ident(a.attname) || ' ' ||
          case when tn.nspname = 'pg_catalog' then format_type(a.atttypid, a.atttypmod)
               else quote_ident(tn.nspname) || '.' || quote_ident(t.typname) || case when a.atttypmod >= 0 then '(' || a.atttypmod || ')' else '' end
          end, ', ' order by a.attname)
   from pg_catalog.pg_attribute a
   join pg_catalog.pg_type t on t.oid = a.atttypid
   join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
  where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = '')`;

/** How a table's rows can be read in parts and in which COPY format. */
export interface TableLayout {
  readonly schema: string;
  readonly name: string;
  /** Pages of the main fork now: where a ctid range scan may find rows. */
  readonly pages: number;
  /**
   * Every column's type has a binary form another cluster reads back as the
   * same value: see {@link readTableLayouts}.
   */
  readonly binaryCapable: boolean;
  /** The copied columns' names and types, to tell whether the other side's table has the same. */
  readonly columnTypes: string;
}

/**
 * The layout of every ordinary table, keyed by `schema.name` as
 * {@link layoutKey} spells it.
 *
 * A type's binary COPY form is safe between two clusters when it has send and
 * receive functions (an array's elements too: `aclitem[]` has them, `aclitem`
 * has not) and names no object by OID: built-in types (their OIDs
 * are the same everywhere) and enums (sent as their labels). An array of a
 * user-defined type carries its element type's OID and a composite its
 * columns' types' OIDs, which differ between clusters and fail the copy; such
 * tables, and those with extension types, are copied as text. So are the
 * object references (`regclass`, `regtype`, … and their arrays): their binary
 * form is the object's OID on the source, their text its name.
 */
export async function readTableLayouts(sql: Sql): Promise<Map<string, TableLayout>> {
  const rows = await sql<{ schema: string; name: string; pages: string; binary: boolean; types: string | null }[]>`
    select n.nspname as schema, c.relname as name,
           (pg_relation_size(c.oid) / current_setting('block_size')::bigint)::text as pages,
           not exists (select 1 from pg_attribute a
                         join pg_type t on t.oid = a.atttypid
                         join pg_type b on b.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end
                       where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
                         and (t.typsend = 0 or t.typreceive = 0 or b.typsend = 0 or b.typreceive = 0
                              or exists (select 1 from pg_type e where e.oid = b.typelem and b.typlen = -1 and (e.typsend = 0 or e.typreceive = 0))
                              or b.typtype in ('c', 'd', 'p')
                              or (b.oid >= 16384 and b.typtype <> 'e')
                              or (b.oid < 16384 and (b.typname like 'reg%' or b.typname like '\\_reg%')))) as binary,
           ${sql.unsafe(COLUMN_TYPES)} as types
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema')`;
  return new Map(
    rows.map((r) => [
      layoutKey(r.schema, r.name),
      { schema: r.schema, name: r.name, pages: Number(r.pages), binaryCapable: r.binary, columnTypes: r.types ?? '' },
    ]),
  );
}

/** What the copy needs to know of a table on the destination. */
export interface TargetTable {
  /** The columns' names and types, as {@link TableLayout.columnTypes} spells them. */
  readonly columnTypes: string;
  /**
   * The copying role may empty it in the COPY's own transaction, and so
   * write it with `COPY ... FREEZE`: it may truncate it, no foreign key
   * references it, and no trigger fires on `TRUNCATE`. That it holds no rows
   * is the copy's precondition (the same run's pre-data restore created it),
   * not something read here.
   */
  readonly freezable: boolean;
}

/**
 * Every ordinary table of the destination, keyed as {@link layoutKey} spells
 * it. From the catalog alone: unlike a table's size, it takes no lock on the
 * table.
 */
export async function readTargetTables(sql: Sql): Promise<Map<string, TargetTable>> {
  const rows = await sql<{ schema: string; name: string; types: string | null; freezable: boolean }[]>`
    select n.nspname as schema, c.relname as name, ${sql.unsafe(COLUMN_TYPES)} as types,
           has_table_privilege(c.oid, 'TRUNCATE')
             and not exists (select 1 from pg_catalog.pg_constraint k where k.confrelid = c.oid and k.contype = 'f')
             and not exists (select 1 from pg_catalog.pg_trigger g where g.tgrelid = c.oid and (g.tgtype & 32) <> 0) as freezable
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema')`;
  return new Map(rows.map((r) => [layoutKey(r.schema, r.name), { columnTypes: r.types ?? '', freezable: r.freezable }]));
}

/** The tables a foreign key references, keyed as {@link layoutKey} spells them. */
export async function readReferencedTables(sql: Sql): Promise<Set<string>> {
  const rows = await sql<{ schema: string; name: string }[]>`
    select distinct n.nspname as schema, c.relname as name
    from pg_catalog.pg_constraint k
      join pg_catalog.pg_class c on c.oid = k.confrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where k.contype = 'f'`;
  return new Set(rows.map((r) => layoutKey(r.schema, r.name)));
}

export function layoutKey(schema: string, name: string): string {
  return JSON.stringify([schema, name]);
}
