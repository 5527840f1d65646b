/**
 * One database's migration, start to finish, as its plan decided: keep it,
 * resume its replication, create or fill its destination database, or drop
 * and redo an unfinished attempt in a database this migration created. Every
 * change of state is recorded, and a failed attempt leaves no replication
 * object behind.
 *
 * @module
 */
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { describeError, migrationError, type MigrationError } from '../errors.js';
import { query, type Connection } from '../pg/connect.js';
import type { DatabaseInfo } from '../pg/queries/databases.js';
import { dropOwnDatabase } from '../schema/database.js';
import { withDatabaseSchema, type SchemaSync } from '../schema/schema-sync.js';
import { sameSource, type Decision } from '../state/decide.js';
import { uniqueReplicationName } from '../strategies/replication/names.js';
import { recordRefusal, recordStart, recordState, type DatabaseRecord, type SourceIdentity, type StateChange } from '../state/state-store.js';
import type { DatabaseMethod, DatabaseState } from '../status.js';
import type { DatabaseJob, MigrationStrategy, Reached } from '../strategies/strategy.js';
import { withJob, type RunContext } from './context.js';
import type { SchemaDumps } from './schema-dumps.js';

export interface DatabaseMigrationContext extends RunContext {
  /** The destination's cluster connection, where databases are created and state is kept. */
  readonly targetCluster: Connection;
  readonly schemaSync: SchemaSync;
  /** Restore without owners and grants: some owning roles are missing on the destination. */
  readonly noOwner: boolean;
  /** The schema dumps the run started ahead of their databases. */
  readonly dumps: SchemaDumps;
}

export interface DatabaseWork {
  /** The source database. */
  readonly info: DatabaseInfo;
  /** The destination database's name: `info.name`, or another for a database copied under a new name. */
  readonly target: string;
  readonly method: DatabaseMethod;
  readonly decision: Decision;
  readonly fallbackReasons: readonly string[];
  /** Why it cannot migrate at all; it is recorded as failed. */
  readonly blockers: readonly string[];
  readonly previous: DatabaseRecord | undefined;
  /** The source database it copies. */
  readonly source: SourceIdentity;
  /** The destination database's OID when preflight saw it. */
  readonly targetOid: number | null;
}

/** How a database's migration ended. */
export interface DatabaseOutcome {
  readonly dbname: string;
  readonly status: DatabaseState;
  readonly error?: MigrationError;
}

/** Records a database that cannot be migrated as failed, with every reason. */
export async function refuseDatabase(
  context: Pick<DatabaseMigrationContext, 'targetCluster' | 'redactor' | 'emit'>,
  work: DatabaseWork,
): Promise<DatabaseOutcome> {
  const error = work.blockers.join('; ');
  const kind = work.decision.action === 'refuse' ? work.decision.kind : 'preflight';
  await query(context.targetCluster, context.redactor, 'internal', 'Recording the refusal', (sql) =>
    recordRefusal(sql, { dbname: work.target, sourceDbname: work.info.name }, work.method, error, kind),
  );
  context.emit({ type: 'database:done', dbname: work.target, method: work.method, status: 'failed', error, durationMs: 0 });
  return { dbname: work.target, status: 'failed', error: migrationError(kind, error, { database: work.target }) };
}

