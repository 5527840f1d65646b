/**
 * A role that owns every table publishes them by name: `FOR ALL TABLES`
 * needs superuser, a table list only ownership and CREATE on the database.
 * The list is every permanent table as the slot is created; one created
 * later is not in it, and status reports it (see unpublished-tables.ts).
 */
import type { Sql } from 'postgres';
import { quoteIdent } from '../../../pg/identifiers.js';
import type { Publisher } from './sides.js';
import { superuserPublisher } from './superuser.js';

/** The tables `FOR ALL TABLES` would publish: permanent ordinary tables (partitions included), no extension's own. */
export async function publishableTables(source: Sql): Promise<string[]> {
  const rows = await source<{ name: string }[]>`
    select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'r' and c.relpersistence = 'p'
      and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'
      and not exists (select 1 from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
    order by 1`;
  return rows.map((r) => r.name);
}

export const tableOwnerPublisher: Publisher = {
  async createPublication(source, name) {
    const tables = await publishableTables(source);
    // A publication with no table yet still takes tables added to it later.
    await source.unsafe(`create publication ${quoteIdent(name)}${tables.length > 0 ? ` for table ${tables.join(', ')}` : ''}`);
  },
  dropPublication: superuserPublisher.dropPublication,
  dropSlot: superuserPublisher.dropSlot,
};
