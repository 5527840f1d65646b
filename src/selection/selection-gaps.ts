/**
 * What a database's table selection leaves out that the rest needs, read
 * once for preflight: the filter that selects, the tables it judges, the
 * foreign keys and the other objects that would fail on the destination.
 */
import type { Sql } from 'postgres';
import { dependenciesLeftOut } from './dependencies-left-out.js';
import { foreignKeysLeftOut } from './foreign-keys-left-out.js';
import { tableFilterFor, type TableFilter, type TableSelectionOptions } from './table-filter.js';
import { ancestryOf, sourceTables, tablesLeftOutOfDump, type SourceTable } from './unselected-tables.js';

export interface SelectionGaps {
  /** `null` when every table goes. */
  readonly selected: TableFilter | null;
  readonly tables: readonly SourceTable[];
  readonly keys: readonly string[];
  readonly needs: readonly string[];
}

export async function selectionGaps(
  sql: Sql,
  options: TableSelectionOptions & { readonly excludeExtensions: readonly string[] },
  database: string,
): Promise<SelectionGaps> {
  const tables = await sourceTables(sql);
  const selected = tableFilterFor(options, database, ancestryOf(tables));
  if (!selected) return { selected, tables, keys: [], needs: [] };
  const leftOut = tablesLeftOutOfDump(tables, selected);
  return {
    selected,
    tables,
    keys: await foreignKeysLeftOut(sql, tables, selected),
    needs: await dependenciesLeftOut(sql, { tables: leftOut, schemas: options.excludeSchemas, extensions: options.excludeExtensions }),
  };
}
