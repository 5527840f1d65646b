/**
 * LogicalReplicationStrategy: a publication for all tables on the source, the
 * rows copied once by the copy engine, and a subscription on the destination
 * that follows every change from there on, until `stop()`.
 *
 * The rows and the changes meet exactly: the slot is created first, over a
 * replication connection that exports its snapshot; the copy reads under
 * that snapshot, and the subscription then streams from that slot with
 * `copy_data = false`, starting where the snapshot ends. Indexes and
 * constraints (post-data) are built over each loaded table as its rows
 * arrive, the rest after the last, all before the subscription: nothing is applied until it exists, and the subscriber needs
 * each table's primary key (or replica identity index) to apply an UPDATE
 * or DELETE. Foreign keys and triggers do not get in the way: replication
 * workers run with `session_replication_role = replica`.
 *
 * @module
 */
import { cancelledError } from '../util/cancellation.js';
import { backoff } from '../util/backoff.js';
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { migrationError, type MigrationError } from '../errors.js';
import type { Emit } from '../events.js';
import { connectionLost, isConnectionLoss, sideByAddress, sideOf, toCause } from '../pg/connect.js';
import { findSlots, findSubscription, publicationExists, syncSlotPattern } from '../pg/queries/replication.js';
import { subscriptionErrors } from '../pg/queries/subscription-errors.js';
import { syncSequences } from '../copy/copy-engine.js';
import { refreshMaterializedViews } from '../copy/materialized-views.js';
import { syncLargeObjects } from '../copy/large-object-copy.js';
import { subscriptionConninfo } from './replication/conninfo.js';
import { detectPaths } from './replication/rights/detect.js';
import { rightsFor, type ReplicationRights } from './replication/rights/replication-rights.js';
import { EXTRAS_EXTENSION } from '../pg/queries/publishing-rights.js';
import { waitForCatchUp } from './replication/catch-up.js';
import { checkReplicationHealth } from './replication/health.js';
import { createSlotWithSnapshot, type SlotSnapshot } from './replication/slot-snapshot.js';
import { copiedBeforeSubscribing } from './replication/copied-before-subscribing.js';
import { compareWithCopy } from './replication/snapshot-counts.js';
import type { TableRead } from '../copy/copy-engine.js';
import { waitUntilSyncing, type SyncWaitOptions } from './replication/sync-wait.js';
import type { DatabaseSchema } from '../schema/schema-sync.js';
import { copyDataAndIndexes } from './data-and-indexes.js';
import { quietReplicaTriggers, restoreReplicaTriggers } from './replication/replica-triggers.js';
import type { CatchUpResult, DatabaseJob, Inspection, MigrationStart, MigrationStrategy, Reached, StopOptions } from './strategy.js';
import { analyzeWhatLacksStatistics } from '../schema/statistics.js';

/** How long a status read may watch a replication that reported errors to see whether it still makes progress. */
const HEALTH_PROBE_MS = 3000;

export class LogicalReplicationStrategy implements MigrationStrategy {
  readonly method = 'replication' as const;

