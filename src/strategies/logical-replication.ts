/**
 * LogicalReplicationStrategy: a publication for all tables on the source, a
 * subscription on the destination that copies the existing rows and then
 * follows every change, until `stop()`.
 *
 * The whole schema, post-data included, goes in before the subscription: the
 * subscriber needs each table's primary key (or replica identity index) to
 * apply an UPDATE or DELETE, and changes can arrive while the initial copy
 * still runs. Foreign keys and triggers do not get in the way: replication
 * workers run with `session_replication_role = replica`.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ResultAsync } from 'neverthrow';
import { migrationError, type MigrationError } from '../errors.js';
import { connectionLost, isConnectionLoss, sideByAddress, toCause } from '../pg/connect.js';
import { findSlots, findSubscription, publicationExists } from '../pg/queries/replication.js';
import { subscriptionErrors } from '../pg/queries/subscription-errors.js';
import { syncSequences } from '../copy/copy-engine.js';
import { refreshMaterializedViews } from '../copy/materialized-views.js';
import { subscriptionConninfo } from './replication/conninfo.js';
import { replicationName } from './replication/names.js';
import { superuserRights, type ReplicationRights } from './replication/replication-rights.js';
import { waitForCatchUp } from './replication/catch-up.js';
import { checkReplicationHealth } from './replication/health.js';
import { waitUntilSyncing } from './replication/sync-wait.js';
import type { CatchUpResult, DatabaseJob, Inspection, MigrationStart, MigrationStrategy, Reached } from './strategy.js';

/** How long a status read may watch a replication that reported errors to see whether it still makes progress. */
const HEALTH_PROBE_MS = 3000;

export class LogicalReplicationStrategy implements MigrationStrategy {
  readonly method = 'replication' as const;
  readonly #rights: ReplicationRights;

  constructor(rights: ReplicationRights = superuserRights) {
    this.#rights = rights;
  }