/** Migrates one database that can be; failures are recorded and emitted, and returned in the outcome. */
export async function migrateDatabase(context: DatabaseMigrationContext, work: DatabaseWork): Promise<DatabaseOutcome> {
  const { emit, targetCluster, redactor } = context;
  const dbname = work.target;
  const names = { source: work.info.name, target: work.target, replication: replicationNameFor(work) };
  const started = Date.now();
  const record = (change: StateChange): ResultAsync<void, MigrationError> =>
    query(targetCluster, redactor, 'internal', 'Recording the state', async (sql) => {
      if (!(await recordState(sql, dbname, change))) throw new Error(`"${dbname}" may not become ${change.status} from its recorded state`);
    });

  const strategy = context.strategies[work.method];
  /** The destination database this call created, until it holds what it should. */
  let created: number | undefined;
  const outcome = await prepareDestination(context, work).andThen((targetOid) => {
    if (work.decision.action === 'create' || work.decision.action === 'redo') created = targetOid;
    return withJob(context, names, (job) => {
      const resumed = work.decision.action === 'resume';
      emit({ type: 'database:start', dbname, method: work.method, fallbackReasons: work.fallbackReasons, resumed });
      if (resumed) return record({ status: 'running' }).andThen(() => strategy.migrate(job, { kind: 'resume' }));
      return discardEarlierReplication(context, work, job)
        .andThen(() =>
          query(targetCluster, redactor, 'internal', 'Recording the start', (sql) =>
            recordStart(sql, {
              dbname,
              sourceDbname: work.info.name,
              method: work.method,
              fallbackReasons: work.fallbackReasons,
              source: work.source,
              targetOid,
              createdDatabase: work.decision.action !== 'fill',
              replicationName: names.replication,
            }),
          ),
        )
        .andThen(() => migrateFresh(context, job, strategy));
    });
  });

  if (outcome.isOk()) {
    const { state, applyErrorsBaseline, rights } = outcome.value;
    await record({ status: state, applyErrorsBaseline, ...(rights ? { rights } : {}) });
    emit({ type: 'database:done', dbname, method: work.method, status: state, error: null, durationMs: Date.now() - started });
    return { dbname, status: state };
  }
  if (context.signal?.aborted) await discardCancelled(context, work, names.replication, created);
  const previous = work.previous;
  if (context.signal?.aborted && work.decision.action === 'resume' && previous?.status === 'syncing') {
    // Only the run was cancelled: the replication it resumed never stopped following the source, and is syncing as it was.
    await record({ status: 'syncing', applyErrorsBaseline: previous.applyErrorsBaseline, ...(previous.rights ? { rights: previous.rights } : {}) }).orElse(() => okAsync(undefined));
    emit({ type: 'database:done', dbname, method: work.method, status: 'syncing', error: null, durationMs: Date.now() - started });
    return { dbname, status: 'syncing' };
  }
  const error = describeError(outcome.error);
  await query(targetCluster, redactor, 'internal', 'Recording the failure', async (sql) => {
    // A database that failed before its start was recorded (creating it, say) is failed all the same, not pending.
    if (!(await recordState(sql, dbname, { status: 'failed', error, errorKind: outcome.error.kind }))) {
      await recordRefusal(sql, { dbname, sourceDbname: work.info.name }, work.method, error, outcome.error.kind);
    }
  });
  emit({ type: 'database:done', dbname, method: work.method, status: 'failed', error, durationMs: Date.now() - started });
  return { dbname, status: 'failed', error: outcome.error };
}

/**
 * The name this attempt's replication objects go by. A resumed replication
 * keeps its own. A new attempt keeps the name its record holds, so what an
 * earlier attempt of it left is found and removed under that name; a
 * database never migrated here, or whose record an older version wrote
 * (whose leftovers are removed by the derived name first) or names another
 * source, gets a new one: unique, so no two destinations of one source
 * database share a slot or publication.
 */
function replicationNameFor(work: DatabaseWork): string {
  const previous = work.previous;
  if (previous && work.decision.action === 'resume') return previous.replicationName;
  if (previous?.replicationNameRecorded && sameSource(previous.source, work.source) !== false) return previous.replicationName;
  return uniqueReplicationName(work.target);
}

/**
 * Makes the destination database ready and returns its OID: creates it,
 * checks the existing one is still the one preflight saw, or drops an
 * unfinished attempt this migration provably created and creates it anew.
 */
