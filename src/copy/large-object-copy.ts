/**
 * Copies large objects with their OIDs (tables refer to them by OID), in
 * chunks so a large one never sits in memory whole.
 */
import type { Sql } from 'postgres';
import { quoteIdent } from '../pg/identifiers.js';
import { listLargeObjects } from '../pg/queries/large-objects.js';

const CHUNK = 1024 * 1024;

/** `reader` is a source session already reading in the copy's snapshot. */
export async function copyLargeObjects(reader: Sql, target: Sql): Promise<number> {
  const objects = await listLargeObjects(reader);
  if (objects.length === 0) return 0;
  const [roles] = await target<{ names: string[] }[]>`select array(select rolname::text from pg_roles) as names`;
  const known = new Set(roles?.names ?? []);
  for (const { oid, owner } of objects) {
    await target.begin(async (writer) => {
      // A re-run after a crash finds some objects there already: start them over.
      await writer`select pg_catalog.lo_unlink(${oid}) from pg_largeobject_metadata where oid = ${oid}`;
      await writer`select pg_catalog.lo_create(${oid})`;
      for (let offset = 0; ; offset += CHUNK) {
        const [chunk] = await reader<{ data: Buffer }[]>`select pg_catalog.lo_get(${oid}, ${offset}, ${CHUNK}) as data`;
        const data = chunk?.data;
        if (!data || data.length === 0) break;
        await writer`select pg_catalog.lo_put(${oid}, ${offset}, ${data})`;
        if (data.length < CHUNK) break;
      }
      if (known.has(owner)) await writer.unsafe(`alter large object ${oid} owner to ${quoteIdent(owner)}`);
    });
  }
  return objects.length;
}
