/**
 * One database's migration, start to finish: make room (redo a crashed
 * attempt, or resume a replication), create the database, run the strategy
 * with its schema, record every state change, and clean up after a failure
 * so no replication object outlives it.
 *
 * @module
 */
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import { describeError, type MigrationError } from './errors.js';
import type { Emit } from './events.js';
import type { NormalizedOptions } from './options.js';
import { closeConnection, openConnection, query, type Connection } from './pg/connect.js';
import type { DatabaseInfo } from './pg/queries/databases.js';
import type { Redactor } from './redact.js';
import { dropDatabase } from './schema/database.js';
import { withDatabaseSchema, type SchemaSync } from './schema/schema-sync.js';
import { recordFailure, recordStart, recordStatus, type DatabaseRecord } from './state/state-store.js';
import type { DatabaseMethod, DatabaseState } from './status.js';
import type { DatabaseJob, MigrationStrategy, ReachedState } from './strategies/strategy.js';

export interface DatabaseMigrationContext {
  readonly options: NormalizedOptions;
  readonly redactor: Redactor;
  readonly emit: Emit;
  /** The destination's cluster connection, where databases are created and state is kept. */
  readonly targetCluster: Connection;
  readonly schemaSync: SchemaSync;
  readonly strategies: Readonly<Record<DatabaseMethod, MigrationStrategy>>;
  /** Restore without owners and grants: some owning roles are missing on the destination. */
  readonly noOwner: boolean;
}

export interface DatabaseWork {
  readonly info: DatabaseInfo;
  readonly method: DatabaseMethod;
  readonly fallbackReasons: readonly string[];
  /** Why it cannot migrate at all; it is recorded as failed. */
  readonly blockers: readonly string[];
  readonly previous: DatabaseRecord | undefined;
}

/** Records a database that nothing can migrate as failed, with every reason. */
export async function failBlockedDatabase(
  context: Pick<DatabaseMigrationContext, 'targetCluster' | 'redactor' | 'emit'>,
  work: DatabaseWork,
): Promise<void> {
  const error = work.blockers.join('; ');
  await query(context.targetCluster, context.redactor, 'internal', 'Recording the failure', () =>
    recordFailure(context.targetCluster.sql, work.info.name, work.method, error),
  );
  context.emit({ type: 'database:done', dbname: work.info.name, method: work.method, status: 'failed', error, durationMs: 0 });
}

/** Migrates one database that can be; failures are recorded and emitted, never returned. */
export async function migrateDatabase(context: DatabaseMigrationContext, work: DatabaseWork): Promise<void> {
  const { emit } = context;
  const dbname = work.info.name;
  const started = Date.now();
  const finish = (status: DatabaseState, error: string | null): void =>
    emit({ type: 'database:done', dbname, method: work.method, status, error, durationMs: Date.now() - started });

  const state = (run: () => Promise<void>, what: string): ResultAsync<void, MigrationError> =>
    query(context.targetCluster, context.redactor, 'internal', what, run);

  const strategy = context.strategies[work.method];
  const outcome = await discardEarlierAttempt(context, work)
    .andThen(() => context.schemaSync.ensureDatabase(context.targetCluster, work.info))
    .andThen((created) =>
      withJob(context, dbname, (job) =>
        strategy.canResume(job).andThen((resumable) => {
          emit({ type: 'database:start', dbname, method: work.method, fallbackReasons: work.fallbackReasons, resumed: resumable });
          if (resumable) {
            return state(() => recordStatus(context.targetCluster.sql, dbname, 'running'), 'Recording the start').andThen(() =>
              strategy.migrate(job, { kind: 'resume' }),
            );
          }
          return state(
            () => recordStart(context.targetCluster.sql, dbname, work.method, work.fallbackReasons, created),
            'Recording the start',
          ).andThen(() => migrateFresh(context, job, strategy));
        }),
      ),
    );

  if (outcome.isOk()) {
    await state(() => recordStatus(context.targetCluster.sql, dbname, outcome.value), 'Recording the result');
    finish(outcome.value, null);
    return;
  }
  const error = describeError(outcome.error);
  await state(() => recordFailure(context.targetCluster.sql, dbname, work.method, error), 'Recording the failure');
  finish('failed', error);
}

function migrateFresh(
  context: DatabaseMigrationContext,
  job: DatabaseJob,
  strategy: MigrationStrategy,
): ResultAsync<ReachedState, MigrationError> {
  return withDatabaseSchema(context.schemaSync, job.dbname, context.noOwner, (schema) =>
    strategy.migrate(job, { kind: 'fresh', schema }).orElse((error) =>
      // No publication, subscription or slot may outlive a failed attempt.
      strategy
        .stop(job)
        .orElse(() => okAsync(undefined))
        .andThen(() => errAsync(error)),
    ),
  );
}

/**
 * Drops what an earlier, unfinished attempt left in a database this
 * migration created, so the next attempt starts from nothing.
 */
export function discardEarlierAttempt(
  context: DatabaseMigrationContext,
  work: DatabaseWork,
): ResultAsync<void, MigrationError> {
  const dbname = work.info.name;
  const previous = work.previous;
  if (!previous || previous.status === 'done' || !previous.createdDatabase) return okAsync(undefined);
  const strategy = context.strategies[previous.method];
  // The database may be gone already; then there is nothing to resume or clean inside it.
  return withJob(context, dbname, (job) =>
    strategy.canResume(job).andThen((resumable) => (resumable ? okAsync(true) : strategy.stop(job).map(() => false))),
  )
    .orElse(() => okAsync(false))
    .andThen((resumable) =>
      resumable
        ? okAsync(undefined)
        : query(context.targetCluster, context.redactor, 'schema', `Dropping the unfinished "${dbname}"`, (sql) =>
            dropDatabase(sql, dbname),
          ),
    );
}

/** Opens the source and destination pools of one database for `use`, and always closes them. */
export function withJob<T>(
  context: Pick<DatabaseMigrationContext, 'options' | 'redactor' | 'emit'>,
  dbname: string,
  use: (job: DatabaseJob) => ResultAsync<T, MigrationError>,
): ResultAsync<T, MigrationError> {
  const { options, redactor, emit } = context;
  return openConnection(options.source, 'source', dbname, redactor, { max: options.jobs + 2 }).andThen((source) =>
    openConnection(options.target, 'target', dbname, redactor, { max: options.jobs + 1 })
      .orTee(() => closeConnection(source))
      .andThen((target) => {
        const job: DatabaseJob = {
          dbname,
          source,
          target,
          sourceConfig: options.source,
          redactor,
          emit,
          jobs: options.jobs,
          pollIntervalMs: options.pollIntervalMs,
          syncTimeoutMs: options.syncTimeoutMs,
        };
        const close = (): Promise<unknown> => Promise.all([closeConnection(source), closeConnection(target)]);
        return use(job).andTee(close).orTee(close);
      }),
  );
}
