/**
 * Whether a database's replication still works: its subscription and slot
 * exist and are usable, its apply worker is not failing over and over, and
 * the destination is not too far behind. Every problem names the
 * subscription or slot and says what to do about it.
 *
 * @module
 */
import type { Sql } from 'postgres';
import { quoteIdent } from '../../pg/identifiers.js';
import { findSubscription, type SubscriptionInfo } from '../../pg/queries/replication.js';
import { serverLogTail } from '../../pg/queries/server-log-tail.js';
import { slotProgress, type SlotProgress } from '../../pg/queries/slot-progress.js';
import { subscriptionErrors } from '../../pg/queries/subscription-errors.js';
import { lastApplyError, type ApplyErrorEntry } from './apply-error-log.js';
import { waitForCatchUp } from './catch-up.js';
import { lsnReached } from './lsn.js';
import { publishableTables } from './rights/publishable-tables.js';
import type { TableFilter } from '../../selection/table-filter.js';

export interface ReplicationProblem {
  readonly message: string;
  readonly hint: string;
}

export interface ReplicationHealth {
  /** null when healthy */
  readonly problem: ReplicationProblem | null;
  /** source's current WAL position minus what the destination confirmed applied (slot confirmed_flush_lsn); null if unknown */
  readonly lagBytes: number | null;
  /** seconds the destination is behind (0 when caught up); null if unknown */
  readonly lagSeconds: number | null;
  /** apply + sync error count from pg_stat_subscription_stats (0 before PG 15) */
  readonly errorCount: number;
}

export interface HealthOptions {
  /** error count recorded when the database became syncing; errors beyond it are news */
  readonly baselineErrors: number;
  readonly maxLagBytes: number;
  /** how long a check may wait to see whether the destination catches up despite new errors (e.g. 3000) */
  readonly probeMs: number;
  /** the tables the migration selected; a table it left out is not missing from the subscription */
  readonly tables?: TableFilter | null;
}

/** Enough of the log for the last few minutes of a busy server. */
const LOG_TAIL_BYTES = 512 * 1024;
const PROBE_POLL_MS = 100;
/** A working subscriber replies at least this often (`wal_receiver_status_interval`'s default). */
const REPLY_INTERVAL_SECONDS = 10;

/**
 * Checks the replication `name` (the migration's own, `DatabaseJob.replicationName`) from the source
 * database (`source`) to the destination database (`target`).
 *
 * New errors alone are not a problem: a source restart makes the apply worker
 * fail once and reconnect. They are one when, in addition, the destination
 * does not catch up with the source's current position within `probeMs`.
 *
 * ### Examples
 * ```ts
 * const health = await checkReplicationHealth(source, target, job.replicationName, {
 *   baselineErrors: 0, maxLagBytes: 1024 ** 3, probeMs: 3000,
 * });
 * if (health.problem) logger.warn(`${health.problem.message}. ${health.problem.hint}`);
 * ```
 */
export async function checkReplicationHealth(source: Sql, target: Sql, name: string, options: HealthOptions): Promise<ReplicationHealth> {
  const subscription = await findSubscription(target, name);
  let slot = await slotProgress(source, name);
  const errors = subscription ? await subscriptionErrors(target, subscription.oid) : { apply: 0, sync: 0 };
  const errorCount = errors.apply + errors.sync;
  const report = (problem: ReplicationProblem | null): ReplicationHealth => ({
    problem,
    lagBytes: slot?.lagBytes ?? null,
    lagSeconds: slot ? lagSeconds(slot) : null,
    errorCount,
  });

  if (!subscription) return report(subscriptionMissing(name));
  if (!subscription.enabled) return report(subscriptionDisabled(name));
  if (!slot) return report(slotMissing(name));
  const invalid = slotInvalidated(slot);
  if (invalid) return report(invalid);
  if (errorCount > options.baselineErrors) {
    const probe = await waitForCatchUp(source, target, name, { timeoutMs: options.probeMs, pollMs: PROBE_POLL_MS });
    slot = (await slotProgress(source, name)) ?? slot;
    if (!probe.caughtUp) {
      const log = await serverLogTail(target, LOG_TAIL_BYTES).catch(() => null);
      const entry = log === null ? null : lastApplyError(log, subscription.oid);
      return report(applyFailing(subscription, errorCount - options.baselineErrors, options.probeMs, entry));
    }
  }
  if (slot.lagBytes !== null && slot.lagBytes > options.maxLagBytes) return report(tooFarBehind(name, slot.lagBytes, options.maxLagBytes));
  const unsubscribed = await tablesNotSubscribed(source, target, subscription.oid, options.tables ?? null);
  if (unsubscribed.length > 0) return report(tablesLeftOut(name, unsubscribed));
  return report(null);
}

