/**
 * The migration's status as it is now: the records on the destination, each
 * checked against the clusters (see the state's observe), replications
 * inspected by their strategy, and the databases the options select that no
 * run has started yet as `pending`.
 *
 * @module
 */
import { okAsync, ResultAsync } from 'neverthrow';
import { describeError, migrationError, type MigrationError } from '../errors.js';
import { targetNameOf, type NormalizedOptions } from '../options.js';
import { query } from '../pg/connect.js';
import { databaseOids, listDatabases, type DatabaseInfo } from '../pg/queries/databases.js';
import { systemIdentifier } from '../pg/queries/server-settings.js';
import { selectDatabases } from '../preflight/preflight.js';
import { isLocked } from '../state/migration-lock.js';
import { observe } from '../state/observe.js';
import { readStates, type DatabaseRecord, type SourceIdentity } from '../state/state-store.js';
import { summarize, type DatabaseStatus, type MigrationStatus } from '../status.js';
import { forEachLimited } from '../util/for-each-limited.js';
import { withJob, type RunContext } from './context.js';

export interface StatusReading {
  /** Whether a run is under way; by default, whether anyone holds the migration lock. */
  readonly live?: boolean;
}

interface SourceView {
  readonly systemId: string | null;
  readonly databases: readonly DatabaseInfo[];
}

export function readStatus(context: RunContext, reading: StatusReading = {}): ResultAsync<MigrationStatus, MigrationError> {
  const { options, redactor, clusters } = context;
  const destination = clusters.of('target').andThen((target) =>
    query(target, redactor, 'internal', 'Reading the migration state', async (sql) => ({
      records: (await readStates(sql)).filter((r) => selectsRecord(options, r)),
      live: reading.live ?? (await isLocked(sql)),
      oids: await databaseOids(sql),
    })),
  );
  // Without the source, records are judged on what the destination alone can tell.
  const source = clusters
    .of('source')
    .andThen((connection) =>
      query(connection, redactor, 'internal', 'Listing the source databases', async (sql): Promise<SourceView> => ({
        systemId: await systemIdentifier(sql),
        databases: await listDatabases(sql),
      })),
    )
    .orElse(() => okAsync<SourceView | undefined, MigrationError>(undefined));

  return destination.andThen(({ records, live, oids }) =>
    source.andThen((view) =>
      ResultAsync.fromSafePromise(inspectAll(context, records, live, oids, view)).map((statuses) =>
        summarize([...statuses, ...planned(options, records, view)]),
      ),
    ),
  );
}

async function inspectAll(
  context: RunContext,
  records: readonly DatabaseRecord[],
  live: boolean,
  oids: ReadonlyMap<string, number>,
  view: SourceView | undefined,
): Promise<DatabaseStatus[]> {
  const statuses: DatabaseStatus[] = new Array<DatabaseStatus>(records.length);
  await forEachLimited(records, 4, async (record, index) => {
    const info = view?.databases.find((d) => d.name === record.sourceDbname);
    const source: SourceIdentity | undefined = info && view ? { systemId: view.systemId, databaseOid: info.oid } : undefined;
    const observed = observe(record, { live, targetOid: oids.get(record.dbname) ?? null, source });
    statuses[index] = observed.status === 'syncing' ? await inspect(context, record, observed) : observed;
  });
  return statuses;
}

/** A syncing database's strategy looks at it: `syncing` only while nothing is wrong. */
async function inspect(context: RunContext, record: DatabaseRecord, observed: DatabaseStatus): Promise<DatabaseStatus> {
  const inspection = await withJob(context, { source: record.sourceDbname, target: record.dbname, replication: record.replicationName }, (job) =>
    context.strategies[record.method].inspect(job, record.applyErrorsBaseline),
  );
  if (inspection.isErr()) return { ...observed, status: 'failed', error: describeError(inspection.error), errorKind: inspection.error.kind };
  const { problem, lag } = inspection.value;
  const withLag = lag ? { ...observed, lag } : observed;
  return problem ? { ...withLag, status: 'failed', error: `${problem.message} (${problem.hint})`, errorKind: 'replication' } : withLag;
}

/** The selected source databases no run has recorded yet. */
function planned(options: NormalizedOptions, records: readonly DatabaseRecord[], view: SourceView | undefined): DatabaseStatus[] {
  if (!view) return [];
  return selectDatabases(view.databases, options)
    .selected.filter((db) => !records.some((r) => r.dbname === targetNameOf(options, db.name)))
    .map((db) => ({
      dbname: targetNameOf(options, db.name),
      ...(targetNameOf(options, db.name) !== db.name ? { source: db.name } : {}),
      method: options.method === 'dump' ? 'pg_dump' : 'replication',
      status: 'pending',
      error: null,
      errorKind: null,
      fallbackReasons: [],
      startedAt: null,
      updatedAt: null,
    }));
}

/** True when the options select this database (status and stop keep to them). */
/**
 * Whether the options select a recorded database: its source database, copied
 * into the destination name the options give it (a source copied twice
 * under two names is two records; each caller sees its own).
 */
export function selectsRecord(options: Pick<NormalizedOptions, 'databases' | 'ignoreDatabases' | 'renames'>, record: Pick<DatabaseRecord, 'dbname' | 'sourceDbname'>): boolean {
  if (!selects(options, record.sourceDbname)) return false;
  return options.databases === undefined || targetNameOf(options, record.sourceDbname) === record.dbname;
}

export function selects(options: Pick<NormalizedOptions, 'databases' | 'ignoreDatabases'>, dbname: string): boolean {
  return !options.ignoreDatabases.includes(dbname) && (!options.databases || options.databases.includes(dbname));
}

/**
 * Source databases the caller named (`databases`) that neither the source has
 * nor a record of this migration holds: a typo, which stop() and cutover()
 * must not answer with "nothing to do".
 */
export function unknownRequested(options: Pick<NormalizedOptions, 'databases'>, status: MigrationStatus): string[] {
  if (!options.databases) return [];
  const known = new Set(status.databases.map((db) => db.source ?? db.dbname));
  return options.databases.filter((name) => !known.has(name));
}

/** The `options` error for {@link unknownRequested}'s names. */
export function unknownRequestedError(names: readonly string[]): MigrationError {
  return migrationError('options', `No database of the source or of this migration is named ${names.map((n) => `"${n}"`).join(', ')}`, {
    hint: 'Check the names in databases: they are the source databases\' names (status() lists them); nothing was done.',
  });
}
