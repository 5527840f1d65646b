/**
 * Compares the tables of one database: every ordinary table and partition
 * on either side (the copy's own list, extensions' configuration tables on
 * the rows their condition selects), each as one checksum query per side
 * or, with a single-column integer primary key, as key ranges. Pieces run
 * on the verify sessions in parallel, the source and destination half of a
 * piece at the same time.
 *
 * @module
 */
import type { TableFilter } from '../selection/table-filter.js';
import type { Sql } from 'postgres';
import { readableIdent } from '../pg/identifiers.js';
import { listTables, type TableInfo } from '../pg/queries/tables.js';
import { forEachLimited } from '../util/for-each-limited.js';
import { integerKeys, keyBounds, splitKeys, type KeyRange } from './key-ranges.js';
import type { TableVerification, VerifyDifference } from './report.js';
import { checksumOf, type Checksum } from './table-checksums.js';
import { displayName, tableKey } from './table-key.js';
import { onSide, type VerifySessions } from './verify-sessions.js';

/** A table as both sides have it. */
export interface Relation {
  readonly key: string;
  readonly schema: string;
  readonly name: string;
  readonly onSource: boolean;
  readonly onTarget: boolean;
  /**
   * An extension's configuration table is compared on the rows its
   * `pg_extension_config_dump` condition selects, the ones the copy carries:
   * the others are each side's extension script's (`''`: every row). Null
   * for every other table.
   */
  readonly condition: string | null;
}

/** One table compared, with what differs. */
export interface TableOutcome {
  readonly relation: Relation;
  readonly verification: TableVerification;
  readonly differences: readonly VerifyDifference[];
}

export interface TablesScope {
  readonly source: Sql;
  readonly target: Sql;
  readonly sessions: VerifySessions;
  /** Checksum queries at once. */
  readonly jobs: number;
  readonly rangeRows: number;
  /** Each table's outcome as soon as every piece of it is in. */
  readonly onTable?: (outcome: TableOutcome) => void;
}

interface Piece {
  readonly relation: Relation;
  readonly range: KeyRange | null;
  readonly index: number;
}

interface PieceResult {
  readonly range: KeyRange | null;
  readonly source: Checksum | null;
  readonly target: Checksum | null;
}

/** Every table of either side, the source's first (largest first), then those only the destination has. */
export async function relationsOf(source: Sql, target: Sql, skipSchemas: readonly string[], selected: TableFilter | null = null): Promise<Relation[]> {
  // A table the migration left out (tables, excludeSchemas) is compared on neither side.
  const keep = (t: TableInfo): boolean => !skipSchemas.includes(t.schema) && (!selected || selected(t));
  const [onSource, onTarget] = await Promise.all([
    onSide('source', listTables(source)).then((tables) => tables.filter(keep)),
    onSide('target', listTables(target)).then((tables) => tables.filter(keep)),
  ]);
  const targetKeys = new Set(onTarget.map((t) => tableKey(t.schema, t.name)));
  const sourceKeys = new Set(onSource.map((t) => tableKey(t.schema, t.name)));
  const conditions = new Map([...onTarget, ...onSource].map((t) => [tableKey(t.schema, t.name), t.extensionCondition]));
  const relation = (t: TableInfo): Relation => {
    const key = tableKey(t.schema, t.name);
    // The source's condition on both sides, where it has the table: the rows it selects there are those copied.
    return { key, schema: t.schema, name: t.name, onSource: sourceKeys.has(key), onTarget: targetKeys.has(key), condition: conditions.get(key) ?? null };
  };
  return [...onSource.map(relation), ...onTarget.filter((t) => !sourceKeys.has(tableKey(t.schema, t.name))).map(relation)];
}

