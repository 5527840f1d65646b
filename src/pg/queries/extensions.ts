import type { Sql } from 'postgres';

export interface InstalledExtension {
  readonly name: string;
  readonly version: string;
}

/** Extensions installed in the connected database (plpgsql included), with their versions. */
export async function installedExtensions(sql: Sql): Promise<InstalledExtension[]> {
  const rows = await sql<InstalledExtension[]>`select extname as name, extversion as version from pg_extension order by extname`;
  return [...rows];
}

export interface AvailableExtension {
  readonly name: string;
  /** Every version the server can install. */
  readonly versions: readonly string[];
  /** A database owner may create it without superuser (PostgreSQL 13+ `trusted`). */
  readonly trusted: boolean;
}

/** Extensions the connected server can create. */
export async function availableExtensions(sql: Sql, major: number): Promise<AvailableExtension[]> {
  const rows =
    major >= 13
      ? await sql<AvailableExtension[]>`
          select name, array_agg(version order by version) as versions, bool_or(trusted) as trusted
          from pg_available_extension_versions group by name order by name`
      : await sql<AvailableExtension[]>`
          select name, array_agg(version order by version) as versions, false as trusted
          from pg_available_extension_versions group by name order by name`;
  return [...rows];
}
