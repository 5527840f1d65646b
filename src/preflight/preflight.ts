/**
 * Preflight: gathers the facts of both clusters, runs every check over them,
 * and decides per database which method can work and why.
 *
 * @module
 */
import { selectionGaps } from '../selection/selection-gaps.js';
import { tableSelection } from './checks/table-selection.js';
import { toastCompression } from './checks/toast-compression.js';
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { forEachLimited } from '../util/for-each-limited.js';
import type { MigrationError } from '../errors.js';
import { targetNameOf, type NormalizedOptions } from '../options.js';
import { closeConnection, openConnection, query, type Connection } from '../pg/connect.js';
import { listDatabases, type DatabaseInfo } from '../pg/queries/databases.js';
import { availableExtensions, installedExtensions } from '../pg/queries/extensions.js';
import type { DatabaseRights } from '../pg/queries/publishing-rights.js';
import { countLargeObjects } from '../pg/queries/large-objects.js';
import { findSubscription } from '../pg/queries/replication.js';
import { replicationUsage } from '../pg/queries/replication-usage.js';
import { roleRights } from '../pg/queries/role-rights.js';
import { managedService } from '../pg/queries/managed-service.js';
import { databaseRights, extrasAvailability } from '../pg/queries/publishing-rights.js';
import { serverSettings } from '../pg/queries/server-settings.js';
import { statementRecorders } from '../pg/queries/statement-records.js';
import { listTables } from '../pg/queries/tables.js';
import { keylessExtensionTables } from '../pg/queries/extension-tables.js';
import { fullIdentityWithoutEquality } from '../pg/queries/full-identity-equality.js';
import { compressedColumns } from '../pg/queries/column-compression.js';
import { backgroundWorkers } from '../pg/queries/background-workers.js';
import { userObjects } from '../pg/queries/user-objects.js';
import type { PgTools } from '../pg/tools.js';
import type { Redactor } from '../redact.js';
import type { TargetDatabase } from '../state/decide.js';
import { decisionFor } from './decision.js';
import { pathsOf } from './rights.js';
import { STATE_SCHEMA, type DatabaseRecord } from '../state/state-store.js';
import type { DatabaseMethod } from '../status.js';
import { OBJECT_PREFIX } from '../strategies/replication/names.js';
import { distinctClusters } from './checks/distinct-clusters.js';
import { extensions } from './checks/extensions.js';
import { pgDump } from './checks/pg-dump.js';
import { privileges } from './checks/privileges.js';
import { replicaIdentity } from './checks/replica-identity.js';
import { unreplicatedData } from './checks/unreplicated-data.js';
import { replicationCapacity } from './checks/replication-capacity.js';
import { serverVersions } from './checks/server-versions.js';
import { requestedDatabases } from './checks/requested-databases.js';
import { targetDatabase } from './checks/target-database.js';
import { walLevel } from './checks/wal-level.js';
import type { Check, ClusterFacts, DatabaseFacts, Finding, PreflightFacts } from './facts.js';
import type { CheckResult, DatabasePlan, PreflightReport } from './report.js';

/** Every check, in the order the report lists them. */
export const CHECKS: readonly Check[] = [
  distinctClusters,
  serverVersions,
  pgDump,
  walLevel,
  privileges,
  replicationCapacity,
  requestedDatabases,
  targetDatabase,
  tableSelection,
  extensions,
  toastCompression,
  replicaIdentity,
  unreplicatedData,
];

export interface PreflightInput {
  readonly options: NormalizedOptions;
  readonly redactor: Redactor;
  readonly source: Connection;
  readonly target: Connection;
  readonly tools: PgTools | MigrationError;
  readonly previous: readonly DatabaseRecord[];
  /** Told the source databases the options select, as soon as they are known. */
  readonly onSelected?: ((databases: readonly DatabaseInfo[]) => void) | undefined;
}

