/**
 * What the connected role may publish or subscribe in the connected database
 * without superuser: the facts behind each replication rights path.
 *
 * @module
 */
import type { Sql } from 'postgres';

/** The extension that lets a database owner publish and subscribe without superuser. */
export const EXTRAS_EXTENSION = 'datalakehouse_extras';

/** Tables named in a finding, at most; the count says how many more. */
const NAMED = 5;

export interface DatabaseRights {
  /** The role owns the database, or is a member of its owner. */
  readonly owner: boolean;
  /** `CREATE` on the database: needed to create a publication or, on 16+, a subscription. */
  readonly mayCreate: boolean;
  /** The extension is installed in this database. */
  readonly extras: boolean;
  /** Tables (and partitioned tables) the role does not own: a publication by table list must own them all. */
  readonly tablesNotOwned: TableSample;
  /** Tables the role cannot read: the extension publishes all tables only when it can read each. */
  readonly tablesUnreadable: TableSample;
}

export interface TableSample {
  readonly count: number;
  /** Up to five, as quoted `schema.table`. */
  readonly names: readonly string[];
}

export async function databaseRights(sql: Sql): Promise<DatabaseRights> {
  const [row] = await sql<{ owner: boolean; may_create: boolean; extras: boolean }[]>`
    select pg_has_role(current_user, d.datdba, 'member') as owner,
           has_database_privilege(current_user, d.oid, 'CREATE') as may_create,
           exists (select 1 from pg_extension where extname = ${EXTRAS_EXTENSION}) as extras
    from pg_database d where d.datname = current_database()`;
  const tables = await sql<{ name: string; owned: boolean; readable: boolean }[]>`
    select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name,
           pg_has_role(current_user, c.relowner, 'member') as owned,
           has_table_privilege(current_user, c.oid, 'SELECT') as readable
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname !~ '^pg_toast' and n.nspname !~ '^pg_temp'
      -- An extension's configuration tables are published with the user's: their rows are the user's (tables.ts).
      and (exists (select 1 from pg_extension x where c.oid = any (x.extconfig))
           or not exists (select 1 from pg_depend e where e.classid = 'pg_class'::regclass and e.objid = c.oid and e.deptype = 'e'))
    order by 1`;
  const sample = (names: string[]): TableSample => ({ count: names.length, names: names.slice(0, NAMED) });
  return {
    owner: row?.owner ?? false,
    mayCreate: row?.may_create ?? false,
    extras: row?.extras ?? false,
    tablesNotOwned: sample(tables.filter((t) => !t.owned).map((t) => t.name)),
    tablesUnreadable: sample(tables.filter((t) => !t.readable).map((t) => t.name)),
  };
}

/** Whether the server offers the extension, and whether a non-superuser database owner may create it. */
export interface ExtrasAvailability {
  readonly available: boolean;
  /** Marked trusted (PostgreSQL 13+): a database owner installs it without superuser. */
  readonly trusted: boolean;
}

export async function extrasAvailability(sql: Sql, major: number): Promise<ExtrasAvailability> {
  const rows =
    major >= 13
      ? await sql<{ trusted: boolean }[]>`
          select bool_or(trusted) as trusted from pg_available_extension_versions where name = ${EXTRAS_EXTENSION} having count(*) > 0`
      : await sql<{ trusted: boolean }[]>`
          select false as trusted from pg_available_extensions where name = ${EXTRAS_EXTENSION}`;
  return { available: rows.length > 0, trusted: rows[0]?.trusted ?? false };
}
