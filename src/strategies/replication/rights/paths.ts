/**
 * Which right lets the migration publish on the source and subscribe on the
 * destination, per database and side, chosen from facts: the rules, with
 * what is missing and the statement that grants it when no path is open.
 * Preflight reports the choice; the strategy makes the same choice again
 * from the live databases when it acts, so a grant given between the two
 * is used, and a right taken away is an error rather than a surprise.
 *
 * @module
 */
import { readableIdent } from '../../../pg/identifiers.js';
import { EXTRAS_EXTENSION, type DatabaseRights, type ExtrasAvailability } from '../../../pg/queries/publishing-rights.js';
import type { ManagedService } from '../../../pg/queries/managed-service.js';
import type { RoleRights } from '../../../pg/queries/role-rights.js';

/**
 * How the source publishes:
 * - `superuser`: a publication for all tables;
 * - `rds_superuser`: the same, as RDS's administrator;
 * - `extension`: through `datalakehouse_extras` in the source database, for all tables;
 * - `table-owner`: a publication listing the tables, which the role owns.
 * Each needs a role that may open replication connections, for the slot.
 */
export type SourcePath = 'superuser' | 'rds_superuser' | 'extension' | 'table-owner';

/**
 * How the destination subscribes:
 * - `superuser`: `CREATE SUBSCRIPTION`;
 * - `extension`: through `datalakehouse_extras` in the destination database;
 * - `pg_create_subscription`: PostgreSQL 16+, a member of that role with CREATE on the database.
 */
export type TargetPath = 'superuser' | 'extension' | 'pg_create_subscription';

export interface ReplicationPaths {
  readonly source: SourcePath;
  readonly target: TargetPath;
}

/** A path, or what is missing for every path and the statements that would open one. */
export type PathChoice<P> =
  | { readonly ok: true; readonly path: P; readonly detail: string }
  | { readonly ok: false; readonly missing: string; readonly fix: string };

export interface SourceSide {
  readonly dbname: string;
  /** The source's major version: before 13 an extension cannot be trusted, so only a superuser installs one. */
  readonly major: number;
  readonly rights: RoleRights;
  readonly database: DatabaseRights;
  /** The managed service the source runs on, when its facts tell: hints are worded for it. */
  readonly service: ManagedService | null;
}

export function chooseSourcePath({ dbname, major, rights, database, service }: SourceSide): PathChoice<SourcePath> {
  const user = readableIdent(rights.username);
  const db = readableIdent(dbname);
  const rds = service === 'rds';
  if (service === 'cloudsql') {
    return {
      ok: false,
      missing: 'the source is Google Cloud SQL, which does not offer logical replication to this service',
      fix: 'Cloud SQL databases are migrated by dump (method auto does so by itself).',
    };
  }
  if (rights.superuser) return { ok: true, path: 'superuser', detail: `${rights.username} is a superuser on the source` };
  if (!rights.replication) {
    return {
      ok: false,
      missing: `${rights.username} may not open replication connections on the source (no REPLICATION attribute)`,
      fix: rds ? `GRANT rds_replication TO ${user};` : `ALTER ROLE ${user} REPLICATION; (as a superuser of the source)`,
    };
  }
  if (rights.rdsSuperuser) return { ok: true, path: 'rds_superuser', detail: `${rights.username} is a member of rds_superuser` };
  if (database.extras && database.owner && database.tablesUnreadable.count === 0) {
    return { ok: true, path: 'extension', detail: `${EXTRAS_EXTENSION} is installed in "${dbname}" on the source and ${rights.username} owns the database` };
  }
  if (database.tablesNotOwned.count === 0 && database.mayCreate) {
    return { ok: true, path: 'table-owner', detail: `${rights.username} owns every table of "${dbname}" and publishes them by name` };
  }
  const reasons: string[] = [];
  const fixes: string[] = [];
  const grantCreate = database.mayCreate ? '' : ` GRANT CREATE ON DATABASE ${db} TO ${user};`;
  if (!database.mayCreate) reasons.push(`may not create a publication in "${dbname}" (no CREATE on the database)`);
  if (database.tablesNotOwned.count > 0) {
    reasons.push(`does not own ${describe(database.tablesNotOwned)}`);
    fixes.push(`CREATE EXTENSION ${EXTRAS_EXTENSION} CASCADE; in "${dbname}" on the source (${major >= 13 ? 'as its owner' : `as a superuser: it is not trusted on PostgreSQL ${major}`})`);
    const more = database.tablesNotOwned.count > database.tablesNotOwned.names.length ? ' …' : '';
    fixes.push(`${database.tablesNotOwned.names.map((t) => `ALTER TABLE ${t} OWNER TO ${user};`).join(' ')}${more}${grantCreate}`);
  } else if (grantCreate) {
    fixes.push(grantCreate.trim());
  }
  if (database.extras && !database.owner) reasons.push(`does not own "${dbname}", so it may not use ${EXTRAS_EXTENSION} there`);
  if (database.extras && database.tablesUnreadable.count > 0) reasons.push(`cannot read ${describe(database.tablesUnreadable)}`);
  fixes.push(rds ? 'connect as a member of rds_superuser' : 'connect to the source as a superuser');
  return { ok: false, missing: `${rights.username} ${reasons.join(', and ')}`, fix: alternatives(fixes) };
}

