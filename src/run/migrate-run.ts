/**
 * A migrate() run under the destination's lock: preflight, the plan, roles
 * once, then each database as its plan says. A cluster that goes away ends
 * the run with a `connection` error: every database after it would fail the
 * same way, and a re-run picks up where this one stopped.
 *
 * @module
 */
import { err, ok, ResultAsync, safeTry, type Result } from 'neverthrow';
import { migrationError, type MigrationError } from '../errors.js';
import type { Connection } from '../pg/connect.js';
import type { PreflightFacts } from '../preflight/facts.js';
import { decisionFor } from '../preflight/decision.js';
import type { PreflightReport } from '../preflight/report.js';
import { sweepStaleTempDirs } from '../pg/temp-dirs.js';
import { SchemaSync } from '../schema/schema-sync.js';
import { extensionsLeftOut } from '../schema/replication-plumbing.js';
import { cancelledError } from '../util/cancellation.js';
import { forEachLimited } from '../util/for-each-limited.js';
import type { RunContext } from './context.js';
import { migrateDatabase, refuseDatabase, type DatabaseWork } from './database-migration.js';
import { preflightFor, type Preflighted } from './preflight-run.js';
import { SchemaDumps } from './schema-dumps.js';

export function runMigration(context: RunContext, target: Connection, prepared?: Preflighted): ResultAsync<void, MigrationError> {
  const dumps = new SchemaDumps(context);
  const run = safeTry(async function* () {
    // A process that died mid-run could not remove its temporary files (its schema dump, its passfile).
    await sweepStaleTempDirs();
    // The databases that start first dump their schemas while preflight reads on, roles are copied and their databases created.
    const { report, facts } = yield* preflightFor(context, prepared, (selected) => {
      for (const db of selected.slice(0, context.options.jobs)) dumps.start(db.name);
    });
    if (context.signal?.aborted) return err(cancelledError('migrate()'));
    // What blocks only replication fails the databases that need it, each with its reasons, below.
    const clusterFailures = report.checks.filter((c) => c.status === 'fail' && c.database === undefined && c.blocks === 'migration');
    if (clusterFailures.length > 0) {
      return err(
        migrationError('preflight', `Preflight failed: ${clusterFailures.map((c) => c.message).join('; ')}`, {
          reasons: clusterFailures.map((c) => (c.hint ? `${c.message} (${c.hint})` : c.message)),
          ...(clusterFailures[0]?.hint ? { hint: clusterFailures[0].hint } : {}),
        }),
      );
    }
    context.emit({ type: 'plan', databases: report.databases });

    const work = planWork(report, facts).filter((w) => w.decision.action !== 'keep');
    for (const item of work.filter((w) => w.blockers.length > 0)) await refuseDatabase({ ...context, targetCluster: target }, item);
    const pending = work.filter((w) => w.blockers.length === 0);
    if (pending.length === 0) return ok(undefined);

    const source = yield* context.clusters.of('source');
    const tools = yield* context.tools();
    const schemaSync = new SchemaSync({
      tools,
      source: context.options.source,
      target: context.options.target,
      redactor: context.redactor,
      emit: context.emit,
      jobs: context.options.jobs,
      leaveOutExtensions: extensionsLeftOut(context.options.excludeExtensions),
      signal: context.signal,
      majors: { source: facts.source.settings.major, target: facts.target.settings.major },
    });
    const fresh = pending.filter((item) => item.decision.action !== 'resume').map((item) => item.info.name);
    dumps.keepOnly(new Set(fresh));
    for (const database of fresh.slice(0, context.options.jobs)) dumps.start(database);
    const roles = yield* schemaSync.copyRoles(source, target, {
      sourceSuperuser: facts.source.rights.superuser,
      targetSuperuser: facts.target.rights.superuser,
      excludeRoles: context.options.excludeRoles,
    });
    if (context.signal?.aborted) return err(cancelledError('migrate()'));
    const databaseContext = { ...context, targetCluster: target, schemaSync, dumps, noOwner: roles.missing.length > 0 || roles.unreachable.length > 0 };
    // Databases move side by side; their table copies share the run's `jobs` slots.
    let lost: MigrationError | undefined;
    await forEachLimited(pending, context.options.jobs, async (item) => {
      if (lost || context.signal?.aborted) return;
      const outcome = await migrateDatabase(databaseContext, item);
      if (outcome.error?.kind === 'connection') lost ??= outcome.error;
    });
    if (context.signal?.aborted) return err(cancelledError('migrate()'));
    return lost ? err(lost) : ok(undefined);
  });
  // However the run ends, no dump it started stays behind.
  const settled = async (): Promise<Result<void, MigrationError>> => {
    const outcome = await run;
    await dumps.disposeUntaken();
    return outcome;
  };
  return new ResultAsync(settled());
}

/** Each planned database with what the run needs to migrate it. */
function planWork(report: PreflightReport, facts: PreflightFacts): DatabaseWork[] {
  return report.databases.flatMap((plan) => {
    const db = facts.databases.find((d) => d.targetName === plan.dbname);
    if (!db) return [];
    return [
      {
        info: db.info,
        target: db.targetName,
        method: plan.method ?? (facts.method === 'dump' || plan.replicationBlockers.length > 0 ? 'pg_dump' : 'replication'),
        decision: decisionFor(db, facts),
        fallbackReasons: plan.replicationBlockers,
        blockers: plan.blockers,
        previous: db.previous,
        source: { systemId: facts.source.settings.systemIdentifier, databaseOid: db.info.oid },
        targetOid: db.target.oid,
      },
    ];
  });
}
