/**
 * Compares large objects by id and by an MD5 of their content. PostgreSQL
 * does not replicate them: while a database replicates, objects created or
 * changed on the source since the initial copy are not on the destination,
 * so a difference then is expected.
 *
 * @module
 */
import type { Sql } from 'postgres';
import type { VerifyDifference } from './report.js';
import { onSide } from './verify-sessions.js';

/** Enough to act on; a database missing millions of objects would otherwise make a report of millions of lines. */
const MAX_LISTED = 1000;

const REPLICATING_HINT =
  'PostgreSQL does not replicate large objects: ones written, changed or removed on the source since the initial copy reach the destination at stop() or cutover().';

/** Every large object's id and the MD5 of its content. */
export async function largeObjectDigests(sql: Sql): Promise<Map<string, string>> {
  const rows = await sql<{ id: string; md5: string }[]>`
    select oid::text as id, md5(lo_get(oid)) as md5 from pg_catalog.pg_largeobject_metadata order by oid`;
  return new Map(rows.map((r) => [r.id, r.md5]));
}

export async function compareLargeObjects(source: Sql, target: Sql, options: { replicating: boolean }): Promise<VerifyDifference[]> {
  const [onSource, onTarget] = await Promise.all([onSide('source', largeObjectDigests(source)), onSide('target', largeObjectDigests(target))]);
  return largeObjectDifferences(onSource, onTarget, options);
}

export function largeObjectDifferences(
  onSource: ReadonlyMap<string, string>,
  onTarget: ReadonlyMap<string, string>,
  options: { replicating: boolean },
): VerifyDifference[] {
  const found: { id: string; detail: string }[] = [];
  for (const [id, digest] of onSource) {
    const other = onTarget.get(id);
    if (other === undefined) found.push({ id, detail: 'The source has it; the destination does not' });
    else if (other !== digest) found.push({ id, detail: `Its content differs (MD5 ${digest} on the source, ${other} on the destination)` });
  }
  for (const id of onTarget.keys()) {
    if (!onSource.has(id)) found.push({ id, detail: 'Only the destination has it' });
  }
  const expected = options.replicating;
  const extra = expected ? { hint: REPLICATING_HINT } : {};
  const listed: VerifyDifference[] = found
    .slice(0, MAX_LISTED)
    .map(({ id, detail }) => ({ kind: 'large-object', object: `large object ${id}`, expected, detail, ...extra }));
  if (found.length > MAX_LISTED) {
    listed.push({ kind: 'large-object', object: 'large objects', expected, detail: `${found.length - MAX_LISTED} more large objects differ`, ...extra });
  }
  return listed;
}