  migrate(job: DatabaseJob, start: MigrationStart): ResultAsync<Reached, MigrationError> {
    const name = replicationName(job.dbname);
    const subscribe =
      start.kind === 'fresh'
        ? start.schema
            .applyPreData()
            .andThen(() => start.schema.applyPostData())
            .andThen(() => this.#step(job, 'Creating the publication and subscription', () => this.#subscribe(job, name)))
        : this.#step(job, 'Resuming', async () => undefined);
    return subscribe
      .andThen(() =>
        this.#step(job, 'Waiting for the initial copy', async () => {
          const tables = await waitUntilSyncing(job, name);
          await refreshMaterializedViews(job.source.sql, job.target.sql);
          const subscription = await findSubscription(job.target.sql, name);
          const counted = subscription ? await subscriptionErrors(job.target.sql, subscription.oid) : { apply: 0, sync: 0 };
          return { tables, errors: counted.apply + counted.sync };
        }),
      )
      .map(({ tables, errors }) => {
        job.emit({ type: 'replication:state', dbname: job.dbname, state: 'syncing', tablesReady: tables, tablesTotal: tables });
        return { state: 'syncing' as const, applyErrorsBaseline: errors };
      });
  }

  inspect(job: DatabaseJob, applyErrorsBaseline: number): ResultAsync<Inspection, MigrationError> {
    return this.#step(job, 'Checking the replication', async () => {
      const health = await checkReplicationHealth(job.source.sql, job.target.sql, replicationName(job.dbname), {
        baselineErrors: applyErrorsBaseline,
        maxLagBytes: job.maxLagBytes,
        probeMs: HEALTH_PROBE_MS,
      });
      return { problem: health.problem, lag: { bytes: health.lagBytes, seconds: health.lagSeconds } };
    });
  }

  catchUp(job: DatabaseJob, timeoutMs: number): ResultAsync<CatchUpResult, MigrationError> {
    return this.#step(job, 'Waiting for the destination to catch up', async () => {
      const { dbname } = job;
      job.emit({ type: 'catch-up', dbname, phase: 'waiting', sourceLsn: null, appliedLsn: null, waitedMs: 0 });
      const wait = await waitForCatchUp(job.source.sql, job.target.sql, replicationName(dbname), {
        timeoutMs,
        pollMs: Math.min(job.pollIntervalMs, 200),
      });
      const { sourceLsn, appliedLsn, waitedMs } = wait;
      job.emit({ type: 'catch-up', dbname, phase: wait.caughtUp ? 'caught-up' : 'behind', sourceLsn, appliedLsn, waitedMs });
      return wait.caughtUp ? { caughtUp: true } : { caughtUp: false, behind: `applied up to ${appliedLsn ?? 'nothing'} of the source's ${sourceLsn}` };
    });
  }

  stop(job: DatabaseJob): ResultAsync<void, MigrationError> {
    const name = replicationName(job.dbname);
    return this.#step(job, 'Stopping replication', async () => {
      const subscription = await findSubscription(job.target.sql, name);
      if (subscription) {
        // PostgreSQL replicates neither sequences nor materialized views: bring them level before the destination takes writes.
        await syncSequences(job);
        await refreshMaterializedViews(job.source.sql, job.target.sql);
        await this.#rights.dropSubscription(job.target.sql, name);
      }
      await this.#dropSlots(job, name, subscription ? `pg_${subscription.oid}_sync_` : null);
      await this.#rights.dropPublication(job.source.sql, name);
      job.emit({ type: 'replication:state', dbname: job.dbname, state: 'stopped', tablesReady: 0, tablesTotal: 0 });
    });
  }

  async #subscribe(job: DatabaseJob, name: string): Promise<void> {
    job.emit({ type: 'replication:state', dbname: job.dbname, state: 'publishing', tablesReady: 0, tablesTotal: 0 });
    if (!(await publicationExists(job.source.sql, name))) await this.#rights.createPublication(job.source.sql, name);
    // A slot left by a run that died before its subscription existed would block the name.
    await this.#dropSlots(job, name, null);
    await this.#rights.createSubscription(job.target.sql, {
      name,
      conninfo: subscriptionConninfo(job.sourceConfig, job.dbname),
      publication: name,
      slot: name,
    });
    job.emit({ type: 'replication:state', dbname: job.dbname, state: 'subscribed', tablesReady: 0, tablesTotal: 0 });
  }

  /** Drops our slot (and the subscription's table-sync slots), waiting for their walsenders to go. */
  async #dropSlots(job: DatabaseJob, name: string, syncPrefix: string | null): Promise<void> {
    const patience = Date.now() + 30_000;
    const deadline = patience + 30_000;
    for (;;) {
      const slots = await findSlots(job.source.sql, [name], syncPrefix);
      if (slots.length === 0) return;
      for (const slot of slots.filter((s) => !s.active)) await this.#rights.dropSlot(job.source.sql, slot.name);
      if (slots.every((s) => !s.active)) return;
      if (Date.now() > deadline) throw new Error(`Replication slot ${name} stays in use on the source; drop it with pg_drop_replication_slot once idle`);
      if (Date.now() > patience) {
        // The subscriber is gone; a walsender still holding the slot only delays the inevitable.
        for (const slot of slots) {
          if (slot.activePid !== null) await job.source.sql`select pg_terminate_backend(${slot.activePid})`;
        }
      }
      await sleep(200);
    }
  }

  #step<T>(job: DatabaseJob, what: string, run: () => Promise<T>): ResultAsync<T, MigrationError> {
    return ResultAsync.fromPromise(run(), (error) => {
      const cause = toCause(error, job.redactor);
      if (isConnectionLoss(error)) {
        return connectionLost(`${what} for "${job.dbname}"`, cause, { side: sideByAddress(error, job.sourceConfig), database: job.dbname });
      }
      return migrationError('replication', `${what} for "${job.dbname}" failed: ${cause.message}`, {
        database: job.dbname,
        cause,
        ...(cause.hint !== undefined ? { hint: cause.hint } : {}),
      });
    });
  }
}
