/**
 * What every part of a run shares: the options, the redactor, where events
 * go, the cluster connections and the strategies; and how one database's
 * pair of pools is opened for a strategy.
 *
 * @module
 */
import { okAsync, type ResultAsync } from 'neverthrow';
import type { MigrationError } from '../errors.js';
import type { Emit } from '../events.js';
import type { NormalizedOptions } from '../options.js';
import { closeConnection, openConnection, query, type Connection } from '../pg/connect.js';
import { ABORT_END_SECONDS } from '../pg/pool.js';
import { cancelledError } from '../util/cancellation.js';
import { selectsTables, tableFilterFor, type TableFilter } from '../selection/table-filter.js';
import { ancestryOf, sourceTables } from '../selection/unselected-tables.js';
import type { PgTools } from '../pg/tools.js';
import type { Redactor } from '../redact.js';
import type { DatabaseMethod, DatabaseStatus } from '../status.js';
import { replicationName } from '../strategies/replication/names.js';
import type { DatabaseJob, MigrationStrategy } from '../strategies/strategy.js';
import type { Budget } from '../util/budget.js';
import type { ClusterConnections } from './cluster-connections.js';

export interface RunContext {
  readonly options: NormalizedOptions;
  readonly redactor: Redactor;
  readonly emit: Emit;
  readonly clusters: ClusterConnections;
  readonly strategies: Readonly<Record<DatabaseMethod, MigrationStrategy>>;
  /** PostgreSQL's client tools, found once. */
  readonly tools: () => ResultAsync<PgTools, MigrationError>;
  /** The `jobs` slots every table copy of every database draws from. */
  readonly budget: Budget;
  /** The caller's cancellation of this call. */
  readonly signal?: AbortSignal | undefined;
}

/** A database's names: on each side (they differ when it is copied under another name), and its replication objects'. */
export interface DatabaseNames {
  readonly source: string;
  readonly target: string;
  /** Its publication, slot and subscription, as its record keeps it (see `DatabaseJob.replicationName`). */
  readonly replication: string;
}

/** The names of a database a run recorded, as its status tells them. */
export function namesOf(db: DatabaseStatus): DatabaseNames {
  // The status of every recorded replication names its objects (a record an older version wrote by the derived name): the fallback only completes the type.
  return { source: db.source ?? db.dbname, target: db.dbname, replication: db.replicationName ?? replicationName(db.dbname) };
}

/** Opens the source and destination pools of one database for `use`, and always closes them. */
export function withJob<T>(
  context: Pick<RunContext, 'options' | 'redactor' | 'emit' | 'budget' | 'signal'>,
  names: DatabaseNames,
  use: (job: DatabaseJob) => ResultAsync<T, MigrationError>,
  open: { readonly sourceReadWrite?: boolean } = {},
): ResultAsync<T, MigrationError> {
  const { options, redactor, emit, budget, signal } = context;
  const { source: sourceDbname, target: dbname, replication } = names;
  return openConnection(options.source, 'source', sourceDbname, redactor, { max: options.jobs + 2, readWrite: open.sourceReadWrite === true }).andThen((source) =>
    // Writable whatever the database's own default: the migration's sessions write there (a source's read-only default may have come along).
    openConnection(options.target, 'target', dbname, redactor, { max: options.jobs + 1, readWrite: true })
      .orTee(() => closeConnection(source))
      .andThen((target) =>
        tableFilterOf(context, source, sourceDbname)
          .map((tables) => ({ target, tables }))
          .orTee(() => Promise.all([closeConnection(source), closeConnection(target)])),
      )
      .andThen(({ target, tables }) => {
        const job: DatabaseJob = {
          dbname,
          sourceDbname,
          replicationName: replication,
          tables,
          source,
          target,
          sourceConfig: options.source,
          redactor,
          emit,
          jobs: options.jobs,
          budget,
          pollIntervalMs: options.pollIntervalMs,
          syncTimeoutMs: options.syncTimeoutMs,
          maxLagBytes: options.maxLagBytes,
          signal,
        };
        const close = (): Promise<unknown> => Promise.all([closeConnection(source), closeConnection(target)]);
        // Cancelled, the database's sessions close at once: whatever statement or COPY they run ends with them.
        const closeNow = (): void =>
          void Promise.all([source.sql.end({ timeout: ABORT_END_SECONDS }), target.sql.end({ timeout: ABORT_END_SECONDS })]).catch(() => undefined);
        signal?.addEventListener('abort', closeNow, { once: true });
        const detach = (): void => signal?.removeEventListener('abort', closeNow);
        return use(job)
          .andTee(detach)
          .orTee(detach)
          .mapErr((error) => (signal?.aborted && error.kind !== 'cancelled' ? cancelledError(`Migrating "${dbname}"`, { database: dbname }) : error))
          .andTee(close)
          .orTee(close);
      }),
  );
}

/**
 * The database's table filter, knowing each partition's partitioned tables at
 * every level (naming a sub-partitioned table selects its partitions); `null`
 * when every table goes, without asking the source.
 */
function tableFilterOf(context: Pick<RunContext, 'options' | 'redactor'>, source: Connection, sourceDbname: string): ResultAsync<TableFilter | null, MigrationError> {
  const { options, redactor } = context;
  if (!selectsTables(options, sourceDbname)) return okAsync(null);
  return query(source, redactor, 'schema', `Listing the tables of "${sourceDbname}"`, sourceTables).map((tables) => tableFilterFor(options, sourceDbname, ancestryOf(tables)));
}
