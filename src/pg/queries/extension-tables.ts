import type { Sql } from 'postgres';
import { HAS_REPLICA_IDENTITY } from './tables.js';

/**
 * An extension's own tables without a replica identity, as `schema.name`,
 * but its configuration tables (listed with the user's). The copy leaves
 * them to the extension's script, but a publication `FOR ALL
 * TABLES` publishes them like any table, and the source then refuses their
 * UPDATEs and DELETEs: the extension's own writes would fail.
 */
export async function keylessExtensionTables(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select format('%s.%s', n.nspname, c.relname) as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'r' and c.relpersistence = 'p'
      and exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
      -- Configuration tables are listed with the user's (their rows are copied): not twice.
      and not exists (select 1 from pg_extension e where c.oid = any(e.extconfig))
      and not ${sql.unsafe(HAS_REPLICA_IDENTITY)}
    order by 1`;
  return rows.map((r) => r.name);
}
