/**
 * Fingerprints of a database's contents, compared between source and
 * destination: row count and checksum per table, sequence positions, large
 * objects.
 */
import type { Sql } from 'postgres';

export interface Fingerprint {
  readonly tables: Record<string, { rows: number; checksum: string }>;
  readonly sequences: Record<string, { lastValue: string | null; isCalled: boolean }>;
  readonly largeObjects: Record<string, string>;
}

export async function fingerprint(sql: Sql): Promise<Fingerprint> {
  const tables = await sql<{ schema: string; name: string }[]>`
    select n.nspname as schema, c.relname as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema', 'datalakehouse_migrate')
      and n.nspname not like 'pg\\_%'
      -- An extension's own tables are its script's to fill, on each side.
      and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
    order by 1, 2`;
  const result: Fingerprint = { tables: {}, sequences: {}, largeObjects: {} };
  for (const { schema, name } of tables) {
    const [row] = await sql<{ rows: string; checksum: string | null }[]>`
      select count(*)::text as rows, md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as checksum
      from only ${sql(schema)}.${sql(name)} t`;
    result.tables[`${schema}.${name}`] = { rows: Number(row?.rows), checksum: row?.checksum ?? '' };
  }
  const sequences = await sql<{ schema: string; name: string }[]>`
    select schemaname as schema, sequencename as name from pg_sequences order by 1, 2`;
  for (const { schema, name } of sequences) {
    const [row] = await sql<{ last_value: string; is_called: boolean }[]>`
      select last_value::text, is_called from ${sql(schema)}.${sql(name)}`;
    result.sequences[`${schema}.${name}`] = { lastValue: row?.last_value ?? null, isCalled: row?.is_called ?? false };
  }
  const objects = await sql<{ oid: string; checksum: string }[]>`
    select oid::text, md5(lo_get(oid)) as checksum from pg_largeobject_metadata order by oid`;
  for (const { oid, checksum } of objects) result.largeObjects[oid] = checksum;
  return result;
}

/** Polls `probe` until it holds, or fails after `timeoutMs` saying what it waited for. */
export async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Resolves with `promise`, or fails once `ms` passed: a hang is a defect too. */
export async function within<T>(ms: number, what: string, promise: PromiseLike<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