function prepareDestination(context: DatabaseMigrationContext, work: DatabaseWork): ResultAsync<number, MigrationError> {
  const { decision } = work;
  const info = { ...work.info, name: work.target };
  switch (decision.action) {
    case 'create':
      return context.schemaSync.createDatabase(context.targetCluster, info);
    case 'redo':
      return discardEarlierReplication(context, work)
        .andThen(() =>
          query(context.targetCluster, context.redactor, 'schema', `Dropping the unfinished "${info.name}"`, (sql) =>
            dropOwnDatabase(sql, info.name, work.previous?.targetOid ?? -1),
          ),
        )
        .andThen(() => context.schemaSync.createDatabase(context.targetCluster, info));
    case 'fill':
    case 'resume':
      return query(context.targetCluster, context.redactor, 'schema', `Looking up "${info.name}"`, async (sql) => {
        const [row] = await sql<{ oid: number }[]>`select oid::bigint::float8 as oid from pg_database where datname = ${info.name}`;
        return row ? Number(row.oid) : null;
      }).andThen((oid) =>
        oid !== null && oid === work.targetOid
          ? okAsync(oid)
          : errAsync(
              migrationError('identity', `"${info.name}" on the destination changed while the migration was being planned`, {
                side: 'target',
                database: info.name,
                hint: 'Run migrate() again; it plans from what is there then.',
              }),
            ),
      );
    case 'keep':
    case 'refuse':
      return errAsync(migrationError('internal', `"${info.name}" is not to be migrated (${decision.action})`, { database: info.name }));
  }
}

/**
 * Removes what a cancelled attempt left unfinished, on sessions of its own
 * (the job's closed when the signal fired): the replication objects of a
 * fresh attempt, on both clusters, and the destination database it created.
 * A resumed replication was working before this call and is left as it is.
 */
async function discardCancelled(context: DatabaseMigrationContext, work: DatabaseWork, replication: string, created: number | undefined): Promise<void> {
  if (work.decision.action === 'resume') return;
  const settled = { ...context, signal: undefined };
  const dbname = work.target;
  if (work.method === 'replication') {
    await withJob(settled, { source: work.info.name, target: dbname, replication }, (job) => context.strategies.replication.stop(job));
  }
  if (created !== undefined) {
    await query(context.targetCluster, context.redactor, 'schema', `Dropping the unfinished "${dbname}"`, (sql) => dropOwnDatabase(sql, dbname, created as number));
  }
}

/**
 * Removes what an earlier replication attempt of this source database left:
 * its subscription (which would block dropping the database) and its slot and
 * publication on the source, which would otherwise hold WAL there forever.
 * They are found by the name its record keeps, so another destination's
 * replication of the same source database is never touched.
 */
function discardEarlierReplication(
  context: DatabaseMigrationContext,
  work: DatabaseWork,
  job?: DatabaseJob,
): ResultAsync<void, MigrationError> {
  const previous = work.previous;
  if (!previous || previous.method !== 'replication' || sameSource(previous.source, work.source) === false) return okAsync(undefined);
  const replication = context.strategies.replication;
  const earlier = { source: work.info.name, target: work.target, replication: previous.replicationName };
  return job ? replication.stop({ ...job, replicationName: earlier.replication }) : withJob(context, earlier, (on) => replication.stop(on));
}

/** A new attempt: schema, data, post-data and the source database's own properties, all by the strategy. */
function migrateFresh(context: DatabaseMigrationContext, job: DatabaseJob, strategy: MigrationStrategy): ResultAsync<Reached, MigrationError> {
  const names = { source: job.sourceDbname, target: job.dbname };
  return withDatabaseSchema(
    context.schemaSync,
    names,
    context.noOwner,
    (schema) =>
      strategy.migrate(job, { kind: 'fresh', schema }).orElse((error) =>
        // No publication, subscription or slot may outlive a failed attempt.
        strategy
          .stop(job)
          .orElse(() => okAsync(undefined))
          .andThen(() => errAsync(error)),
      ),
    context.dumps.take(job.sourceDbname),
  );
}
