/**
 * stop(): ends the migration of the selected databases, under the
 * destination's lock. It first waits until each replicated destination has
 * applied everything its source had written when the stop began; only then
 * does it sync sequences and remove the subscription, slot and publication.
 * A replication that cannot catch up in time makes the stop refuse
 * (`unsafe-stop`), dropping nothing — unless forced, and then that database
 * ends `failed`, never `done`.
 *
 * @module
 */
import { cancelledError } from '../util/cancellation.js';
import { err, ok, safeTry, type ResultAsync } from 'neverthrow';
import { describeError, migrationError, type MigrationError } from '../errors.js';
import { query, type Connection } from '../pg/connect.js';
import { isSettled } from '../state/lifecycle.js';
import { readStates, recordState, type StateChange } from '../state/state-store.js';
import type { DatabaseStatus, MigrationStatus } from '../status.js';
import { namesOf, withJob, type RunContext } from './context.js';
import { readStatus, unknownRequested, unknownRequestedError } from './read-status.js';

export interface StopRequest {
  readonly force: boolean;
  readonly timeoutMs: number;
}

export function runStop(context: RunContext, target: Connection, request: StopRequest): ResultAsync<void, MigrationError> {
  return safeTry(async function* () {
    // Under the lock no run is live: a record left `running` is an interrupted one.
    const status: MigrationStatus = yield* readStatus(context, { live: false });
    const unknown = unknownRequested(context.options, status);
    if (unknown.length > 0) return err(unknownRequestedError(unknown));
    const unsafe = status.databases.filter((db) => !isSettled(db.method, db.status));
    const unreachable = unsafe.filter((db) => db.errorKind === 'connection');
    if (unreachable.length > 0 && !request.force) {
      // Nothing is wrong with the migration itself: stopping has to wait until both clusters answer.
      return err(
        migrationError('connection', `A cluster does not answer for ${unreachable.map((db) => db.dbname).join(', ')}: ${unreachable[0]?.error ?? ''}`, {
          hint: 'Call stop() again once both clusters are reachable; nothing was stopped.',
          reasons: unreachable.map((db) => `${db.dbname}: ${db.error ?? 'unreachable'}`),
        }),
      );
    }
    if (unsafe.length > 0 && !request.force) {
      return err(
        migrationError('unsafe-stop', `Not every database is in a safe state: ${unsafe.map((db) => `${db.dbname} (${db.method} ${db.status})`).join(', ')}`, {
          hint: 'Wait for every dump to be done and every replication to be syncing, or call stop({ force: true }) to clean up anyway.',
          reasons: unsafe.map((db) => `${db.dbname}: ${db.status}${db.error ? ` (${db.error})` : ''}`),
        }),
      );
    }
    // A replication already stopped is `done` and holds nothing; a pending one never started.
    const replicated = status.databases.filter((db) => db.method === 'replication' && db.status !== 'done' && db.status !== 'pending');
    // Which of them had synced: their status may read failed now (or running, from a resume that died), but their destination holds the copy.
    const records = yield* query(target, context.redactor, 'internal', 'Reading the migration state', readStates);
    const synced = new Set(records.filter((r) => r.synced).map((r) => r.dbname));

    const behind = new Map<string, string>();
    for (const db of replicated.filter((d) => d.status === 'syncing')) {
      const caught = yield* withJob(context, namesOf(db), (job) => context.strategies.replication.catchUp(job, request.timeoutMs));
      if (!caught.caughtUp) behind.set(db.dbname, caught.behind ?? 'behind');
    }
    // Cancelled while waiting: nothing is dropped.
    if (context.signal?.aborted) return err(cancelledError('stop()'));
    if (behind.size > 0 && !request.force) {
      return err(
        migrationError(
          'unsafe-stop',
          `The destination did not catch up with the source within ${Math.round(request.timeoutMs / 1000)} s: ${[...behind].map(([db, why]) => `${db} (${why})`).join(', ')}; nothing was stopped`,
          {
            hint: 'Stop the writes on the source (or wait for them to ease) and call stop() again, raise its timeoutMs, or call stop({ force: true }) to stop anyway: those databases are then marked failed.',
            reasons: [...behind].map(([db, why]) => `${db}: ${why}`),
          },
        ),
      );
    }

    const failures: MigrationError[] = [];
    for (const db of replicated) {
      if (context.signal?.aborted) return err(cancelledError('stop()'));
      // On sessions the signal leaves open: a stop heeds it only until it starts dropping (see StopOptions.signal).
      const stopped = await withJob({ ...context, signal: undefined }, namesOf(db), (job) =>
        context.strategies.replication.stop(job, { standalone: true, signal: context.signal }),
      )
        // A database never created on the destination holds no subscription; its source side was cleaned when it failed.
        .orElse((error) => (error.kind === 'database-missing' && error.side === 'target' ? ok(undefined) : err(error)));
      if (stopped.isErr()) {
        if (stopped.error.kind === 'cancelled') return err(cancelledError('stop()'));
        failures.push(stopped.error);
        continue;
      }
      await query(target, context.redactor, 'internal', 'Recording the stop', (sql) => recordState(sql, db.dbname, outcomeOf(db, synced.has(db.dbname), behind.get(db.dbname)))).orElse(
        (error) => ok(failures.push(error)),
      );
    }
    const [first] = failures;
    if (!first) return ok(undefined);
    return err(
      migrationError('replication', `Stopping failed for ${failures.length} database(s): ${failures.map((e) => e.message).join('; ')}`, {
        reasons: failures.map(describeError),
        ...(first.hint ? { hint: first.hint } : {}),
      }),
    );
  });
}

/**
 * `done` only for a replication that was syncing and caught up. One stopped
 * by force while behind, or while its replication read as failed after it
 * had synced (`synced`: its record says `syncing`), is `unsafe-stop`: its
 * destination holds the copy and may have been switched over to, so a
 * re-run will not drop it. One that never synced stays failed as it was.
 */
function outcomeOf(db: DatabaseStatus, synced: boolean, behind: string | undefined): StateChange {
  if (db.status === 'syncing' && behind === undefined) return { status: 'done' };
  if (db.status === 'syncing') {
    return {
      status: 'failed',
      error: `Stopped by force before the destination caught up with the source (${behind}); rows written on the source since may be missing`,
      errorKind: 'unsafe-stop',
    };
  }
  if (synced) {
    return {
      status: 'failed',
      error: `Stopped by force while its replication was failing (${db.error ?? 'failed'}); rows written on the source since it failed may be missing`,
      errorKind: 'unsafe-stop',
    };
  }
  return { status: 'failed', error: db.error ?? 'Stopped before it finished', errorKind: db.errorKind ?? 'replication' };
}
