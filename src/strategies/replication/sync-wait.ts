/**
 * Waits until a subscription is `syncing` in the design's strict sense:
 * every published table is `ready` on the subscriber **and** its rows are
 * there (row counts equal on both sides), never merely "no lag".
 *
 * Worker errors during the wait are judged, not only reported. During the
 * initial copy, failures can be legitimate and pass by themselves (the source
 * restarts, a slot or worker is briefly short), and workers retry every
 * `wal_retrieve_retry_interval` (5 s by default). A failure that repeats
 * *without progress* does not pass by itself, and waiting out the sync
 * timeout (hours) would only hide it:
 *
 * - the apply worker: once it failed {@link APPLY_FAILURES} times while the
 *   slot's confirmed position stood still, the health check is asked; it
 *   fails the wait only if the destination also cannot catch up with the
 *   source within {@link PROBE_MS}. The slot moving on, or a successful
 *   catch-up, forgives the errors seen so far.
 * - table synchronisation workers: {@link SYNC_FAILURES} failures while no
 *   table changed state fail the wait (one source restart costs each running
 *   sync worker one failure, no more).
 */
import type { Sql } from 'postgres';
import { qualified, quoteIdent } from '../../pg/identifiers.js';
import { findSubscription, publishedTables, subscriptionTableStates } from '../../pg/queries/replication.js';
import { slotProgress } from '../../pg/queries/slot-progress.js';
import { subscriptionErrors } from '../../pg/queries/subscription-errors.js';
import { walInsertPosition } from '../../pg/queries/wal-insert-position.js';
import type { DatabaseJob } from '../strategy.js';
import { checkReplicationHealth, type ReplicationProblem } from './health.js';
import { lsnReached } from './lsn.js';
import { backoff } from '../../util/backoff.js';

export class SyncTimeout extends Error {}
export class SubscriptionGone extends Error {}

/** The replication keeps failing without progress; `problem` says what and what to do. */
export class ReplicationFailing extends Error {
  readonly problem: ReplicationProblem;

  constructor(problem: ReplicationProblem) {
    super(`${problem.message}. ${problem.hint}`);
    this.problem = problem;
  }
}

/** Apply worker failures in a row, without the slot moving, before the health check is asked. */
const APPLY_FAILURES = 2;
/** Table synchronisation failures in a row, without a table changing state, that fail the wait. */
const SYNC_FAILURES = 4;
/** How long the health check may watch for the destination catching up despite the errors. */
const PROBE_MS = 3_000;

export interface SyncWaitOptions {
  /**
   * The rows were proven there before the subscription existed (see
   * snapshot-counts.ts): the wait then only needs the destination to apply
   * what the source wrote meanwhile, and counts nothing.
   */
  readonly rowsVerified?: boolean;
}

/**
 * Resolves with the number of published tables once they are all ready, an
 * apply worker streams from the slot, and the destination has applied what
 * the source had written by then; unless
 * `rowsVerified`, row counts must then be equal too. Counts are compared
 * right after such a catch-up, so a table that changed only before it
 * compares level; one that never stops changing may never do.
 */
