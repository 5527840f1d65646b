/**
 * Foreign keys the destination could not create: on a table whose definition
 * the schema dump keeps, into a table whose rows the selection leaves out,
 * wholly or in part. A partitioned table's rows are its partitions', at any
 * depth and in any schema, so a key into it needs every one of them.
 */
import type { Sql } from 'postgres';
import type { QualifiedTable, TableFilter } from './table-filter.js';
import { tablesLeftOutOfDump, type SourceTable } from './unselected-tables.js';

const keyOf = (table: QualifiedTable): string => JSON.stringify([table.schema, table.name]);
const shown = (table: QualifiedTable): string => `${table.schema}.${table.name}`;

/** Each such key as `<key> on <table> references <table>, …`, saying what is left out. */
export async function foreignKeysLeftOut(sql: Sql, tables: readonly SourceTable[], filter: TableFilter): Promise<string[]> {
  const [version] = await sql<{ num: number }[]>`select current_setting('server_version_num')::int as num`;
  // A key on or into a partitioned table is cloned onto its partitions (PostgreSQL 11+); the original says it once.
  const originals = (version?.num ?? 0) >= 110000 ? sql`and k.conparentid = 0` : sql``;
  const keys = await sql<{ name: string; from_schema: string; from_name: string; to_schema: string; to_name: string }[]>`
    select k.conname as name, fn.nspname as from_schema, fc.relname as from_name, tn.nspname as to_schema, tc.relname as to_name
    from pg_constraint k
      join pg_class fc on fc.oid = k.conrelid join pg_namespace fn on fn.oid = fc.relnamespace
      join pg_class tc on tc.oid = k.confrelid join pg_namespace tn on tn.oid = tc.relnamespace
    where k.contype = 'f' ${originals}
    order by fn.nspname, fc.relname, k.conname`;
  const leftOut = new Set(tablesLeftOutOfDump(tables, filter).map(keyOf));
  const kept = (table: QualifiedTable): boolean => !leftOut.has(keyOf(table));
  const below = (table: QualifiedTable): SourceTable[] => tables.filter((t) => t.ancestors.some((a) => keyOf(a) === keyOf(table)));
  const found: string[] = [];
  for (const key of keys) {
    const from = { schema: key.from_schema, name: key.from_name };
    const to = { schema: key.to_schema, name: key.to_name };
    if (!kept(from)) continue;
    const named = `${key.name} on ${shown(from)} references ${shown(to)}`;
    if (!kept(to)) {
      found.push(`${named}, which the selection leaves out`);
      continue;
    }
    const partitionsOut = below(to).filter((t) => !t.partitioned && !filter(t));
    if (partitionsOut.length > 0) found.push(`${named}, whose partition${partitionsOut.length > 1 ? 's' : ''} ${partitionsOut.map(shown).sort().join(', ')} the selection leaves out`);
  }
  return found;
}
