/**
 * What {@link Migrator.verify} finds: per database, a verdict, every table's
 * row counts on both sides, and every difference named. Plain data, safe to
 * log or return as JSON as it is.
 *
 * @module
 */
import type { DatabaseMethod } from '../status.js';

/** Options of {@link Migrator.verify}. */
export interface VerifyOptions {
  /**
   * How long to wait, per replicated database, for the destination to apply
   * what the source had written when the verification began (milliseconds;
   * default 60000). A destination that does not catch up in time is
   * compared anyway and reported `unverifiable`.
   */
  readonly catchUpTimeoutMs?: number;
  /**
   * About how many rows one checksum query reads: a table with a
   * single-column integer primary key is checked in key ranges of this many
   * rows, `jobs` of them at once on each side (default 1000000).
   */
  readonly rangeRows?: number;
}

/**
 * A database's verdict. `equal`: every table, sequence, large object and
 * materialized view matches (expected differences aside). `different`: at
 * least one difference that is not expected. `unverifiable`: the comparison
 * cannot prove anything either way (a replica that did not catch up, an
 * object that could not be read); `reason` says why. `skipped`: its
 * migration is not `done` or `syncing`, so there is nothing to verify yet.
 */
export type VerifyVerdict = 'equal' | 'different' | 'unverifiable' | 'skipped';

/** What kind of object differs. */
export type VerifyDifferenceKind =
  | 'missing-table'
  | 'extra-table'
  | 'rows'
  | 'checksum'
  | 'sequence'
  | 'large-object'
  | 'materialized-view';

/** One difference between the source and the destination. */
export interface VerifyDifference {
  readonly kind: VerifyDifferenceKind;
  /** The object, as it would be typed in SQL: `public.orders`, `"Sales"."Q1"`, `large object 16401`. */
  readonly object: string;
  /**
   * True for a difference the migration's state explains: sequences, large
   * objects and materialized views of a database that is still replicating
   * (PostgreSQL carries none of them; `hint` says when they are brought level).
   */
  readonly expected: boolean;
  /** What differs, with the values on each side. */
  readonly detail: string;
  readonly hint?: string;
}

/** One table compared. A table on one side only has 0 rows on the other. */
export interface TableVerification {
  readonly schema: string;
  readonly table: string;
  readonly sourceRows: number;
  readonly targetRows: number;
  /** Same rows (count and content checksum) on both sides. */
  readonly equal: boolean;
  /** How many checksum queries each side ran for it: 1 for one scan, more for key ranges. */
  readonly ranges: number;
}

/** One database's verification. */
export interface DatabaseVerification {
  readonly dbname: string;
  readonly method: DatabaseMethod;
  readonly status: VerifyVerdict;
  /** Why it is `unverifiable` or `skipped`, or what made it `different` before any table was compared. */
  readonly reason?: string;
  readonly tables: readonly TableVerification[];
  readonly differences: readonly VerifyDifference[];
  readonly durationMs: number;
}

/**
 * The whole verification.
 *
 * ### Examples
 * ```ts
 * const report = await migrator.verify();
 * if (report.isOk() && !report.value.ok) {
 *   for (const db of report.value.databases) for (const d of db.differences.filter((d) => !d.expected)) logger.warn(`${db.dbname} ${d.object}: ${d.detail}`);
 * }
 * ```
 */
export interface VerifyReport {
  /** True only when at least one database was verified and every selected database is `equal`. */
  readonly ok: boolean;
  readonly databases: readonly DatabaseVerification[];
}

/** `ok` as {@link VerifyReport} defines it. */
export function reportOk(databases: readonly DatabaseVerification[]): boolean {
  return databases.length > 0 && databases.every((db) => db.status === 'equal');
}
