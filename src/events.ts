/**
 * The typed events a {@link Migrator} emits. Every event is plain data with a
 * `type`, emitted under its own name and again as `progress`, so a host can
 * listen to one stream or pick phases. Payloads hold no secrets and no class
 * instances: they can be logged as JSON as they are.
 *
 * ### Examples
 * ```ts
 * migrator.on('copy:progress', (e) => bar.update(e.fraction, { eta: e.etaMs }));
 * migrator.on('progress', (e) => log.info(e));
 * ```
 *
 * @module
 */
import type { CheckResult, DatabasePlan } from './preflight/report.js';
import type { DatabaseMethod, DatabaseState } from './status.js';
import type { SourcePath, TargetPath } from './strategies/replication/rights/paths.js';
import type { VerifyVerdict } from './verify/report.js';

/** A preflight check ran. */
export interface CheckEvent {
  readonly type: 'check';
  readonly check: CheckResult;
}

/** The method of every database was decided. */
export interface PlanEvent {
  readonly type: 'plan';
  readonly databases: readonly DatabasePlan[];
}

/** A database's migration started. `fallbackReasons` says why it is not replicated, when it is not. */
export interface DatabaseStartEvent {
  readonly type: 'database:start';
  readonly dbname: string;
  readonly method: DatabaseMethod;
  readonly fallbackReasons: readonly string[];
  /** True when an earlier run's progress is picked up rather than started over. */
  readonly resumed: boolean;
}

/**
 * A schema step finished: `roles` once per run, the rest per database;
 * `extension` when the migration installed `datalakehouse_extras` in a
 * destination database to subscribe without superuser; `statistics` when
 * stop() or cutover() analyzed the tables of a replicated database that
 * autovacuum had not analyzed yet.
 */
export interface SchemaEvent {
  readonly type: 'schema';
  readonly step: 'roles' | 'database' | 'pre-data' | 'post-data' | 'extension' | 'statistics' | 'properties';
  readonly dbname: string | null;
  /** What was applied, e.g. "12 roles created, 1 already present". */
  readonly detail: string;
}

/** The one-time copy of a database's data begins. */
export interface CopyStartEvent {
  readonly type: 'copy:start';
  readonly dbname: string;
  readonly tables: number;
  /** Sum of the tables' on-disk sizes: an estimate of the bytes to stream. */
  readonly estimatedBytes: number;
}

/** A table's rows were copied (every range of a split table committed). */
export interface TableCopiedEvent {
  readonly type: 'table:copied';
  readonly dbname: string;
  readonly schema: string;
  readonly table: string;
  readonly rows: number;
  /** COPY bytes streamed for the table. */
  readonly bytes: number;
  readonly tablesDone: number;
  readonly tablesTotal: number;
  /** COPY bytes of the tables copied so far. */
  readonly bytesDone: number;
  /** The total re-estimated with what streamed so far; equals `bytesDone` once the last table is copied. */
  readonly estimatedBytes: number;
  /** Rows of the tables copied so far. */
  readonly rowsDone?: number;
}

/** A table being copied, as a {@link CopyProgressEvent} sees it. */
export interface CopyTableProgress {
  readonly schema: string;
  readonly table: string;
  /** COPY bytes streamed so far. */
  readonly bytes: number;
  readonly rows: number;
  /** Its on-disk size. */
  readonly estimatedBytes: number;
}

/**
 * Where a database's copy stands, a few times a second while data streams
 * and once more at its end: `fraction` reaches exactly 1 when every table is
 * copied, as `estimatedBytes` becomes the real total.
 */
export interface CopyProgressEvent {
  readonly type: 'copy:progress';
  readonly dbname: string;
  readonly tablesDone: number;
  readonly tablesTotal: number;
  /** COPY bytes streamed, finished tables and those under way. */
  readonly bytesDone: number;
  readonly rowsDone: number;
  readonly estimatedBytes: number;
  /** `bytesDone / estimatedBytes`, 0..1. */
  readonly fraction: number;
  readonly elapsedMs: number;
  /** Milliseconds left at the rate so far; null before any byte moved. */
  readonly etaMs: number | null;
  /** The tables under way. */
  readonly tables: readonly CopyTableProgress[];
}

/** Sequences or large objects were copied. */
export interface ObjectsCopiedEvent {
  readonly type: 'objects:copied';
  readonly dbname: string;
  readonly kind: 'sequences' | 'large-objects';
  readonly count: number;
}

