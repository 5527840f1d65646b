/**
 * What a preflight finds: every check with its verdict and fix, and per
 * database the method chosen and why.
 *
 * @module
 */
import type { Side } from '../pg/connect.js';
import type { DatabaseMethod } from '../status.js';
import type { ReplicationPaths } from '../strategies/replication/rights/paths.js';

/**
 * Every check the preflight runs, by id, in the order the report lists them.
 *
 * ### Examples
 * ```ts
 * import { CHECK_IDS, type CheckId } from 'datalakehouse-db-migrate';
 *
 * // Validating a `--skip-check` flag of a wrapping CLI:
 * const isCheckId = (value: string): value is CheckId => (CHECK_IDS as readonly string[]).includes(value);
 * ```
 */
export const CHECK_IDS = Object.freeze([
  'distinct-clusters',
  'server-versions',
  'replication-version',
  'pg-dump',
  'wal-level',
  'source-privileges',
  'target-privileges',
  'target-createdb',
  'role-passwords',
  'replication-capacity',
  'requested-databases',
  'target-database',
  'table-selection',
  'extensions',
  'extension-versions',
  'toast-compression',
  'replica-identity',
  'unlogged-tables',
  'large-objects',
] as const);

/**
 * A check's stable id: see {@link CHECK_IDS} for the list and
 * `docs/preflight-checks.md` for what each checks and how to fix it.
 *
 * ### Examples
 * ```ts
 * const report = await migrator.preflight();
 * const walLevel = report.isOk() ? report.value.checks.find((check) => check.id === 'wal-level') : undefined;
 * ```
 */
export type CheckId = (typeof CHECK_IDS)[number];

/** `pass`, `warn` (works, with a caveat or a fallback), or `fail` (blocks what `blocks` says). */
export type CheckStatus = 'pass' | 'warn' | 'fail';

/** What a check is about, whatever its verdict. */
export interface CheckSubject {
  /** Stable identifier, e.g. `wal-level` or `replica-identity`. */
  readonly id: CheckId;
  readonly message: string;
  /** What to do about a warn or fail. */
  readonly hint?: string;
  readonly side?: Side;
  /** Set when the check concerns one database. */
  readonly database?: string;
  /**
   * What an unmet condition blocks: `replication` (that method only, so `auto`
   * falls back to dump) or `migration` (every method).
   */
  readonly blocks?: 'replication' | 'migration';
}

/** One check's verdict. */
export interface CheckResult extends CheckSubject {
  readonly status: CheckStatus;
}

/** The plan for one database. */
export interface DatabasePlan {
  /** The destination database's name. */
  readonly dbname: string;
  /** The source database's name, when the caller copies it under another (`databases: [{ source, target }]`). */
  readonly source?: string;
  /** The method it will use; `null` when nothing can migrate it. */
  readonly method: DatabaseMethod | null;
  /**
   * What the run does with it: `create` the destination database, `fill` an
   * existing empty one, `keep` a finished one, `resume` its replication,
   * `redo` an unfinished attempt in a database this migration created, or
   * `refuse` (see `blockers`).
   */
  readonly action: 'create' | 'fill' | 'keep' | 'resume' | 'redo' | 'refuse';
  /** For a replicated database, the rights it publishes and subscribes by; `null` otherwise. */
  readonly rights: ReplicationPaths | null;
  /** Why replication cannot be used (the fallback's reasons); empty when it can. */
  readonly replicationBlockers: readonly string[];
  /** Why the database cannot be migrated at all under the chosen `method` option. */
  readonly blockers: readonly string[];
}

/** A server as preflight saw it. */
export interface ServerSummary {
  readonly version: string;
  readonly major: number;
  readonly walLevel: string;
  readonly username: string;
  readonly superuser: boolean;
}

/**
 * The preflight's whole answer.
 *
 * ### Examples
 * ```ts
 * const report = await migrator.preflight();
 * if (report.isOk()) {
 *   for (const check of report.value.checks.filter((c) => c.status !== 'pass')) logger.warn(`${check.id}: ${check.message} — ${check.hint ?? ''}`);
 *   for (const db of report.value.databases) logger.info(`${db.dbname}: ${db.method ?? 'blocked'} (${db.action})`);
 * }
 * ```
 */
export interface PreflightReport {
  /** False when any check failed: something will not migrate. */
  readonly ok: boolean;
  readonly source: ServerSummary;
  readonly target: ServerSummary;
  readonly pgDump: { readonly binDir: string; readonly version: string } | null;
  readonly checks: readonly CheckResult[];
  readonly databases: readonly DatabasePlan[];
}
