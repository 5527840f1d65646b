/**
 * Is a destination complete? Per table a row count and a content-sensitive
 * checksum (the sum of each row's hash, cheap enough for 10M rows), plus the
 * number of valid indexes and of constraints, compared with the source.
 */
import type { Cluster } from './clusters.js';

export interface DatabaseFingerprint {
  readonly tables: Readonly<Record<string, { readonly rows: number; readonly checksum: string }>>;
  readonly indexes: number;
  readonly constraints: number;
}

const USER_SCHEMAS = `n.nspname not in ('pg_catalog', 'information_schema', 'datalakehouse_migrate') and n.nspname not like 'pg\\_%'`;

export async function fingerprintDatabase(cluster: Cluster, database: string): Promise<DatabaseFingerprint> {
  const sql = cluster.sql(database);
  const names = await sql.unsafe<{ schema: string; name: string }[]>(
    `select n.nspname as schema, c.relname as name
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'r' and ${USER_SCHEMAS}
     order by 1, 2`,
  );
  const tables: Record<string, { rows: number; checksum: string }> = {};
  const queue = [...names];
  // The harness's pool holds four connections; four tables are read at once.
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const [row] = await sql<{ rows: string; checksum: string }[]>`
        select count(*)::text as rows, coalesce(sum(hashtext(t::text)::bigint), 0)::text as checksum
        from only ${sql(next.schema)}.${sql(next.name)} t`;
      tables[`${next.schema}.${next.name}`] = { rows: Number(row?.rows ?? 0), checksum: row?.checksum ?? '' };
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const [counts] = await sql.unsafe<{ indexes: number; constraints: number }[]>(
    `select (select count(*)::int from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
             where i.indisvalid and ${USER_SCHEMAS}) as indexes,
            (select count(*)::int from pg_constraint k join pg_namespace n on n.oid = k.connamespace
             where k.contype in ('p', 'u', 'f', 'c', 'x') and ${USER_SCHEMAS}) as constraints`,
  );
  return { tables, indexes: counts?.indexes ?? 0, constraints: counts?.constraints ?? 0 };
}

/** What differs between the source's fingerprint and a destination's; empty when complete. */
export function differences(expected: DatabaseFingerprint, actual: DatabaseFingerprint): string[] {
  const problems: string[] = [];
  for (const [table, want] of Object.entries(expected.tables)) {
    const got = actual.tables[table];
    if (!got) problems.push(`${table} missing`);
    else if (got.rows !== want.rows) problems.push(`${table}: ${got.rows} rows, expected ${want.rows}`);
    else if (got.checksum !== want.checksum) problems.push(`${table}: checksum differs`);
  }
  for (const table of Object.keys(actual.tables)) if (!(table in expected.tables)) problems.push(`${table} not on the source`);
  if (actual.indexes !== expected.indexes) problems.push(`${actual.indexes} valid indexes, expected ${expected.indexes}`);
  if (actual.constraints !== expected.constraints) problems.push(`${actual.constraints} constraints, expected ${expected.constraints}`);
  return problems;
}
