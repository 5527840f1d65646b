import type { Sql } from 'postgres';
import { PARTITION_ROOTS } from './tables.js';

/** A REPLICA IDENTITY FULL table without a primary key, and its column types that have no equality operator. */
export interface FullIdentityWithoutEquality {
  readonly schema: string;
  readonly name: string;
  readonly root: { readonly schema: string; readonly name: string } | null;
  /** As `format_type` spells them (`json`, `point`, `json[]`, `public.place`), in column order. */
  readonly types: readonly string[];
}

/** The server's `could not identify an equality operator for type …`. */
const UNDEFINED_FUNCTION = '42883';

/**
 * The REPLICA IDENTITY FULL tables whose UPDATEs and DELETEs a subscriber
 * cannot apply. Without a primary key (or identity index) of its own, the
 * subscriber finds the row a change names by comparing every column with its
 * type's default equality operator, and stops on the first column whose type
 * has none. Generated columns are left out: the subscriber computes them and
 * skips them when it compares. Measured on subscribers 12, 15, 16 and 17
 * alike; 16's use of an index for FULL still compares every column.
 */
export async function fullIdentityWithoutEquality(sql: Sql): Promise<FullIdentityWithoutEquality[]> {
  const columns = await sql<
    { schema: string; name: string; root_schema: string | null; root_name: string | null; type_oid: number; type: string }[]
  >`
    with roots as (${sql.unsafe(PARTITION_ROOTS)})
    select n.nspname as schema, c.relname as name, roots.root_schema, roots.root_name,
           a.atttypid::bigint::float8 as type_oid, format_type(a.atttypid, null) as type
    from pg_class c join pg_namespace n on n.oid = c.relnamespace left join roots on roots.child = c.oid
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
    where c.relkind = 'r' and c.relreplident = 'f'
      and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary)
      and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
      and not exists (select 1 from pg_depend d
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
    order by n.nspname, c.relname, a.attnum`;
  const verdicts = new Map<number, boolean>();
  for (const column of columns) {
    if (!verdicts.has(column.type_oid)) verdicts.set(column.type_oid, await hasEquality(sql, column.type_oid));
  }
  const tables = new Map<string, FullIdentityWithoutEquality & { types: string[] }>();
  for (const column of columns) {
    if (verdicts.get(column.type_oid) !== false) continue;
    const key = JSON.stringify([column.schema, column.name]);
    const table = tables.get(key) ?? {
      schema: column.schema,
      name: column.name,
      root: column.root_schema !== null && column.root_name !== null ? { schema: column.root_schema, name: column.root_name } : null,
      types: [],
    };
    if (!table.types.includes(column.type)) table.types.push(column.type);
    tables.set(key, table);
  }
  return [...tables.values()];
}

/**
 * Asks the server itself rather than reading operator classes: GROUP BY looks
 * up the same default equality operator the subscriber does, through domains,
 * array elements and composite fields, and fails with the same error where
 * there is none. A typed null reads no table and takes no lock.
 */
async function hasEquality(sql: Sql, typeOid: number): Promise<boolean> {
  try {
    await sql`select from (select ${sql.typed(null, typeOid)} as value) probe group by value`;
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === UNDEFINED_FUNCTION) return false;
    throw error;
  }
}
