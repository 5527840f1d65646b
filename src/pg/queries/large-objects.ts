import type { Sql } from 'postgres';

export interface LargeObjectInfo {
  readonly oid: number;
  readonly owner: string;
}

export async function listLargeObjects(sql: Sql): Promise<LargeObjectInfo[]> {
  const rows = await sql<{ oid: number; owner: string }[]>`
    select oid::bigint::float8 as oid, pg_get_userbyid(lomowner) as owner
    from pg_largeobject_metadata order by oid`;
  return rows.map((r) => ({ oid: Number(r.oid), owner: r.owner }));
}

export async function countLargeObjects(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from pg_largeobject_metadata`;
  return row?.n ?? 0;
}