/** A replicated database moved on. */
export interface ReplicationStateEvent {
  readonly type: 'replication:state';
  readonly dbname: string;
  readonly state: 'publishing' | 'subscribed' | 'copying' | 'verifying' | 'syncing' | 'stopped';
  readonly tablesReady: number;
  readonly tablesTotal: number;
}

/**
 * The rights a replicated database publishes and subscribes by, chosen each
 * time the migration creates or removes its replication objects.
 */
export interface ReplicationRightsEvent {
  readonly type: 'replication:rights';
  readonly dbname: string;
  readonly source: SourcePath;
  readonly target: TargetPath;
  /** Why these, e.g. "app owns every table of \"shop\" and publishes them by name". */
  readonly detail: string;
}

/**
 * A step of cutover() for one replicated database: the source made
 * read-only, the destination caught up, sequences and large objects synced,
 * the copy verified, replication stopped; or, after a failure, the source's
 * writability `restored` with replication left running.
 */
export interface CutoverEvent {
  readonly type: 'cutover';
  readonly dbname: string;
  readonly step: 'read-only' | 'caught-up' | 'synced' | 'verified' | 'stopped' | 'restored';
  readonly detail: string;
}

/**
 * stop(), cutover() or verify() waits for a replicated destination to apply
 * what its source had written when the wait began.
 */
export interface CatchUpEvent {
  readonly type: 'catch-up';
  readonly dbname: string;
  /** `waiting` as the wait starts; then `caught-up`, or `behind` when it gave up. */
  readonly phase: 'waiting' | 'caught-up' | 'behind';
  /** The source's WAL position to reach. */
  readonly sourceLsn: string | null;
  /** What the destination had confirmed applying when the phase was reported. */
  readonly appliedLsn: string | null;
  readonly waitedMs: number;
}

/** A database reached `done`, `syncing` or `failed`. */
export interface DatabaseDoneEvent {
  readonly type: 'database:done';
  readonly dbname: string;
  readonly method: DatabaseMethod;
  readonly status: DatabaseState;
  readonly error: string | null;
  readonly durationMs: number;
}

/** Something worth a look that does not stop the migration. */
export interface WarningEvent {
  readonly type: 'warning';
  readonly dbname: string | null;
  readonly message: string;
  readonly hint?: string;
}

/** verify() compared a table on both sides. */
export interface VerifyTableEvent {
  readonly type: 'verify:table';
  readonly dbname: string;
  readonly schema: string;
  readonly table: string;
  /** Same rows (count and content checksum) on both sides. */
  readonly equal: boolean;
  /** The source's rows. */
  readonly rows: number;
}

/** verify() reached its verdict on a database. */
export interface VerifyDatabaseEvent {
  readonly type: 'verify:database';
  readonly dbname: string;
  readonly status: VerifyVerdict;
}

/** Any event. */
export type MigrationEvent =
  | CheckEvent
  | PlanEvent
  | DatabaseStartEvent
  | SchemaEvent
  | CopyStartEvent
  | TableCopiedEvent
  | CopyProgressEvent
  | ObjectsCopiedEvent
  | ReplicationStateEvent
  | ReplicationRightsEvent
  | CutoverEvent
  | CatchUpEvent
  | DatabaseDoneEvent
  | WarningEvent
  | VerifyTableEvent
  | VerifyDatabaseEvent;

/** A listener of one event type. */
export type Listener<T> = (event: T) => void;

/** Event names to listener signatures, for `migrator.on(...)`. */
export interface MigratorEvents {
  progress: Listener<MigrationEvent>;
  check: Listener<CheckEvent>;
  plan: Listener<PlanEvent>;
  'database:start': Listener<DatabaseStartEvent>;
  schema: Listener<SchemaEvent>;
  'copy:start': Listener<CopyStartEvent>;
  'table:copied': Listener<TableCopiedEvent>;
  'copy:progress': Listener<CopyProgressEvent>;
  'objects:copied': Listener<ObjectsCopiedEvent>;
  'replication:state': Listener<ReplicationStateEvent>;
  'replication:rights': Listener<ReplicationRightsEvent>;
  cutover: Listener<CutoverEvent>;
  'catch-up': Listener<CatchUpEvent>;
  'database:done': Listener<DatabaseDoneEvent>;
  warning: Listener<WarningEvent>;
  'verify:table': Listener<VerifyTableEvent>;
  'verify:database': Listener<VerifyDatabaseEvent>;
}

/** Where the library's parts send events; the Migrator fans them out. */
export type Emit = (event: MigrationEvent) => void;