  migrate(job: DatabaseJob, start: MigrationStart): ResultAsync<Reached, MigrationError> {
    const name = job.replicationName;
    if (start.kind === 'resume') {
      // Only a subscription whose tables the server copied itself needs its rows counted; ours checked them before it existed.
      return this.#rightsOf(job, { install: false }).andThen((rights) =>
        this.#step(job, 'Resuming', () => copiedBeforeSubscribing(job.target.sql, name))
          .andThen((rowsVerified) => this.#awaitSyncing(job, name, { rowsVerified }))
          .map((reached) => ({ ...reached, rights: rights.paths })),
      );
    }
    const { schema } = start;
    // The publication and the slot are the source's, and need nothing of the destination: they are made while the
    // pre-data schema restores, and the copy lists the source's tables meanwhile too (data-and-indexes.ts).
    const preData = schema.applyPreData();
    // A failure before the copy waits for the restore, so that no tool outlives the call.
    const afterPreData = (error: MigrationError): ResultAsync<never, MigrationError> =>
      preData.orElse(() => okAsync(undefined)).andThen(() => errAsync(error));
    return this.#rightsOf(job, { install: false })
      .andThen((rights) => this.#step(job, 'Creating the publication and slot', () => this.#publishWithSnapshot(job, rights, name)))
      .orElse(afterPreData)
      .andThen((held) => this.#copyUnder(job, schema, held, preData))
      .andThen((read) => {
        // The copied rows are counted while the subscription is made: it commits only once every count matched (#subscribe).
        const counted = this.#countCopied(job, read);
        // Whatever fails, the count ends before the call does; a count that differs is the graver news.
        const afterCount = (error: MigrationError): ResultAsync<never, MigrationError> => counted.andThen(() => errAsync(error));
        // The extension that lets the destination's user subscribe goes in once the restored schema is there, which may hold it.
        return this.#rightsOf(job, { install: true, announced: true })
          .andThen((rights) =>
            this.#step(job, 'Quieting the triggers that fire for a replica', () => quietReplicaTriggers(job.target.sql))
              // Before the subscription: a run that dies after it resumes the replication and would never come back for them.
              .andThen(() => schema.applyDatabaseProperties())
              .andThen(() => this.#subscribe(job, rights, name, counted))
              .map(() => rights),
          )
          .orElse(afterCount);
      })
      .andThen((rights) => this.#awaitSyncing(job, name, { rowsVerified: true }).map((reached) => ({ ...reached, rights: rights.paths })));
  }

  inspect(job: DatabaseJob, applyErrorsBaseline: number): ResultAsync<Inspection, MigrationError> {
    return this.#step(job, 'Checking the replication', async () => {
      const health = await checkReplicationHealth(job.source.sql, job.target.sql, job.replicationName, {
        baselineErrors: applyErrorsBaseline,
        maxLagBytes: job.maxLagBytes,
        probeMs: HEALTH_PROBE_MS,
        tables: job.tables,
      });
      return { problem: health.problem, lag: { bytes: health.lagBytes, seconds: health.lagSeconds } };
    });
  }

  catchUp(job: DatabaseJob, timeoutMs: number): ResultAsync<CatchUpResult, MigrationError> {
    return this.#step(job, 'Waiting for the destination to catch up', async () => {
      const { dbname } = job;
      job.emit({ type: 'catch-up', dbname, phase: 'waiting', sourceLsn: null, appliedLsn: null, waitedMs: 0 });
      const wait = await waitForCatchUp(job.source.sql, job.target.sql, job.replicationName, {
        timeoutMs,
        pollMs: Math.min(job.pollIntervalMs, 200),
        signal: job.signal,
      });
      const { sourceLsn, appliedLsn, waitedMs } = wait;
      job.emit({ type: 'catch-up', dbname, phase: wait.caughtUp ? 'caught-up' : 'behind', sourceLsn, appliedLsn, waitedMs });
      return wait.caughtUp ? { caughtUp: true } : { caughtUp: false, behind: `applied up to ${appliedLsn ?? 'nothing'} of the source's ${sourceLsn}` };
    });
  }