/** Reads everything the checks need from both clusters. */
export function gatherFacts(input: PreflightInput): ResultAsync<PreflightFacts, MigrationError> {
  const { options, redactor, source, target } = input;
  const cluster = (connection: Connection): ResultAsync<ClusterFacts, MigrationError> =>
    query(connection, redactor, 'preflight', 'Reading server settings', async (sql) => ({
      settings: await serverSettings(sql),
      rights: await roleRights(sql),
      usage: await replicationUsage(sql, OBJECT_PREFIX),
      backgroundWorkers: await backgroundWorkers(sql),
      managed: await managedService(sql),
    }));
  const targetSide = cluster(target).andThen((targetFacts) =>
    query(target, redactor, 'preflight', 'Listing extensions', async (sql) => ({
      available: await availableExtensions(sql, targetFacts.settings.major),
      extras: await extrasAvailability(sql, targetFacts.settings.major),
      statementRecorders: await statementRecorders(sql),
    })).map(({ available, extras, statementRecorders }) => ({ ...targetFacts, availableExtensions: available, extras, statementRecorders })),
  );
  const listed = query(source, redactor, 'preflight', 'Listing databases', listDatabases).map((all) => {
    const selection = selectDatabases(all, options);
    input.onSelected?.(selection.selected);
    return selection;
  });
  const sourceSide = ResultAsync.combine([cluster(source), listed]).andThen(([sourceFacts, { selected, unknown }]) =>
    databaseFacts(input, selected).map((databases) => ({ sourceFacts, databases, unknown })),
  );
  // The two servers answer at the same time.
  return ResultAsync.combine([sourceSide, targetSide]).map(
    ([{ sourceFacts, databases, unknown }, targetFacts]): PreflightFacts => ({
      method: options.method,
      allowNonEmptyTarget: options.allowNonEmptyTarget,
      excludeExtensions: options.excludeExtensions,
      selection: options,
      allowOlderTarget: options.allowOlderTarget,
      source: sourceFacts,
      target: targetFacts,
      tools: input.tools,
      databases,
      unknownDatabases: unknown,
    }),
  );
}

/** The source databases the options select, and the asked-for names the source lacks. */
export function selectDatabases(
  all: readonly DatabaseInfo[],
  options: Pick<NormalizedOptions, 'databases' | 'ignoreDatabases'>,
): { selected: DatabaseInfo[]; unknown: string[] } {
  const ignored = new Set(options.ignoreDatabases);
  const wanted = options.databases ? new Set(options.databases) : undefined;
  const selected = all.filter((db) => !ignored.has(db.name) && (!wanted || wanted.has(db.name)));
  const unknown = options.databases ? options.databases.filter((name) => !all.some((db) => db.name === name)) : [];
  return { selected, unknown };
}

function databaseFacts(input: PreflightInput, databases: readonly DatabaseInfo[]): ResultAsync<DatabaseFacts[], MigrationError> {
  const { options, redactor } = input;
  const results: DatabaseFacts[] = new Array<DatabaseFacts>(databases.length);
  let failure: MigrationError | undefined;
  const work = forEachLimited(databases, 4, async (info, index) => {
    const sourceFacts = await openConnection(options.source, 'source', info.name, redactor, { max: 1 }).andThen((db) =>
      query(db, redactor, 'preflight', 'Inspecting the database', async (sql) => {
        const gaps = await selectionGaps(sql, options, info.name);
        const tables = (await listTables(sql)).filter((t) => !gaps.selected || gaps.selected(t));
        return {
          extensions: await installedExtensions(sql),
          tablesWithoutIdentity: [
            ...tables.filter((t) => !t.replicaIdentity).map((t) => `${t.schema}.${t.name}`),
            // A selection publishes its tables by name; without one, the publication takes the extensions' tables too.
            ...(gaps.selected ? [] : await keylessExtensionTables(sql)),
          ],
          fullIdentityWithoutEquality: (await fullIdentityWithoutEquality(sql))
            .filter((t) => !gaps.selected || gaps.selected(t))
            .map((t) => ({ table: `${t.schema}.${t.name}`, types: t.types })),
          unloggedTables: tables.filter((t) => t.unlogged).map((t) => `${t.schema}.${t.name}`),
          compressedColumns: (await compressedColumns(sql)).filter((c) => !gaps.selected || gaps.selected({ schema: c.schema, name: c.table, root: c.root })),
          largeObjects: await countLargeObjects(sql),
          rights: await databaseRights(sql),
          tableNames: gaps.tables,
          keysOutOfSelection: gaps.keys,
          needsOutOfSelection: gaps.needs,
        };
      }).andTee(() => closeConnection(db)).orTee(() => closeConnection(db)),
    );
    if (sourceFacts.isErr()) {
      failure ??= sourceFacts.error;
      return;
    }
    const targetName = targetNameOf(options, info.name);
    const previous = input.previous.find((p) => p.dbname === targetName);
    const targetFacts = await inspectTarget(input, targetName, previous?.replicationName ?? null);
    if (targetFacts.isErr()) {
      failure ??= targetFacts.error;
      return;
    }
    results[index] = {
      info,
      targetName,
      ...sourceFacts.value,
      target: targetFacts.value.database,
      targetRights: targetFacts.value.rights,
      previous,
    };
  });
  return ResultAsync.fromSafePromise(work).andThen(() =>
    failure ? errAsync(failure) : okAsync(results),
  );
}

/**
 * The destination database of that name: its identity, what it holds, and
 * whether our subscription is in it — the one its record names (`replication`),
 * none when no run recorded it.
 */
