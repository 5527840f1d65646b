/**
 * Splitting a table into primary-key ranges, so a big table is checksummed
 * by several queries at once instead of one long scan. Only a single-column
 * integer primary key qualifies: its ranges are index range scans, bound by
 * plain numbers. The first and last ranges are open, so a row outside the
 * source's key span (one that only the destination has) is still counted.
 *
 * @module
 */
import type { Sql } from 'postgres';
import { tableKey } from './table-key.js';

/** Keys `[from, to)` of `column`; a `null` end is open. */
export interface KeyRange {
  readonly column: string;
  readonly from: bigint | null;
  readonly to: bigint | null;
}

/** A table's single-column integer primary key, and the source's estimate of its rows. */
export interface IntegerKey {
  readonly column: string;
  /** `pg_class.reltuples`: negative (PostgreSQL 14+) or 0 until the table was first vacuumed or analyzed. */
  readonly estimatedRows: number;
}

/** More ranges than this cost more in round trips than they save. */
const MAX_RANGES = 10_000;

/** The tables whose primary key is one `smallint`, `integer` or `bigint` column, by {@link tableKey}. */
export async function integerKeys(sql: Sql): Promise<Map<string, IntegerKey>> {
  // 20, 21, 23: int8, int2, int4 (fixed OIDs; a type named int4 in a user schema is not one of them).
  const rows = await sql<{ schema: string; name: string; column: string; estimate: number }[]>`
    select n.nspname as schema, c.relname as name, a.attname::text as column, c.reltuples::float8 as estimate
    from pg_index i
    join pg_class c on c.oid = i.indrelid
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum = i.indkey[0]
    where i.indisprimary and i.indnatts = 1 and a.atttypid in (20, 21, 23) and c.relkind = 'r'`;
  return new Map(rows.map((r) => [tableKey(r.schema, r.name), { column: r.column, estimatedRows: Number(r.estimate) }]));
}

/** The smallest and largest key of the table; `null` when it has no rows. */
export async function keyBounds(sql: Sql, schema: string, name: string, column: string): Promise<{ min: bigint; max: bigint } | null> {
  const [row] = await sql<{ min: string | null; max: string | null }[]>`
    select min(${sql(column)})::text as min, max(${sql(column)})::text as max from only ${sql(schema)}.${sql(name)}`;
  return row?.min != null && row.max != null ? { min: BigInt(row.min), max: BigInt(row.max) } : null;
}

/**
 * Ranges of about `rangeRows` rows each over keys `min..max`, or `[]` when
 * one scan is enough. Rows are estimated from `estimatedRows` when the
 * server has one, else from the key span (as if every key were taken); the
 * span caps the estimate, since a key cannot hold two rows.
 */
export function splitKeys(column: string, bounds: { min: bigint; max: bigint }, estimatedRows: number, rangeRows: number): KeyRange[] {
  const span = bounds.max - bounds.min + 1n;
  const known = Number.isFinite(estimatedRows) && estimatedRows > 0;
  const rows = known ? bigMin(BigInt(Math.ceil(estimatedRows)), span) : span;
  const perRange = BigInt(Math.max(1, Math.floor(rangeRows)));
  const count = bigMin((rows + perRange - 1n) / perRange, BigInt(MAX_RANGES));
  if (count <= 1n) return [];
  const step = (span + count - 1n) / count;
  const ranges: KeyRange[] = [];
  for (let i = 0n; i < count; i++) {
    const from = i === 0n ? null : bounds.min + i * step;
    const to = i === count - 1n ? null : bounds.min + (i + 1n) * step;
    // A rounded-up step can leave the last ranges past max: they would hold nothing but the open end.
    if (from !== null && from > bounds.max) break;
    ranges.push({ column, from, to });
  }
  const last = ranges.at(-1);
  if (last && last.to !== null) ranges[ranges.length - 1] = { ...last, to: null };
  return ranges;
}

function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