/**
 * Source tables the subscription does not carry: created on the source
 * after the replication started. A publication listing tables by name never
 * gains them, and one for all tables carries their changes to a subscription
 * that ignores tables it was not refreshed with: either way their rows stay
 * behind, without any error.
 */
async function tablesNotSubscribed(source: Sql, target: Sql, subscriptionOid: number, filter: TableFilter | null): Promise<string[]> {
  const [published, subscribed] = await Promise.all([
    publishableTables(source, filter),
    target<{ name: string }[]>`
      select quote_ident(n.nspname) || '.' || quote_ident(c.relname) as name
      from pg_subscription_rel r join pg_class c on c.oid = r.srrelid join pg_namespace n on n.oid = c.relnamespace
      where r.srsubid = ${subscriptionOid}`,
  ]);
  const carried = new Set(subscribed.map((r) => r.name));
  return published.filter((name) => !carried.has(name));
}

function tablesLeftOut(name: string, tables: readonly string[]): ReplicationProblem {
  const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ` and ${tables.length - 5} more` : '');
  return {
    message: `Tables created on the source after the replication started are not replicated: ${shown}`,
    hint:
      `Create them on the destination (pg_dump --schema-only --table=...), add them to the publication ${name} if it lists its tables ` +
      `(ALTER PUBLICATION ${quoteIdent(name)} ADD TABLE ...), then ALTER SUBSCRIPTION ${quoteIdent(name)} REFRESH PUBLICATION WITH (copy_data = true) ` +
      "on the destination; or stop this database's migration and migrate it again.",
  };
}

/**
 * The walsender's `flush_lag` while the subscriber replies. Its lag figures
 * only change when a reply comes, so a blocked destination would keep showing
 * the last one (or none, after an idle spell): then the time since its last
 * reply is the lag — once that silence is longer than a working subscriber
 * keeps, or whenever there is no figure at all (an upper bound: the reply may
 * predate the pending changes).
 */
function lagSeconds(slot: SlotProgress): number | null {
  if (slot.confirmedFlushLsn !== null && lsnReached(slot.confirmedFlushLsn, slot.currentLsn)) return 0;
  if (slot.activePid === null) return null;
  const silence = slot.replyAgeSeconds;
  if (slot.flushLagSeconds === null) return silence;
  return silence !== null && silence > REPLY_INTERVAL_SECONDS ? Math.max(slot.flushLagSeconds, silence) : slot.flushLagSeconds;
}

const START_OVER = "Stop this database's migration and migrate it again: its initial copy must start over.";

function subscriptionMissing(name: string): ReplicationProblem {
  return {
    message: `The subscription ${name} is missing on the destination: changes on the source no longer reach it`,
    hint: `Something dropped it outside the migration. ${START_OVER}`,
  };
}

function subscriptionDisabled(name: string): ReplicationProblem {
  return {
    message: `The subscription ${name} is disabled on the destination: no change from the source is applied`,
    hint:
      `Enable it on the destination with ALTER SUBSCRIPTION ${quoteIdent(name)} ENABLE; it resumes where it stopped. ` +
      "If it disabled itself after an error (disable_on_error), the destination server's log says which; fix that first.",
  };
}

function slotMissing(name: string): ReplicationProblem {
  return {
    message: `The replication slot ${name} is missing on the source: the subscription ${name} cannot follow the source any more`,
    hint: `Something dropped the slot outside the migration, and the changes made since are lost to the destination. ${START_OVER}`,
  };
}

