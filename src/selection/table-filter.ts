/**
 * Which tables of a source database the caller migrates: `tables.include`
 * (when it names any table of that database, only those), minus
 * `tables.exclude`, minus `excludeSchemas`. A partition goes with its
 * partitioned tables: naming any of them, at any level, selects or leaves
 * out the partition, and so does an excluded schema holding one of them.
 * The same filter decides the schema dumped, the rows copied, the tables
 * published and what verify() compares.
 *
 * @module
 */
import { namesTable, type TableName } from './table-names.js';

export interface QualifiedTable {
  readonly schema: string;
  readonly name: string;
}

/** A table as the filter sees it: its name, and its partition root when it is a partition. */
export interface FilteredTable extends QualifiedTable {
  readonly root?: QualifiedTable | null;
}

export type TableFilter = (table: FilteredTable) => boolean;

/** A partition's partitioned tables, its parent first and the root last; none for any other table. */
export type Ancestry = (table: QualifiedTable) => readonly QualifiedTable[];

export interface TableSelectionOptions {
  readonly tables: { readonly include: readonly TableName[]; readonly exclude: readonly TableName[] };
  readonly excludeSchemas: readonly string[];
}

/** Whether the options select tables at all in database `database` (else every table goes). */
export function selectsTables(options: TableSelectionOptions, database: string): boolean {
  const here = (n: TableName): boolean => n.database === undefined || n.database === database;
  return options.tables.include.some(here) || options.tables.exclude.some(here) || options.excludeSchemas.length > 0;
}

/**
 * The filter for source database `database`, or `null` when every table
 * goes. Without `ancestry`, a partition is judged with its root alone (its
 * intermediate partitioned tables unknown).
 */
export function tableFilterFor(options: TableSelectionOptions, database: string, ancestry?: Ancestry): TableFilter | null {
  if (!selectsTables(options, database)) return null;
  const include = options.tables.include.filter((n) => n.database === undefined || n.database === database);
  const exclude = options.tables.exclude.filter((n) => n.database === undefined || n.database === database);
  const schemas = new Set(options.excludeSchemas);
  return (table) => {
    const above = ancestry ? ancestry(table) : table.root ? [table.root] : [];
    const sides = [table, ...above];
    if (sides.some((t) => schemas.has(t.schema))) return false;
    const named = (names: readonly TableName[]): boolean => names.some((n) => sides.some((t) => namesTable(n, database, t.schema, t.name)));
    if (include.length > 0 && !named(include)) return false;
    return !named(exclude);
  };
}
