/**
 * The one interface both ways of moving data share. A strategy gets a
 * database whose schema is ready to apply and decides when pre- and
 * post-data go in around its data; the Migrator never needs to know which
 * strategy it runs.
 *
 * @module
 */
import type { ResultAsync } from 'neverthrow';
import type { MigrationError } from '../errors.js';
import type { Emit } from '../events.js';
import type { ConnectionConfig } from '../options.js';
import type { Connection } from '../pg/connect.js';
import type { Redactor } from '../redact.js';
import type { Budget } from '../util/budget.js';
import type { DatabaseSchema } from '../schema/schema-sync.js';
import type { DatabaseMethod, ReplicationLag } from '../status.js';
import type { ReplicationPaths } from './replication/rights/paths.js';
import type { TableFilter } from '../selection/table-filter.js';

/** What a strategy works with for one database. */
export interface DatabaseJob {
  /** The destination database's name: the one status and events use. */
  readonly dbname: string;
  /** The source database's name; differs from `dbname` for a database copied under another name. */
  readonly sourceDbname: string;
  /**
   * The name of this migration's publication and slot on the source and its
   * subscription on the destination, as its record keeps it. Other
   * destinations of the same source database have names of their own: a
   * strategy acts on objects of this name only.
   */
  readonly replicationName: string;
  /** A pool on the source database, with room for `jobs + 1` connections. */
  readonly source: Connection;
  /** A pool on the destination database. */
  readonly target: Connection;
  readonly sourceConfig: ConnectionConfig;
  readonly redactor: Redactor;
  readonly emit: Emit;
  readonly jobs: number;
  /** The run's copy slots, shared with every other database moving at the same time. */
  readonly budget: Budget;
  readonly pollIntervalMs: number;
  readonly syncTimeoutMs: number;
  /** A replication lagging by more than this is unhealthy. */
  readonly maxLagBytes: number;
  /** Which tables of the database migrate; `null`: every one. */
  readonly tables: TableFilter | null;
  /** The caller's cancellation: the job's sessions close when it fires, and every wait ends. */
  readonly signal?: AbortSignal | undefined;
}

/** A database whose schema must still be applied, or one an earlier run left to resume. */
export type MigrationStart =
  | { readonly kind: 'fresh'; readonly schema: DatabaseSchema }
  | { readonly kind: 'resume' };

/** What a database reached: a one-time copy is `done`, a replication `syncing`. */
export type ReachedState = 'done' | 'syncing';

/** Where {@link MigrationStrategy.migrate} left a database. */
export interface Reached {
  readonly state: ReachedState;
  /** Apply and sync errors the subscription had counted by then; errors beyond it are news. */
  readonly applyErrorsBaseline: number;
  /** For a replication, the rights it publishes and subscribes by. */
  readonly rights?: ReplicationPaths;
}

/** A look at a settled database: whether it still holds what its state claims. */
export interface Inspection {
  /** What is wrong, with the fix; `null` when nothing is. */
  readonly problem: { readonly message: string; readonly hint: string } | null;
  /** For a replication: how far the destination is behind. */
  readonly lag?: ReplicationLag;
}

/** Whether the destination applied everything the source had written when the wait began. */
export interface CatchUpResult {
  readonly caughtUp: boolean;
  /** What was still missing when the wait gave up, for the message. */
  readonly behind?: string;
}

/** How a database's migration ends. */
export interface StopOptions {
  /**
   * The destination stands on its own afterwards (`stop()`, `cutover()`),
   * rather than being dropped or started over: whatever the migration left
   * to be done later (a replication's planner statistics) is done now.
   */
  readonly standalone?: boolean;
  /**
   * The caller's cancellation, heeded until the subscription is about to be
   * dropped and no longer after: a stop half done leaves a destination that
   * follows nothing and a slot holding WAL on the source. The job's own
   * sessions must then not close when it fires.
   */
  readonly signal?: AbortSignal | undefined;
}

export interface MigrationStrategy {
  readonly method: DatabaseMethod;
  /** Moves the data; resolves once the database reached its resting state. */
  migrate(job: DatabaseJob, start: MigrationStart): ResultAsync<Reached, MigrationError>;
  /** Checks a settled database against what its state claims (`applyErrorsBaseline` as {@link migrate} reported it). */
  inspect(job: DatabaseJob, applyErrorsBaseline: number): ResultAsync<Inspection, MigrationError>;
  /** Waits, up to `timeoutMs`, until the destination holds everything the source had when the wait began. */
  catchUp(job: DatabaseJob, timeoutMs: number): ResultAsync<CatchUpResult, MigrationError>;
  /** Ends the migration of a database and removes what the strategy created on both sides; idempotent. */
  stop(job: DatabaseJob, options?: StopOptions): ResultAsync<void, MigrationError>;
}
