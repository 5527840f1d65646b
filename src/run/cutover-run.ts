/**
 * cutover(): switches each replicated database over to the destination, one
 * at a time, under the destination's lock: optionally makes the source
 * database read-only, waits until the destination has applied everything,
 * brings sequences and large objects level (replication carries neither),
 * verifies every table, then stops the replication. Any failure before the
 * stop leaves that database replicating and its source writable again, and
 * ends the call: the databases after it are not touched.
 *
 * @module
 */
import { cancelledError } from '../util/cancellation.js';
import { err, errAsync, ok, okAsync, safeTry, ResultAsync } from 'neverthrow';
import { syncLargeObjects } from '../copy/large-object-copy.js';
import { syncSequences } from '../copy/copy-engine.js';
import { migrationError, type MigrationError } from '../errors.js';
import { closeConnection, openConnection, query, type Connection } from '../pg/connect.js';
import { readableIdent } from '../pg/identifiers.js';
import type { DatabaseRecord } from '../state/state-store.js';
import { recordState } from '../state/state-store.js';
import type { DatabaseStatus } from '../status.js';
import type { DatabaseJob } from '../strategies/strategy.js';
import { verifyDatabase } from '../verify/database-verify.js';
import { namesOf, withJob, type RunContext } from './context.js';
import { readStatus, unknownRequested, unknownRequestedError } from './read-status.js';
import { makeReadOnly, readOnlySetting, restoreSetting, type ReadOnlySetting } from './source-read-only.js';

export interface CutoverRequest {
  /** Set `default_transaction_read_only` on each source database first; restored if that database's cutover fails. */
  readonly readOnlySource: boolean;
  /** How long to wait for each destination to catch up. */
  readonly timeoutMs: number;
  /** Compare every table (and sequences, large objects, materialized views) before stopping. */
  readonly verify: boolean;
  /** Rows per key range when verifying. */
  readonly rangeRows: number;
}

export function runCutover(context: RunContext, target: Connection, request: CutoverRequest): ResultAsync<void, MigrationError> {
  return safeTry(async function* () {
    const status = yield* readStatus(context, { live: false });
    const unknown = unknownRequested(context.options, status);
    if (unknown.length > 0) return err(unknownRequestedError(unknown));
    const unready = status.databases.filter(
      (db) => (db.method === 'replication' && db.status !== 'syncing' && db.status !== 'done') || (db.method === 'pg_dump' && db.status !== 'done'),
    );
    if (unready.length > 0) {
      return err(
        migrationError('unsafe-stop', `Not every database is ready to switch over: ${unready.map((db) => `${db.dbname} (${db.method} ${db.status})`).join(', ')}`, {
          hint: 'Cut over once every dump is done and every replication syncing (see status()).',
          reasons: unready.map((db) => `${db.dbname}: ${db.status}${db.error ? ` (${db.error})` : ''}`),
        }),
      );
    }
    for (const db of status.databases.filter((d) => d.method === 'replication' && d.status === 'syncing')) {
      if (context.signal?.aborted) return err(cancelledError('cutover()'));
      yield* withJob(context, namesOf(db), (job) => cutoverDatabase(context, target, job, db, request), { sourceReadWrite: true });
    }
    return ok(undefined);
  });
}