export interface TargetSide {
  readonly dbname: string;
  readonly rights: RoleRights;
  readonly major: number;
  /** The destination database as it is, or `null` when the migration will create it (and own it). */
  readonly database: DatabaseRights | null;
  readonly extras: ExtrasAvailability;
}

export function chooseTargetPath({ dbname, rights, major, database, extras }: TargetSide): PathChoice<TargetPath> {
  const user = readableIdent(rights.username);
  if (rights.superuser) return { ok: true, path: 'superuser', detail: `${rights.username} is a superuser on the destination` };
  // A database the migration creates is its own; an existing one must be the role's to install or use the extension.
  const owner = database === null ? rights.createdb : database.owner;
  if (database?.extras && owner) {
    return { ok: true, path: 'extension', detail: `${EXTRAS_EXTENSION} is installed in "${dbname}" on the destination` };
  }
  // The server's own right before installing anything into the user's database.
  const mayCreate = database === null ? rights.createdb : database.mayCreate;
  if (major >= 16 && rights.createSubscription && mayCreate) {
    return { ok: true, path: 'pg_create_subscription', detail: `${rights.username} is a member of pg_create_subscription` };
  }
  const installable = extras.available && extras.trusted && major >= 13;
  if (installable && owner) {
    return { ok: true, path: 'extension', detail: `${EXTRAS_EXTENSION} will be installed in "${dbname}" on the destination` };
  }
  const fixes: string[] = [];
  if (!extras.available) fixes.push(`install the ${EXTRAS_EXTENSION} extension on the destination server (extension/ in this package)`);
  else if (!owner) fixes.push(`CREATE EXTENSION ${EXTRAS_EXTENSION} CASCADE; in "${dbname}" on the destination (as its owner)`);
  else if (!installable) fixes.push(`CREATE EXTENSION ${EXTRAS_EXTENSION} CASCADE; in "${dbname}" on the destination (as a superuser: it is not trusted on PostgreSQL ${major})`);
  if (major >= 16) {
    if (!rights.createSubscription) fixes.push(`GRANT pg_create_subscription TO ${user};`);
    if (!mayCreate) fixes.push(`GRANT CREATE ON DATABASE ${readableIdent(dbname)} TO ${user};`);
  }
  fixes.push('connect to the destination as a superuser');
  return {
    ok: false,
    missing: `${rights.username} is not a superuser on the destination, ${EXTRAS_EXTENSION} is not usable in "${dbname}"${major >= 16 ? ', and it may not subscribe through pg_create_subscription' : ''}`,
    fix: alternatives(fixes),
  };
}

/** Ways to open a path, each sufficient: "One of: a | b | c". */
function alternatives(fixes: readonly string[]): string {
  return fixes.length === 1 ? (fixes[0] as string) : `Any one of: ${fixes.map((f, i) => `(${i + 1}) ${f}`).join(' ')}`;
}

function describe(sample: { count: number; names: readonly string[] }): string {
  const more = sample.count > sample.names.length ? ` and ${sample.count - sample.names.length} more` : '';
  return `${sample.count === 1 ? 'table' : `${sample.count} tables`} ${sample.names.join(', ')}${more}`;
}