function inspectTarget(input: PreflightInput, dbname: string, replication: string | null): ResultAsync<{ database: TargetDatabase; rights: DatabaseRights | null }, MigrationError> {
  const { options, redactor, target } = input;
  return query(target, redactor, 'preflight', 'Looking for the database', async (sql) => {
    const [row] = await sql<{ oid: number }[]>`select oid::bigint::float8 as oid from pg_database where datname = ${dbname}`;
    return row ? Number(row.oid) : null;
  }).andThen((oid) => {
    if (oid === null) return okAsync({ database: { exists: false, oid: null, occupants: [], subscriptionExists: false }, rights: null });
    return openConnection(options.target, 'target', dbname, redactor, { max: 1 }).andThen((db) =>
      query(db, redactor, 'preflight', 'Inspecting the destination database', async (sql) => ({
        database: {
          exists: true,
          oid,
          occupants: await userObjects(sql, STATE_SCHEMA),
          subscriptionExists: replication !== null && (await findSubscription(sql, replication)) !== undefined,
        },
        rights: await databaseRights(sql),
      })).andTee(() => closeConnection(db)).orTee(() => closeConnection(db)),
    );
  });
}

/** Runs every check and plans each database. */
export function judge(facts: PreflightFacts): PreflightReport {
  const findings = CHECKS.flatMap((check) => check(facts));
  const checks = findings.map((finding) => toCheckResult(finding, facts));
  const databases = facts.databases.map((db) => planDatabase(db, findings, facts));
  const tools = facts.tools;
  return {
    ok: checks.every((c) => c.status !== 'fail'),
    source: summary(facts.source),
    target: summary(facts.target),
    pgDump: 'binDir' in tools ? { binDir: tools.binDir, version: tools.version } : null,
    checks,
    databases,
  };
}

function summary(cluster: ClusterFacts): PreflightReport['source'] {
  return {
    version: cluster.settings.version,
    major: cluster.settings.major,
    walLevel: cluster.settings.walLevel,
    username: cluster.rights.username,
    superuser: cluster.rights.superuser,
  };
}

function toCheckResult(finding: Finding, facts: PreflightFacts): CheckResult {
  const status = finding.ok
    ? 'pass'
    : finding.blocks === 'migration'
      ? 'fail'
      : finding.blocks === 'replication'
        ? facts.method === 'replication'
          ? 'fail'
          : facts.method === 'auto'
            ? 'warn'
            : 'pass'
        : 'warn';
  const message = !finding.ok && finding.blocks === 'replication' && facts.method === 'dump' ? `Not needed for method dump: ${finding.message}` : finding.message;
  return {
    id: finding.id,
    status,
    message,
    ...(finding.hint !== undefined && status !== 'pass' ? { hint: finding.hint } : {}),
    ...(finding.side !== undefined ? { side: finding.side } : {}),
    // Findings name source databases; the report names each by its destination name, as the plan does.
    ...(finding.database !== undefined ? { database: facts.databases.find((d) => d.info.name === finding.database)?.targetName ?? finding.database } : {}),
    ...(finding.blocks !== undefined && !finding.ok ? { blocks: finding.blocks } : {}),
  };
}

function planDatabase(db: DatabaseFacts, findings: readonly Finding[], facts: PreflightFacts): DatabasePlan {
  const applies = (f: Finding): boolean => !f.ok && (f.database === undefined || f.database === db.info.name);
  const replicationBlockers = findings.filter((f) => applies(f) && f.blocks === 'replication').map((f) => f.message);
  const blockers = findings.filter((f) => applies(f) && f.blocks === 'migration').map((f) => f.message);
  const decision = decisionFor(db, facts);
  // A database an earlier run finished or is replicating keeps its method.
  const settled = decision.action === 'keep' || decision.action === 'resume' ? decision.method : undefined;
  let method: DatabaseMethod;
  if (settled) method = settled;
  else if (facts.method === 'dump') method = 'pg_dump';
  else if (facts.method === 'replication') {
    method = 'replication';
    blockers.push(...replicationBlockers);
  } else method = replicationBlockers.length > 0 ? 'pg_dump' : 'replication';
  const paths = pathsOf(db, facts);
  const rights = method === 'replication' && blockers.length === 0 && paths.source.ok && paths.target.ok ? { source: paths.source.path, target: paths.target.path } : null;
  return {
    dbname: db.targetName,
    ...(db.targetName !== db.info.name ? { source: db.info.name } : {}),
    method: blockers.length > 0 ? null : method,
    action: decision.action,
    rights,
    replicationBlockers: method === 'replication' ? [] : replicationBlockers,
    blockers,
  };
}