function cutoverDatabase(context: RunContext, target: Connection, job: DatabaseJob, db: DatabaseStatus, request: CutoverRequest): ResultAsync<void, MigrationError> {
  // The database goes by its destination name; the source database it is read from may be named otherwise.
  const { dbname, sourceDbname } = job;
  const step = (name: 'read-only' | 'caught-up' | 'synced' | 'verified' | 'stopped' | 'restored', detail: string): void =>
    context.emit({ type: 'cutover', dbname, step: name, detail });
  const replication = context.strategies.replication;
  // Known before the source changes: a change cut off without an answer is undone like one that landed.
  let readOnly: ReadOnlySetting | undefined;
  let landed = false;

  const madeReadOnly: ResultAsync<void, MigrationError> = !request.readOnlySource
    ? okAsync(undefined)
    : query(job.source, context.redactor, 'privilege', `Making "${sourceDbname}" read-only on the source`, async (sql) => {
        readOnly = await readOnlySetting(sql, sourceDbname);
        const otherSessions = await makeReadOnly(sql, readOnly);
        landed = true;
        step(
          'read-only',
          otherSessions > 0
            ? `new sessions of "${sourceDbname}" on the source are read-only; ${otherSessions} session(s) opened before may still write until they reconnect`
            : `new sessions of "${sourceDbname}" on the source are read-only`,
        );
      });

  const switched = madeReadOnly
    .andThen(() => replication.catchUp(job, request.timeoutMs))
    .andThen((caught) =>
      caught.caughtUp
        ? okAsync(step('caught-up', `the destination applied everything the source had written`))
        : errAsync(
            migrationError('unsafe-stop', `"${dbname}" did not catch up within ${Math.round(request.timeoutMs / 1000)} s (${caught.behind ?? 'behind'}); it keeps replicating`, {
              database: dbname,
              hint: 'Stop the writes on the source (readOnlySource: true makes new sessions read-only) and cut over again, or raise timeoutMs.',
            }),
          ),
    )
    .andThen(() =>
      query(job.source, context.redactor, 'copy', `Syncing the sequences and large objects of "${dbname}"`, async () => {
        const sequences = await syncSequences(job);
        const largeObjects = await syncLargeObjects(job.source.sql, job.target.sql);
        step('synced', `${sequences} sequence(s) set, ${largeObjects} large object(s) copied or removed`);
      }),
    )
    .andThen(() =>
      request.verify ? verified(job, db, request).map(() => step('verified', 'every table, sequence and large object is equal on both sides')) : okAsync(undefined),
    )
    // Cancelled before the stop: roll back like any failure.
    .andThen(() => (context.signal?.aborted ? err(cancelledError(`The cutover of "${dbname}"`, { database: dbname })) : okAsync(undefined)));

  // The stop runs on sessions the signal leaves open, and heeds it only until it starts removing the subscription:
  // cancelled before, the cutover rolls back like any failure; past it, the stop finishes (see StopOptions.signal).
  let stopping = false;
  const stopped = switched.andThen(() => {
    stopping = true;
    return withJob({ ...context, signal: undefined }, namesOf(db), (settled) => replication.stop(settled, { standalone: true, signal: context.signal }), {
      sourceReadWrite: true,
    });
  });

  return stopped
    .orElse((failed) => {
      // A stop that failed for another reason than the cancellation may have removed the subscription: the source stays read-only.
      if (stopping && failed.kind !== 'cancelled') return errAsync(failed);
      // As the caller will read it: a failure after the signal fired is the cancellation (withJob would say so, dropping what is added here).
      const error = context.signal?.aborted && failed.kind !== 'cancelled' ? cancelledError(`The cutover of "${dbname}"`, { database: dbname }) : failed;
      if (!readOnly) return errAsync(error);
      const setting = readOnly;
      return restoreSource(context, setting)
        .map((changed) => {
          // Unchanged: the change never landed, so there is nothing to report restored.
          if (changed) step('restored', `${restoredDetail(setting)}; replication keeps running`);
        })
        .mapErr((failure) => stillReadOnly(error, setting, landed, failure))
        .andThen(() => errAsync(error));
    })
    .andThen(() =>
      query(target, context.redactor, 'internal', 'Recording the cutover', (sql) => recordState(sql, dbname, { status: 'done' })).map(() =>
        step('stopped', `replication of "${dbname}" stopped; the destination is on its own${request.readOnlySource ? `, "${sourceDbname}" on the source stays read-only` : ''}`),
      ),
    );
}

/**
 * Puts the source database's setting back on a connection of its own: the
 * job's pools are closed by a cancellation, and may be what failed.
 */
function restoreSource(context: RunContext, setting: ReadOnlySetting): ResultAsync<boolean, MigrationError> {
  return openConnection(context.options.source, 'source', setting.dbname, context.redactor, { max: 1, readWrite: true }).andThen((connection) =>
    query(connection, context.redactor, 'privilege', `Making "${setting.dbname}" writable again`, (sql) => restoreSetting(sql, setting))
      .andTee(() => closeConnection(connection))
      .orTee(() => closeConnection(connection)),
  );
}

function restoredDetail(setting: ReadOnlySetting): string {
  return setting.previous === null
    ? `"${setting.dbname}" on the source is writable again`
    : `"${setting.dbname}" on the source has its own default_transaction_read_only = ${setting.previous} back`;
}

/**
 * The cutover's failure, saying the source database could not be put back
 * and how to do it by hand. The kind stays the cutover's: a caller switches
 * on why the cutover ended, and a cancelled call must still read `cancelled`.
 */
function stillReadOnly(error: MigrationError, setting: ReadOnlySetting, landed: boolean, failure: MigrationError): MigrationError {
  const state = landed ? 'is still read-only' : 'may be read-only (the change was cut off before it answered)';
  return {
    ...error,
    message: `${error.message}; "${setting.dbname}" on the source ${state} for new sessions, since making it writable again failed: ${failure.message}`,
    hint: `Run on the source: ${setting.restoreStatement}.${error.hint ? ` ${error.hint}` : ''}`,
  };
}

/** The verification's verdict, as an error naming each difference when there is one. */
function verified(job: DatabaseJob, db: DatabaseStatus, request: CutoverRequest): ResultAsync<void, MigrationError> {
  // Sequences and large objects were just brought level and the destination caught up: every difference is one.
  const record = { dbname: db.dbname, method: 'replication', status: 'done' } as DatabaseRecord;
  return ResultAsync.fromPromise(verifyDatabase(job, record, { catchUpTimeoutMs: request.timeoutMs, rangeRows: request.rangeRows }, []), (error) =>
    migrationError('verification', `Verifying "${db.dbname}" failed: ${error instanceof Error ? error.message : String(error)}`, { database: db.dbname }),
  ).andThen((verification) =>
    verification.status === 'equal'
      ? okAsync(undefined)
      : err(
          migrationError('verification', `"${db.dbname}" differs between source and destination: ${verification.differences.slice(0, 5).map((d) => `${d.object} (${d.kind}: ${d.detail})`).join('; ')}`, {
            database: db.dbname,
            reasons: verification.differences.map((d) => `${d.object}: ${d.kind}: ${d.detail}`),
            hint: `Replication keeps running. Find why ${readableIdent(db.dbname)} differs (verify() names each table), fix it, and cut over again.`,
          }),
        ),
  );
}
