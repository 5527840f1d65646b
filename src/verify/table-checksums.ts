/**
 * A relation's rows as two numbers: how many, and the sum of a 64-bit hash
 * of each row's text. The sum does not depend on the order rows are read in,
 * so any scan of either side gives the same figure for the same rows, and
 * one changed value changes it (but for a 2^-64 chance). Each row is hashed
 * as its composite text in UTF-8, so two databases of different encodings
 * hash the same characters alike; the session's pinned settings make both
 * servers render each value alike (see pinned-settings.ts).
 *
 * @module
 */
import type { Sql } from 'postgres';
import type { KeyRange } from './key-ranges.js';

export interface Checksum {
  readonly rows: bigint;
  readonly sum: bigint;
}

/**
 * The checksum of the rows of `schema.name` (that relation only, not its
 * inheritance children or partitions), within `range` when given, or those
 * `condition` selects (an extension configuration table's `WHERE` clause,
 * as pg_dump applies it).
 */
export async function checksumOf(sql: Sql, schema: string, name: string, range: KeyRange | null, condition: string | null = null): Promise<Checksum> {
  // The condition is written against the table's own name and columns: it filters them before the alias r names
  // whole rows. `r.*` names the whole row even when the table has a column called r.
  const rows = condition ? sql`(select * from only ${sql(schema)}.${sql(name)} ${sql.unsafe(condition)})` : sql`only ${sql(schema)}.${sql(name)}`;
  const [row] = await sql<{ rows: string; sum: string }[]>`
    select count(*)::text as rows,
           coalesce(sum(('x' || substr(md5(convert_to((r.*)::text, 'UTF8')), 1, 16))::bit(64)::bigint), 0)::text as sum
    from ${rows} r
    ${range ? within(sql, range) : sql``}`;
  return { rows: BigInt(row?.rows ?? 0), sum: BigInt(row?.sum ?? 0) };
}

function within(sql: Sql, range: KeyRange) {
  const column = sql(range.column);
  if (range.from === null && range.to === null) return sql``;
  if (range.from === null) return sql`where ${column} < ${String(range.to)}::int8`;
  if (range.to === null) return sql`where ${column} >= ${String(range.from)}::int8`;
  return sql`where ${column} >= ${String(range.from)}::int8 and ${column} < ${String(range.to)}::int8`;
}
