/**
 * verify(): proves, database by database, that the destination holds what
 * the source holds. It reads the migration's state (so it works from any
 * process, and next to a run in another one) and verifies each selected
 * database the state records as `done` or `syncing`; the others are listed
 * as `skipped`, with why. It only reads, and takes no lock.
 *
 * A database that cannot be compared (an object it may not read, a
 * destination database that is gone) gets its verdict in the report; only a
 * cluster that cannot be reached, or a connection lost on the way, fails the
 * whole call (kind `connection`), since verifying again is then all there is
 * to do.
 *
 * @module
 */
import { targetNameOf } from '../options.js';
import { err, errAsync, ok, ResultAsync, safeTry } from 'neverthrow';
import { migrationError, type MigrationError } from '../errors.js';
import { isConnectionLoss, query, sideOf, toCause } from '../pg/connect.js';
import { withJob, type RunContext } from '../run/context.js';
import { selectsRecord } from '../run/read-status.js';
import { readStates, STATE_SCHEMA, type DatabaseRecord } from '../state/state-store.js';
import { verifyDatabase, type VerifySettings } from './database-verify.js';
import { reportOk, type DatabaseVerification, type VerifyOptions, type VerifyReport } from './report.js';
import { readVerifyOptions } from './verify-options.js';

export function runVerify(context: RunContext, options: VerifyOptions | undefined): ResultAsync<VerifyReport, MigrationError> {
  const read = readVerifyOptions(options);
  if (read.isErr()) return errAsync(read.error);
  const settings = read.value;
  return safeTry(async function* () {
    const target = yield* context.clusters.of('target');
    const records = yield* query(target, context.redactor, 'internal', 'Reading the migration state', (sql) => readStates(sql));
    const selected = records.filter((r) => selectsRecord(context.options, r));
    const databases: DatabaseVerification[] = [];
    for (const record of selected) {
      const verdict = record.status === 'done' || record.status === 'syncing' ? yield* verifyOne(context, record, settings) : skipped(record);
      context.emit({ type: 'verify:database', dbname: record.dbname, status: verdict.status });
      databases.push(verdict);
    }
    // A database named in the options that no run recorded: nothing to verify, and the report says so.
    for (const sourceDbname of context.options.databases ?? []) {
      const dbname = targetNameOf(context.options, sourceDbname);
      if (selected.some((r) => r.dbname === dbname)) continue;
      const method = context.options.method === 'dump' ? 'pg_dump' : 'replication';
      const verdict: DatabaseVerification = {
        dbname,
        method,
        status: 'skipped',
        reason: 'No migration of it is recorded on the destination: migrate() it first',
        tables: [],
        differences: [],
        durationMs: 0,
      };
      context.emit({ type: 'verify:database', dbname, status: 'skipped' });
      databases.push(verdict);
    }
    return ok({ ok: reportOk(databases), databases });
  });
}

function verifyOne(context: RunContext, record: DatabaseRecord, settings: VerifySettings): ResultAsync<DatabaseVerification, MigrationError> {
  const { dbname } = record;
  const started = Date.now();
  // The state's own table is no data of the source's; a schema the migration left out is no one's to compare.
  const skipSchemas = [...(dbname === context.options.target.database ? [STATE_SCHEMA] : []), ...context.options.excludeSchemas];
  const verdict = (status: 'different' | 'unverifiable', reason: string): DatabaseVerification => ({
    dbname,
    method: record.method,
    status,
    reason,
    tables: [],
    differences: [],
    durationMs: Date.now() - started,
  });
  return withJob(context, { source: record.sourceDbname, target: dbname, replication: record.replicationName }, (job) =>
    ResultAsync.fromPromise(
      verifyDatabase(job, record, settings, skipSchemas).catch((error: unknown) => {
        // What the server refused (a table the user may not read, say) is this database's verdict.
        if (isConnectionLoss(error) || !isServerError(error)) throw error;
        const side = sideOf(error);
        const cause = toCause(error, context.redactor);
        return verdict('unverifiable', `Reading it${side ? ` on the ${side}` : ''} failed: ${cause.message}`);
      }),
      (error) => {
        const side = sideOf(error);
        const cause = toCause(error, context.redactor);
        if (!isConnectionLoss(error)) {
          return migrationError('internal', `Verifying "${dbname}" failed unexpectedly: ${cause.message}`, {
            side,
            database: dbname,
            cause,
            hint: 'This is a defect of the library; please report it with this message.',
          });
        }
        return migrationError('connection', `Verifying "${dbname}" failed: the connection${side ? ` to the ${side}` : ''} was lost (${cause.message})`, {
          side,
          database: dbname,
          cause,
          hint: 'Call verify() again once both clusters answer: it only reads, so there is nothing to undo.',
        });
      },
    ),
  ).orElse((error) => {
    if (error.kind !== 'database-missing') return err(error);
    return ok(
      error.side === 'target'
        ? verdict('different', `"${dbname}" does not exist on the destination; run migrate() again to copy it anew`)
        : verdict('unverifiable', `"${dbname}" no longer exists on the source, so there is nothing to compare it with`),
    );
  });
}

function skipped(record: DatabaseRecord): DatabaseVerification {
  const reason =
    record.status === 'running'
      ? 'Its migration has not finished (or was interrupted): verify it once it is done or syncing'
      : `Its migration failed${record.error ? ` (${record.error})` : ''}: run migrate() again, then verify it`;
  return { dbname: record.dbname, method: record.method, status: 'skipped', reason, tables: [], differences: [], durationMs: 0 };
}

/** An error PostgreSQL sent, with its SQLSTATE. */
function isServerError(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}
