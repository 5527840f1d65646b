/**
 * What the copy does, in which order: every table as one piece of work, a
 * large one as several ctid ranges read in parallel under the same snapshot;
 * tables that foreign keys reference first, then the largest first so the
 * last piece to finish is a small one.
 *
 * @module
 */
import { qualified, quoteIdent, quoteLiteral } from '../pg/identifiers.js';
import { layoutKey, type TableLayout, type TargetTable } from '../pg/queries/table-pages.js';
import type { SizedTable } from '../pg/queries/tables.js';

export type CopyFormat = 'text' | 'binary';

export interface PlanOptions {
  /** A table whose main fork is larger is split into ranges. */
  readonly splitBytes: number;
  /** About how large each range is. */
  readonly rangeBytes: number;
  /** The source scans ctid ranges without reading the whole table (PostgreSQL 14+). */
  readonly canSplit: boolean;
  /**
   * Binary COPY where every column's type allows it and the destination's
   * table has the same columns of the same types; text otherwise.
   */
  readonly binary: boolean;
  /**
   * `COPY ... FREEZE` into a table copied in one piece that the destination
   * lets the copy empty first ({@link TargetTable.freezable}).
   */
  readonly freeze: boolean;
  /**
   * The source database's encoding. Outside UTF-8, rows travel as text in
   * that encoding, unconverted (see {@link PlannedTable.encoding}).
   */
  readonly sourceEncoding?: string;
}

export interface PlannedTable {
  readonly info: SizedTable;
  readonly format: CopyFormat;
  /** How many pieces of work the table is; it is copied when all of them committed. */
  readonly pieces: number;
  /** Its one piece is written frozen: see {@link writeStatement}. */
  readonly freeze: boolean;
  /**
   * The encoding its text travels in, both COPYs saying so (`ENCODING`);
   * null for the sessions' own, UTF-8. A database in another encoding may
   * hold bytes UTF-8 has no character for (any byte in SQL_ASCII, 0x81 in
   * WIN1252): converted to the sessions' UTF-8 they would fail the copy, or
   * read back as other bytes. In the database's own encoding both servers
   * pass them as they are, as pg_dump and pg_restore do; a binary COPY has no
   * such option (its text goes through the client encoding), so these
   * tables travel as text.
   */
  readonly encoding: string | null;
}

/** Pages `[from, to)` of the table; `to` null reads to its end. */
export interface PageRange {
  readonly from: number;
  readonly to: number | null;
}

export interface CopyItem {
  readonly table: PlannedTable;
  readonly range: PageRange | null;
  /** The on-disk bytes this piece stands for. */
  readonly estimatedBytes: number;
}

const BLOCK_BYTES = 8192;

/**
 * Smaller tables are not written frozen: their pages stay in shared buffers
 * for the scans after the copy, and the `TRUNCATE` that `FREEZE` needs costs
 * each table a new file. On "tiny" (2,000 tables of 100 rows) the run took
 * 3.4-3.6 s frozen against 3.0-3.5 s not.
 */
export const FREEZE_BYTES = 1024 * 1024;

export function planCopy(
  tables: readonly SizedTable[],
  layouts: ReadonlyMap<string, TableLayout>,
  options: PlanOptions,
  targetTables: ReadonlyMap<string, TargetTable> = new Map(),
  referenced: ReadonlySet<string> = new Set(),
): CopyItem[] {
  const items: CopyItem[] = [];
  for (const info of tables) {
    const key = layoutKey(info.schema, info.name);
    const layout = layouts.get(key);
    const pages = layout?.pages ?? 0;
    const encoding = options.sourceEncoding !== undefined && options.sourceEncoding !== 'UTF8' ? options.sourceEncoding : null;
    const binary =
      options.binary &&
      encoding === null &&
      layout?.binaryCapable === true &&
      info.columns.length > 0 &&
      targetTables.get(key)?.columnTypes === layout.columnTypes;
    const format: CopyFormat = binary ? 'binary' : 'text';
    // An extension's configuration table is read whole, through its condition: such tables are small.
    const configuration = info.extensionCondition !== null;
    const split = options.canSplit && !configuration && pages * BLOCK_BYTES > options.splitBytes;
    const count = split ? Math.ceil((pages * BLOCK_BYTES) / options.rangeBytes) : 1;
    // FREEZE's TRUNCATE would take the rows CREATE EXTENSION put in a configuration table.
    const freeze = options.freeze && !configuration && count === 1 && info.bytes >= FREEZE_BYTES && targetTables.get(key)?.freezable === true;
    const table: PlannedTable = { info, format, pieces: count, freeze, encoding };
    if (count === 1) {
      items.push({ table, range: null, estimatedBytes: info.bytes });
      continue;
    }
    const step = Math.ceil(pages / count);
    for (let i = 0; i < count; i++) {
      const from = i * step;
      // The last range is open: rows of the snapshot cannot lie past the table's end, whatever its size now.
      const to = i === count - 1 ? null : (i + 1) * step;
      items.push({ table, range: { from, to }, estimatedBytes: (info.bytes * ((to ?? pages) - from)) / pages });
    }
  }
  // Tables a foreign key references go first: each referencing table's key is then added as soon
  // as its own rows are in, beside other copies, instead of all of them after the last table.
  const first = (item: CopyItem): number => (referenced.has(layoutKey(item.table.info.schema, item.table.info.name)) ? 0 : 1);
  return items.sort((a, b) => first(a) - first(b) || b.estimatedBytes - a.estimatedBytes);
}