export async function waitUntilSyncing(job: DatabaseJob, name: string, options: SyncWaitOptions = {}): Promise<number> {
  const deadline = Date.now() + job.syncTimeoutMs;
  const tables = await publishedTables(job.source.sql, name);
  let lastReady = options.rowsVerified ? tables.length : -1;
  let lastErrors = 0;
  let verifying = options.rowsVerified === true;
  let unequal = new Set(tables.map((t) => qualified(t.schema, t.name)));
  /** The source position the destination must apply before the next count. */
  let goal: string | undefined;
  let counted = false;
  let applyMark: { lsn: string | null; errors: number } | undefined;
  const pause = backoff(job.pollIntervalMs, undefined, job.signal);
  let syncMark: { states: string; errors: number } | undefined;
  for (;;) {
    const subscription = await findSubscription(job.target.sql, name);
    if (!subscription) throw new SubscriptionGone(`Subscription ${name} disappeared from the destination`);
    if (!subscription.enabled) throw new SubscriptionGone(`Subscription ${name} was disabled on the destination`);
    const states = await subscriptionTableStates(job.target.sql, subscription.oid);
    const ready = states.filter((s) => s.state === 'r').length;
    if (ready !== lastReady) {
      lastReady = ready;
      job.emit({ type: 'replication:state', dbname: job.dbname, state: 'copying', tablesReady: ready, tablesTotal: tables.length });
    }

    const errors = await subscriptionErrors(job.target.sql, subscription.oid);
    if (errors.apply + errors.sync > lastErrors) {
      lastErrors = errors.apply + errors.sync;
      job.emit({
        type: 'warning',
        dbname: job.dbname,
        message: `The subscription of "${job.dbname}" has hit ${lastErrors} apply or sync error(s); it keeps retrying`,
        hint: "The destination server's log says which statement fails (often a constraint or a missing column).",
      });
    }
    const slot = await slotProgress(job.source.sql, name);
    const lsn = slot?.confirmedFlushLsn ?? null;
    // A slot no walsender streams from stands still: on an idle source it looks caught up though nothing is applied.
    const streaming = slot !== undefined && slot.activePid !== null;
    if (!applyMark || lsn !== applyMark.lsn) applyMark = { lsn, errors: errors.apply };
    if (errors.apply - applyMark.errors >= APPLY_FAILURES) {
      const health = await checkReplicationHealth(job.source.sql, job.target.sql, name, {
        baselineErrors: applyMark.errors + errors.sync,
        maxLagBytes: Number.POSITIVE_INFINITY,
        probeMs: PROBE_MS,
      });
      if (health.problem) throw new ReplicationFailing(health.problem);
      applyMark = { lsn: (await slotProgress(job.source.sql, name))?.confirmedFlushLsn ?? null, errors: errors.apply };
    }
    const signature = states.map((s) => `${s.table}:${s.state}`).sort().join(',');
    if (!syncMark || signature !== syncMark.states) syncMark = { states: signature, errors: errors.sync };
    if (errors.sync - syncMark.errors >= SYNC_FAILURES) {
      throw new ReplicationFailing(syncFailing(name, errors.sync - syncMark.errors, states.filter((s) => s.state !== 'r').map((s) => s.table)));
    }

    if (ready === tables.length && states.length >= tables.length) {
      if (!verifying) {
        verifying = true;
        job.emit({ type: 'replication:state', dbname: job.dbname, state: 'verifying', tablesReady: ready, tablesTotal: tables.length });
      }
      goal ??= await walInsertPosition(job.source.sql);
      if (streaming && lsn !== null && lsnReached(lsn, goal)) {
        if (options.rowsVerified) return tables.length;
        unequal = await tablesWithDifferentCounts(job.source.sql, job.target.sql, [...unequal]);
        counted = true;
        if (unequal.size === 0) return tables.length;
        goal = undefined;
      }
    }
    if (Date.now() > deadline) {
      const behind = !streaming
        ? ', no apply worker streams from the slot'
        : goal !== undefined
          ? `, the destination applied up to ${lsn ?? 'nothing'} of the source's ${goal}`
          : '';
      const differ = counted && unequal.size > 0 ? `, row counts differ for ${[...unequal].slice(0, 5).join(', ')}` : '';
      throw new SyncTimeout(
        `"${job.dbname}" did not reach syncing within ${Math.round(job.syncTimeoutMs / 1000)} s (${ready}/${tables.length} tables ready${behind}${differ})`,
      );
    }
    await pause();
  }
}

function syncFailing(name: string, failures: number, copying: readonly string[]): ReplicationProblem {
  const which = copying.length > 0 ? ` (${copying.slice(0, 5).join(', ')}${copying.length > 5 ? ', …' : ''})` : '';
  return {
    message: `Copying the initial rows of subscription ${name}${which} failed ${failures} times in a row without any table getting further`,
    hint:
      `The destination server's log says why: look for the ERROR of a "logical replication table synchronization worker for subscription ${quoteIdent(name)}". ` +
      'Often the destination table already holds rows (duplicate key), or a column or constraint differs from the source. ' +
      'Fix that on the destination, then migrate this database again.',
  };
}

/** Tables (as quoted `schema.table`) whose row counts differ between the two sides. */
async function tablesWithDifferentCounts(source: Sql, target: Sql, tables: readonly string[]): Promise<Set<string>> {
  const differing = new Set<string>();
  for (const table of tables) {
    const [a] = await source.unsafe<{ n: string }[]>(`select count(*)::text as n from only ${table}`);
    const [b] = await target.unsafe<{ n: string }[]>(`select count(*)::text as n from only ${table}`);
    if (a?.n !== b?.n) differing.add(table);
  }
  return differing;
}
