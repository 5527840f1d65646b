/**
 * Which tables of a source database the caller migrates: `tables.include`
 * (when it names any table of that database, only those), minus
 * `tables.exclude`, minus `excludeSchemas`. A partition goes with its
 * partitioned table: naming either selects or leaves out the partition. The
 * same filter decides the schema dumped, the rows copied, the tables
 * published and what verify() compares.
 *
 * @module
 */
import { namesTable, type TableName } from './table-names.js';

/** A table as the filter sees it: its name, and its partition root when it is a partition. */
export interface FilteredTable {
  readonly schema: string;
  readonly name: string;
  readonly root?: { readonly schema: string; readonly name: string } | null;
}

export type TableFilter = (table: FilteredTable) => boolean;

export interface TableSelectionOptions {
  readonly tables: { readonly include: readonly TableName[]; readonly exclude: readonly TableName[] };
  readonly excludeSchemas: readonly string[];
}

/** The filter for source database `database`, or `null` when every table goes. */
export function tableFilterFor(options: TableSelectionOptions, database: string): TableFilter | null {
  const include = options.tables.include.filter((n) => n.database === undefined || n.database === database);
  const exclude = options.tables.exclude.filter((n) => n.database === undefined || n.database === database);
  const schemas = new Set(options.excludeSchemas);
  if (include.length === 0 && exclude.length === 0 && schemas.size === 0) return null;
  return (table) => {
    const sides = table.root ? [table, table.root] : [table];
    if (sides.some((t) => schemas.has(t.schema))) return false;
    const named = (names: readonly TableName[]): boolean => names.some((n) => sides.some((t) => namesTable(n, database, t.schema, t.name)));
    if (include.length > 0 && !named(include)) return false;
    return !named(exclude);
  };
}
