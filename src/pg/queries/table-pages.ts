import type { Sql } from 'postgres';

/** How a table's rows can be read in parts and in which COPY format. */
export interface TableLayout {
  readonly schema: string;
  readonly name: string;
  /** Pages of the main fork now: where a ctid range scan may find rows. */
  readonly pages: number;
  /** Every column's type has binary send and receive functions. */
  readonly binaryCapable: boolean;
}

/** The layout of every ordinary table, keyed by `schema.name` as {@link layoutKey} spells it. */
export async function readTableLayouts(sql: Sql): Promise<Map<string, TableLayout>> {
  const rows = await sql<{ schema: string; name: string; pages: string; binary: boolean }[]>`
    select n.nspname as schema, c.relname as name,
           (pg_relation_size(c.oid) / current_setting('block_size')::bigint)::text as pages,
           not exists (select 1 from pg_attribute a join pg_type t on t.oid = a.atttypid
                       where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                         and (t.typsend = 0 or t.typreceive = 0)) as binary
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema')`;
  return new Map(
    rows.map((r) => [layoutKey(r.schema, r.name), { schema: r.schema, name: r.name, pages: Number(r.pages), binaryCapable: r.binary }]),
  );
}

export function layoutKey(schema: string, name: string): string {
  return JSON.stringify([schema, name]);
}