  stop(job: DatabaseJob, options: StopOptions = {}): ResultAsync<void, MigrationError> {
    const name = job.replicationName;
    let committed = false;
    const goOn = (): void => {
      if (options.signal?.aborted) throw new Error('cancelled');
    };
    const stopping = this.#rightsOf(job, { install: false }).andThen((rights) => this.#step(job, 'Stopping replication', async () => {
      const subscription = await findSubscription(job.target.sql, name);
      // Slots of table copies the server made itself (a refresh with copy_data, or a subscription an older version made); one we cannot tell from another destination's is left be.
      const syncSlots = subscription ? await syncSlotPattern(job.target.sql, subscription.oid) : null;
      if (subscription) {
        goOn();
        // PostgreSQL replicates neither sequences nor materialized views: bring them level before the destination takes writes.
        await syncSequences(job);
        const largeObjects = await syncLargeObjects(job.source.sql, job.target.sql);
        if (largeObjects > 0) job.emit({ type: 'objects:copied', dbname: job.dbname, kind: 'large-objects', count: largeObjects });
        await refreshMaterializedViews(job.source.sql, job.target.sql);
        goOn();
        if (options.standalone) await this.#analyzeTheRest(job);
        goOn();
        // The point of no return: from here the stop finishes, cancelled or not.
        committed = true;
        await rights.dropSubscription(job.target.sql, name);
      }
      committed = true;
      // Only now that nothing replicates into it may the destination's triggers fire for a replica again.
      await restoreReplicaTriggers(job.source.sql, job.target.sql);
      await this.#dropSlots(job, rights, name, syncSlots);
      await rights.dropPublication(job.source.sql, name);
      job.emit({ type: 'replication:state', dbname: job.dbname, state: 'stopped', tablesReady: 0, tablesTotal: 0 });
    }));
    return stopping.mapErr((error) =>
      !committed && options.signal?.aborted ? cancelledError(`Stopping replication for "${job.dbname}"`, { database: job.dbname }) : error,
    );
  }

  /**
   * The tables autovacuum has not analyzed since the copy left them to it
   * (schema/statistics.ts); one another session holds locked is left to
   * autovacuum rather than waited for.
   */
  async #analyzeTheRest(job: DatabaseJob): Promise<void> {
    const { analyzed, left } = await analyzeWhatLacksStatistics(job.target.sql, { waitForLocks: false, jobs: job.jobs, slot: (work) => job.budget.run(work) });
    if (analyzed.length > 0) {
      const detail = `${analyzed.length} ${analyzed.length === 1 ? 'table' : 'tables'} analyzed that autovacuum had not reached`;
      job.emit({ type: 'schema', step: 'statistics', dbname: job.dbname, detail });
    }
    if (left.length > 0) {
      job.emit({
        type: 'warning',
        dbname: job.dbname,
        message: `${left.length} ${left.length === 1 ? 'table has' : 'tables have'} no planner statistics yet (locked by another session, or not the migration user's to analyze): ${left.slice(0, 10).join(', ')}${left.length > 10 ? ', …' : ''}`,
        hint: `Autovacuum analyzes them in time; to have them now, run as their owner: ANALYZE ${left.slice(0, 10).join(', ')}${left.length > 10 ? ', …' : ''};`,
      });
    }
  }

  /**
   * The rights paths this database replicates by, from the live clusters;
   * with `install`, puts the extension into the destination database when
   * that is the path and it is not there yet.
   */
  #rightsOf(job: DatabaseJob, options: { install: boolean; announced?: boolean }): ResultAsync<ReplicationRights, MigrationError> {
    return this.#step(job, 'Choosing the replication rights', async () => {
      const choice = await detectPaths(job.sourceDbname, job.source.sql, job.target.sql);
      if (!choice.ok) throw new RightsMissing(choice.missing, choice.fix);
      if (options.install && choice.path.target === 'extension') {
        const [row] = await job.target.sql<{ installed: boolean }[]>`select exists (select 1 from pg_extension where extname = ${EXTRAS_EXTENSION}) as installed`;
        if (!row?.installed) {
          await job.target.sql.unsafe(`create extension if not exists ${EXTRAS_EXTENSION} cascade`);
          job.emit({ type: 'schema', step: 'extension', dbname: job.dbname, detail: `${EXTRAS_EXTENSION} installed, to subscribe without superuser` });
        }
      }
      if (!options.announced) job.emit({ type: 'replication:rights', dbname: job.dbname, source: choice.path.source, target: choice.path.target, detail: choice.detail });
      return rightsFor(choice.path);
    });
  }

  /**
   * Creates the publication, then the slot with its snapshot: pgoutput looks
   * the publication up as of each change it decodes, so it must predate the slot.
   */
  async #publishWithSnapshot(job: DatabaseJob, rights: ReplicationRights, name: string): Promise<SlotSnapshot> {
    job.emit({ type: 'replication:state', dbname: job.dbname, state: 'publishing', tablesReady: 0, tablesTotal: 0 });
    if (!(await publicationExists(job.source.sql, name))) await rights.createPublication(job.source.sql, name, job.tables);
    // A slot left by a run that died before its subscription existed would block the name; its position is worthless without its snapshot.
    await this.#dropSlots(job, rights, name, null);
    const [row] = await job.source.sql<{ version: string }[]>`select current_setting('server_version_num') as version`;
    return createSlotWithSnapshot(job.sourceConfig, job.sourceDbname, name, Number(row?.version));
  }

  /**
   * Copies the data under the slot's snapshot, each table indexed as its rows
   * arrive, then releases the snapshot: the rows each table read, for
   * {@link #countCopied}.
   */
  #copyUnder(job: DatabaseJob, schema: DatabaseSchema, held: SlotSnapshot, preData: ResultAsync<void, MigrationError>): ResultAsync<readonly TableRead[], MigrationError> {
    const lostSnapshot = (): ResultAsync<never, MigrationError> => this.#step(job, "Copying the data under the slot's snapshot", () => Promise.reject(held.lostError()));
    // A reader that came after the snapshot's connection closed fails for that reason, whatever it says.
    const failIfLost = (error: MigrationError): ResultAsync<never, MigrationError> => (held.lost() ? lostSnapshot() : errAsync(error));
    const emit: Emit = (event) => {
      job.emit(event);
      if (event.type === 'copy:start' || event.type === 'table:copied') {
        const [tablesReady, tablesTotal] = event.type === 'copy:start' ? [0, event.tables] : [event.tablesDone, event.tablesTotal];
        job.emit({ type: 'replication:state', dbname: job.dbname, state: 'copying', tablesReady, tablesTotal });
      }
    };
    // Statistics are left to autovacuum while the destination streams, and brought level by stop() (schema/statistics.ts).
    return copyDataAndIndexes({ ...job, emit }, schema, { snapshot: held.snapshotId, analyze: false, preData })
      .orElse(failIfLost)
      .andThen((copied) => (held.lost() ? lostSnapshot() : okAsync(copied.read)))
      .andThen((read) => ResultAsync.fromSafePromise(held.release()).map(() => read))
      .orElse((error) => ResultAsync.fromSafePromise(held.release()).andThen(() => errAsync(error)));
  }

  /**
   * Proves every table holds on the destination the rows the copy read of it
   * (snapshot-counts.ts). Nothing else writes there until the subscription
   * commits, which waits for this.
   */
  #countCopied(job: DatabaseJob, read: readonly TableRead[]): ResultAsync<void, MigrationError> {
    return this.#step(job, 'Checking the copied rows', async () => {
      const { tables, differing } = await compareWithCopy(job.target.sql, read, job.jobs);
      if (differing.length > 0) {
        throw new Error(`the destination's row counts differ from the source's snapshot for ${differing.slice(0, 5).join(', ')}${differing.length > 5 ? ', …' : ''}`);
      }
      job.emit({ type: 'replication:state', dbname: job.dbname, state: 'verifying', tablesReady: tables, tablesTotal: tables });
    });
  }

  /**
   * Subscribes on the slot the data was copied from: no slot of its own, no
   * copy of its own. The subscription is made while `counted` runs, in a
   * transaction that commits only if the counts matched: a subscription is
   * never there unless its rows were proven, which a resume relies on
   * (copied-before-subscribing.ts).
   */
  #subscribe(job: DatabaseJob, rights: ReplicationRights, name: string, counted: ResultAsync<void, MigrationError>): ResultAsync<void, MigrationError> {
    const commitIf = counted.match(
      () => true,
      () => false,
    );
    const spec = { name, conninfo: subscriptionConninfo(job.sourceConfig, job.sourceDbname), publication: name, slot: name, existingSlot: true, commitIf };
    return this.#step(job, 'Subscribing', () => rights.createSubscription(job.target.sql, spec))
      .andThen(() => counted)
      .map(() => job.emit({ type: 'replication:state', dbname: job.dbname, state: 'subscribed', tablesReady: 0, tablesTotal: 0 }));
  }

  #awaitSyncing(job: DatabaseJob, name: string, options: SyncWaitOptions): ResultAsync<Reached, MigrationError> {
    return this.#step(job, 'Waiting for the replication to sync', async () => {
      const tables = await waitUntilSyncing(job, name, options);
      await refreshMaterializedViews(job.source.sql, job.target.sql);
      const subscription = await findSubscription(job.target.sql, name);
      const counted = subscription ? await subscriptionErrors(job.target.sql, subscription.oid) : { apply: 0, sync: 0 };
      job.emit({ type: 'replication:state', dbname: job.dbname, state: 'syncing', tablesReady: tables, tablesTotal: tables });
      return { state: 'syncing' as const, applyErrorsBaseline: counted.apply + counted.sync };
    });
  }

  /**
   * Drops our slot (and the subscription's table-sync slots, matched by
   * `syncSlots`), waiting for their walsenders to go. The name is this
   * migration's own, never another destination's: a walsender still holding
   * it serves a subscription of ours that is gone.
   */
  async #dropSlots(job: DatabaseJob, rights: ReplicationRights, name: string, syncSlots: string | null): Promise<void> {
    const patience = Date.now() + 30_000;
    const deadline = patience + 30_000;
    const pause = backoff(200);
    for (;;) {
      const slots = await findSlots(job.source.sql, [name], syncSlots);
      if (slots.length === 0) return;
      for (const slot of slots.filter((s) => !s.active)) await rights.dropSlot(job.source.sql, slot.name);
      if (slots.every((s) => !s.active)) return;
      if (Date.now() > deadline) throw new Error(`Replication slot ${name} stays in use on the source; drop it with pg_drop_replication_slot once idle`);
      if (Date.now() > patience) {
        // The subscriber is gone; a walsender still holding the slot only delays the inevitable.
        for (const slot of slots) {
          if (slot.activePid !== null) await job.source.sql`select pg_terminate_backend(${slot.activePid})`;
        }
      }
      await pause();
    }
  }

  #step<T>(job: DatabaseJob, what: string, run: () => Promise<T>): ResultAsync<T, MigrationError> {
    return ResultAsync.fromPromise(run(), (error) => {
      if (job.signal?.aborted) return cancelledError(`${what} for "${job.dbname}"`, { database: job.dbname });
      if (error instanceof RightsMissing) {
        return migrationError('privilege', `${what} for "${job.dbname}" failed: ${error.message}`, { database: job.dbname, hint: error.hint });
      }
      const cause = toCause(error, job.redactor);
      if (isConnectionLoss(error)) {
        return connectionLost(`${what} for "${job.dbname}"`, cause, { side: sideOf(error) ?? sideByAddress(error, job.sourceConfig), database: job.dbname });
      }
      return migrationError('replication', `${what} for "${job.dbname}" failed: ${cause.message}`, {
        database: job.dbname,
        cause,
        ...(cause.hint !== undefined ? { hint: cause.hint } : {}),
      });
    });
  }
}

/** No rights path is open for a database: what is missing, and the statements that would open one. */
class RightsMissing extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}