/** Compares `relations`; resolves with their outcomes in the order given. */
export async function compareTables(scope: TablesScope, relations: readonly Relation[]): Promise<TableOutcome[]> {
  const pieces = await planPieces(scope, relations);
  const results = new Map<string, PieceResult[]>();
  const remaining = new Map<string, number>();
  for (const piece of pieces) remaining.set(piece.relation.key, (remaining.get(piece.relation.key) ?? 0) + 1);
  const outcomes = new Map<string, TableOutcome>();

  await forEachLimited(pieces, scope.jobs, async (piece) => {
    const { relation, range } = piece;
    const result = await scope.sessions.use(async ({ source, target }) => {
      const [s, t] = await Promise.all([
        relation.onSource ? onSide('source', checksumOf(source, relation.schema, relation.name, range, relation.condition)) : null,
        relation.onTarget ? onSide('target', checksumOf(target, relation.schema, relation.name, range, relation.condition)) : null,
      ]);
      return { range, source: s, target: t };
    });
    const done = results.get(relation.key) ?? [];
    done[piece.index] = result;
    results.set(relation.key, done);
    const left = (remaining.get(relation.key) ?? 1) - 1;
    remaining.set(relation.key, left);
    if (left === 0) {
      const outcome = outcomeOf(relation, done);
      outcomes.set(relation.key, outcome);
      scope.onTable?.(outcome);
    }
  });
  return relations.map((r) => outcomes.get(r.key)).filter((o): o is TableOutcome => o !== undefined);
}

/** Splits each table present on both sides with the same integer key into ranges, by the source's keys. */
async function planPieces(scope: TablesScope, relations: readonly Relation[]): Promise<Piece[]> {
  const [sourceKeys, targetKeys] = await Promise.all([onSide('source', integerKeys(scope.source)), onSide('target', integerKeys(scope.target))]);
  const planned: Piece[][] = new Array<Piece[]>(relations.length);
  await forEachLimited(relations, scope.jobs, async (relation, i) => {
    // A configuration table's condition is compared in one piece: they are small, and its WHERE takes no range beside it.
    const key = relation.condition ? undefined : sourceKeys.get(relation.key);
    const sameKey = key !== undefined && relation.onTarget && targetKeys.get(relation.key)?.column === key.column;
    const bounds = sameKey ? await onSide('source', keyBounds(scope.source, relation.schema, relation.name, key.column)) : null;
    const ranges = key && bounds ? splitKeys(key.column, bounds, key.estimatedRows, scope.rangeRows) : [];
    planned[i] = ranges.length === 0 ? [{ relation, range: null, index: 0 }] : ranges.map((range, index) => ({ relation, range, index }));
  });
  return planned.flat();
}

function outcomeOf(relation: Relation, pieces: readonly PieceResult[]): TableOutcome {
  const total = (side: 'source' | 'target'): bigint => pieces.reduce((sum, p) => sum + (p[side]?.rows ?? 0n), 0n);
  const sourceRows = total('source');
  const targetRows = total('target');
  const object = displayName(relation.schema, relation.name);
  const differing = pieces.filter((p) => p.source?.rows !== p.target?.rows || p.source?.sum !== p.target?.sum);
  const differences: VerifyDifference[] = [];
  if (!relation.onTarget) {
    differences.push({ kind: 'missing-table', object, expected: false, detail: `The source has it with ${sourceRows} rows; the destination has no such table` });
  } else if (!relation.onSource) {
    differences.push({ kind: 'extra-table', object, expected: false, detail: `Only the destination has it, with ${targetRows} rows` });
  } else if (sourceRows !== targetRows) {
    differences.push({ kind: 'rows', object, expected: false, detail: `The source has ${sourceRows} rows, the destination ${targetRows}${whereIn(differing, pieces.length)}` });
  } else if (differing.length > 0) {
    differences.push({ kind: 'checksum', object, expected: false, detail: `Same ${sourceRows} rows on both sides, with different content${whereIn(differing, pieces.length)}` });
  }
  return {
    relation,
    verification: {
      schema: relation.schema,
      table: relation.name,
      sourceRows: Number(sourceRows),
      targetRows: Number(targetRows),
      equal: differences.length === 0,
      ranges: pieces.length,
    },
    differences,
  };
}

/** Which key ranges differ, for a table checked in several: where to look first. */
function whereIn(differing: readonly PieceResult[], ranges: number): string {
  const [first] = differing;
  if (ranges <= 1 || !first?.range) return '';
  return ` (${differing.length} of ${ranges} key ranges differ, the first where ${describeRange(first.range)})`;
}

function describeRange(range: KeyRange): string {
  const column = readableIdent(range.column);
  if (range.from === null) return `${column} < ${range.to}`;
  if (range.to === null) return `${column} >= ${range.from}`;
  return `${column} >= ${range.from} and ${column} < ${range.to}`;
}
