import type { Sql } from 'postgres';

/** Extensions installed in the connected database (plpgsql included). */
export async function installedExtensions(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`select extname as name from pg_extension order by extname`;
  return rows.map((r) => r.name);
}

/** Extensions the connected server can create. */
export async function availableExtensions(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`select name from pg_available_extensions order by name`;
  return rows.map((r) => r.name);
}
