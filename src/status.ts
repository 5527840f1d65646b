/**
 * The migration's status, per database and overall, and its rendering in the
 * managed service's JSON shape.
 *
 * @module
 */
import type { ReplicationPaths } from './strategies/replication/rights/paths.js';
import type { MigrationErrorKind } from './errors.js';

/** How a database's data moved: the service's names. */
export type DatabaseMethod = 'replication' | 'pg_dump';

/**
 * `pending` while planned and not started; `running` while schema or data
 * move; `done` once a dump is copied (or a replication was stopped after the
 * destination caught up); `syncing` while the destination follows the source
 * with every table ready, its rows there and the replication healthy;
 * `failed` with `error` set. `STATE_MEANINGS` in the state lifecycle says
 * each in full.
 */
export type DatabaseState = 'pending' | 'running' | 'syncing' | 'done' | 'failed';

/** How far a replicated destination is behind its source. */
export interface ReplicationLag {
  /** WAL the source has written that the destination has not confirmed applying; `null` when unknown. */
  readonly bytes: number | null;
  /** How long ago the destination was where it is; `null` when unknown. */
  readonly seconds: number | null;
}

/** One database's migration. */
export interface DatabaseStatus {
  /** The destination database's name. */
  readonly dbname: string;
  /** The source database's name, when it was copied under another (`databases: [{ source, target }]`). */
  readonly source?: string;
  readonly method: DatabaseMethod;
  readonly status: DatabaseState;
  readonly error: string | null;
  /** The kind of the failure, when `status` is `failed`. */
  readonly errorKind?: MigrationErrorKind | null;
  /** For a replicated database, its lag when status was read. */
  readonly lag?: ReplicationLag;
  /** For a replicated database, the rights it publishes and subscribes by (see the preflight report). */
  readonly rights?: ReplicationPaths | null;
  /**
   * For a replicated database, the name of its publication and replication
   * slot on the source and its subscription on the destination. It is this
   * migration's own: another destination taking the same source database has
   * objects of another name.
   */
  readonly replicationName?: string;
  /** Why replication was not used, when the method fell back to pg_dump. */
  readonly fallbackReasons: readonly string[];
  readonly startedAt: string | null;
  readonly updatedAt: string | null;
}

/**
 * The whole migration: every database plus the overall verdict.
 *
 * ### Examples
 * ```ts
 * const status = await migrator.status();
 * if (status.isOk()) for (const db of status.value.databases) logger.info(`${db.dbname}: ${db.method} ${db.status}${db.error ? ` (${db.error})` : ''}`);
 * ```
 */
export interface MigrationStatus {
  /**
   * `failed` if any database failed, `running` while any runs, `pending` while
   * any is planned but not started (or nothing was ever migrated), else `done`.
   */
  readonly status: 'pending' | 'running' | 'done' | 'failed';
  /** The databases' common method, or `''` when they differ or there are none. */
  readonly method: DatabaseMethod | '';
  /** The first database error, for the overall line. */
  readonly error: string | null;
  readonly databases: readonly DatabaseStatus[];
}

/**
 * The service's `migration-status` response, from {@link toServiceResponse}.
 *
 * ### Examples
 * ```ts
 * const status = await migrator.status();
 * if (status.isOk()) response.json(toServiceResponse(status.value)); // { migration: {...}, migration_detail: [...] }
 * ```
 */
export interface ServiceResponse {
  readonly migration: { readonly error: string | null; readonly method: string; readonly status: string };
  readonly migration_detail: readonly {
    readonly dbname: string;
    readonly error: string | null;
    readonly method: string;
    readonly status: string;
  }[];
}

/** Derives the overall fields from the databases' statuses. */
export function summarize(databases: readonly DatabaseStatus[]): MigrationStatus {
  const sorted = [...databases].sort((a, b) => a.dbname.localeCompare(b.dbname));
  const failed = sorted.find((d) => d.status === 'failed');
  const methods = new Set(sorted.map((d) => d.method));
  const [only] = [...methods];
  return {
    status: failed
      ? 'failed'
      : sorted.some((d) => d.status === 'running')
        ? 'running'
        : sorted.length === 0 || sorted.some((d) => d.status === 'pending')
          ? 'pending'
          : 'done',
    method: methods.size === 1 && only ? only : '',
    error: failed ? `${failed.dbname}: ${failed.error ?? 'failed'}` : null,
    databases: sorted,
  };
}

/**
 * The status exactly as the service reports it.
 *
 * ### Examples
 * ```ts
 * const status = await migrator.status();
 * if (status.isOk()) respond(toServiceResponse(status.value));
 * ```
 */
export function toServiceResponse(status: MigrationStatus): ServiceResponse {
  return {
    migration: { error: status.error, method: status.method, status: status.status },
    migration_detail: status.databases.map((d) => ({
      dbname: d.dbname,
      error: d.error,
      method: d.method,
      status: d.status,
    })),
  };
}