/**
 * The `COPY ... TO STDOUT` reading `item` on the source. An extension's
 * configuration table is read through its `pg_extension_config_dump`
 * condition, as pg_dump reads it: the rows it leaves out are the ones the
 * extension's script put there, which CREATE EXTENSION already put on the
 * destination.
 *
 * A whole table is read as `COPY name (columns) TO`, which reads only that
 * table (no inheritance children), as pg_dump does. The query form a range
 * or a condition needs goes through the planner, which opens every index of
 * the table to plan a scan it never uses: on 2,000 small tables, a fifth of
 * the source's CPU for the copy.
 */
export function readStatement(item: CopyItem): string {
  const { info } = item.table;
  const name = qualified(info.schema, info.name);
  const options = copyOptions(item.table, false);
  const where = item.range
    ? ` where ctid >= '(${item.range.from},0)'::tid${item.range.to === null ? '' : ` and ctid < '(${item.range.to},0)'::tid`}`
    : info.extensionCondition
      ? ` ${info.extensionCondition}`
      : '';
  // A table whose every column is generated or dropped still has rows to recreate: empty ones, which a COPY
  // without a column list reads (it leaves generated columns out).
  if (where === '') return `copy ${name}${columnList(info.columns)} to stdout${options}`;
  return `copy (select ${info.columns.map(quoteIdent).join(', ')} from only ${name}${where}) to stdout${options}`;
}

/** ` (a, b)`, or nothing for no columns: COPY's own column list. */
function columnList(columns: readonly string[]): string {
  return columns.length === 0 ? '' : ` (${columns.map(quoteIdent).join(', ')})`;
}

/**
 * The `COPY ... FROM STDIN` writing `table` on the destination.
 *
 * A table copied in one piece is written frozen when it may be: its rows go
 * in with their transaction already marked committed and visible to all, and
 * its pages all-visible in the visibility map. Otherwise the first scan
 * after the copy (the primary key's build) sets a hint bit on every row and
 * dirties every page again, and a later vacuum rewrites every page to freeze
 * it. 10M rows of pgbench_accounts into PostgreSQL 15: the COPY took about
 * as long either way (4.0-4.6 s), and the primary key afterwards 1.6-2.2 s
 * against 2.3-2.6 s; whole dumps of "big", three runs each way, 7.8-8.3 s
 * against 8.3-8.7 s. On "many" (64 tables of 14 MB, which stay in shared
 * buffers while their indexes build) two series measured it within noise,
 * once each way.
 *
 * `FREEZE` needs the table emptied in the COPY's own transaction: the
 * `TRUNCATE` of the same query, of a table the run's pre-data restore
 * created empty (the copy's precondition). The `TRUNCATE` takes the table's
 * ACCESS EXCLUSIVE lock, which a plain COPY would not: a session reading the
 * new table on the destination delays its copy until it ends, as it already
 * delayed the primary key added right after (`ALTER TABLE ... ADD PRIMARY
 * KEY` takes the same lock).
 *
 * An extension's configuration table already holds its script's rows: the
 * copy adds to them, never frozen ({@link planCopy}).
 */
export function writeStatement(table: PlannedTable): string {
  const { info } = table;
  const name = qualified(info.schema, info.name);
  const copy = `copy ${name}${columnList(info.columns)} from stdin${copyOptions(table, table.freeze)}`;
  // The two statements of one query are one transaction.
  return table.freeze ? `truncate only ${name}; ${copy}` : copy;
}

/** ` with (…)` for a COPY of `table` on either side, or nothing. */
function copyOptions(table: PlannedTable, freeze: boolean): string {
  const options = [
    table.format === 'binary' ? 'format binary' : '',
    table.encoding === null ? '' : `encoding ${quoteLiteral(table.encoding)}`,
    freeze ? 'freeze' : '',
  ].filter((o) => o !== '');
  return options.length > 0 ? ` with (${options.join(', ')})` : '';
}
