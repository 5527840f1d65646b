/**
 * Copies large objects with their OIDs (tables refer to them by OID), in
 * chunks so a large one never sits in memory whole.
 */
import type { Sql } from 'postgres';
import { quoteIdent } from '../pg/identifiers.js';
import { listLargeObjects } from '../pg/queries/large-objects.js';

const CHUNK = 1024 * 1024;

/** `reader` is a source session already reading in the copy's snapshot; `only` limits the copy to those OIDs. */
export async function copyLargeObjects(reader: Sql, target: Sql, only?: ReadonlySet<number>): Promise<number> {
  const objects = (await listLargeObjects(reader)).filter((o) => !only || only.has(o.oid));
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

/**
 * Makes the destination's large objects the source's as they are now:
 * logical replication carries none, so one written, changed or removed on
 * the source after the initial copy is brought over here (by stop() and
 * cutover()). Objects are compared by an MD5 of their content; returns how
 * many were copied or removed.
 */
export async function syncLargeObjects(source: Sql, target: Sql): Promise<number> {
  const [from, to] = await Promise.all([contentDigests(source), contentDigests(target)]);
  const changed = new Set([...from].filter(([oid, digest]) => to.get(oid) !== digest).map(([oid]) => oid));
  const gone = [...to.keys()].filter((oid) => !from.has(oid));
  for (const oid of gone) await target`select pg_catalog.lo_unlink(${oid})`;
  if (changed.size > 0) await copyLargeObjects(source, target, changed);
  return changed.size + gone.length;
}

async function contentDigests(sql: Sql): Promise<Map<number, string>> {
  const rows = await sql<{ oid: number; digest: string }[]>`
    select oid::bigint::float8 as oid, md5(pg_catalog.lo_get(oid)) as digest from pg_largeobject_metadata`;
  return new Map(rows.map((r) => [Number(r.oid), r.digest]));
}