function slotInvalidated(slot: SlotProgress): ReplicationProblem | null {
  const behind = 'The destination fell further behind than the source keeps WAL for (max_slot_wal_keep_size)';
  if (slot.walStatus === 'lost' || slot.invalidationReason !== null || slot.conflicting) {
    const reason = slot.invalidationReason ?? (slot.walStatus === 'lost' ? 'wal_removed' : 'conflict');
    return {
      message: `The replication slot ${slot.name} on the source was invalidated (${reason}): the source removed WAL the destination still needed`,
      hint: `${behind}, and changes are lost to it. ${START_OVER} Raise max_slot_wal_keep_size on the source first, or find why the destination falls behind.`,
    };
  }
  if (slot.walStatus === 'unreserved') {
    return {
      message: `The replication slot ${slot.name} on the source is about to be invalidated (wal_status unreserved): the next checkpoint may remove WAL the destination still needs`,
      hint:
        `${behind}. Raise it now on the source (ALTER SYSTEM SET max_slot_wal_keep_size = ...; SELECT pg_reload_conf()), ` +
        'and find why the destination falls behind; once the slot is lost the migration must start over.',
    };
  }
  return null;
}

/**
 * Apply errors no row on the destination causes, and what does fix them;
 * any other is taken for a conflicting row (a duplicate key, a row missing).
 */
const APPLY_CAUSES: readonly { readonly pattern: RegExp; readonly fix: (table: string) => string }[] = [
  {
    // REPLICA IDENTITY FULL without a key: the destination finds a row by comparing every column, and one type cannot be.
    pattern: /could not identify an equality operator for type/,
    fix: (table) =>
      `${table} has REPLICA IDENTITY FULL and no primary key, so the destination finds the row an UPDATE or DELETE names by comparing every column, ` +
      'and that type cannot be compared. Give the table a primary key, or REPLICA IDENTITY USING INDEX a unique index of NOT NULL columns, ' +
      'on the destination (and the same on the source)',
  },
  {
    pattern: /is missing replicated columns?|does not exist|invalid input syntax for type|value too long for type|out of range for type/,
    fix: (table) =>
      `The schema changed on the source after the migration started (logical replication carries rows, not DDL): ${table} there has columns, ` +
      'or column types, the destination lacks. Make the same change on the destination (ALTER TABLE … ADD COLUMN or ALTER COLUMN … TYPE, ' +
      'as on the source; CREATE TABLE for a new table, then ALTER SUBSCRIPTION … REFRESH PUBLICATION)',
  },
];

function applyFailing(subscription: SubscriptionInfo, newErrors: number, probeMs: number, entry: ApplyErrorEntry | null): ReplicationProblem {
  const name = subscription.name;
  const stuck = `${newErrors} new error(s), and the destination did not catch up with the source within ${probeMs} ms`;
  const skip = (lsn: string): string =>
    `or, if that change may be lost, skip the failing transaction on the destination with ALTER SUBSCRIPTION ${quoteIdent(name)} SKIP (lsn = '${lsn}')`;
  if (entry) {
    const where = entry.relation ? ` to ${entry.relation}` : '';
    const detail = entry.detail ? ` (${entry.detail})` : '';
    const lsn = entry.finishLsn ?? '<the LSN after "finished at" in the error\'s CONTEXT line>';
    const cause = APPLY_CAUSES.find((c) => c.pattern.test(entry.error));
    const fix = cause
      ? cause.fix(entry.relation ?? 'the table')
      : `Remove the conflicting row${where ? ` from ${entry.relation}` : ''} on the destination (or fix what the error names)`;
    return {
      message: `The subscription ${name} cannot apply a change from the source${where}: ${entry.error}${detail}; it keeps retrying (${stuck})`,
      hint: `${fix} and the subscription resumes by itself; ${skip(lsn)}.`,
    };
  }
  return {
    message: `The subscription ${name} keeps failing to apply changes from the source (${stuck})`,
    hint:
      `The destination server's log says why: look for the last ERROR of a logical replication worker for subscription ${name}, ` +
      `whose CONTEXT line names replication origin "pg_${subscription.oid}" and the LSN the failing transaction "finished at". ` +
      `If a row on the destination conflicts, remove it and the subscription resumes by itself; ${skip('<that LSN>')}.`,
  };
}

function tooFarBehind(name: string, lagBytes: number, maxLagBytes: number): ReplicationProblem {
  return {
    message: `The destination is ${formatBytes(lagBytes)} behind the source on subscription ${name} (more than ${formatBytes(maxLagBytes)})`,
    hint:
      'The destination applies changes slower than the source makes them, or is blocked: look on the destination for locks held on ' +
      'replicated tables and long-running transactions (pg_locks, pg_stat_activity), and at its load. The source keeps the WAL until it catches up.',
  };
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
