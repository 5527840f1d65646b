/**
 * Waits until the destination has applied everything the source had
 * committed at the moment of asking: `stop()` must not drop a subscription
 * that is still behind.
 *
 * What "applied" means here, and why (measured with PostgreSQL 15 on both
 * sides, `synchronous_commit = off` on the source):
 *
 * - The measure is the slot's `confirmed_flush_lsn` on the source. The
 *   subscriber reports a position there only once the changes up to it are
 *   applied *and flushed* on the destination — it is the point the slot
 *   would resume from after a crash, so it never runs ahead of the data.
 *   `pg_stat_subscription.latest_end_lsn` is no substitute: it is the
 *   position of the walsender's last keepalive, and under steady load stayed
 *   hundreds of MB behind what had been received (no keepalives are sent
 *   while data flows), while telling nothing about what was applied.
 * - The target is `pg_current_wal_insert_lsn()`, not `pg_current_wal_lsn()`
 *   nor `pg_current_wal_flush_lsn()`: right after an asynchronous commit both
 *   of those stood *before* its commit record (0/1924D40 against an insert
 *   position of 0/1924E50), so a wait for them returned at once with that
 *   transaction not applied. The walsender only sends flushed WAL, so the
 *   insert position is reached once the WAL writer has flushed it.
 * - Idle source, one row inserted: `confirmed_flush_lsn` reached the insert
 *   position in 380–400 ms (the source's WAL writer flushing, then the
 *   destination's, at `wal_writer_delay` = 200 ms each). A source idle for
 *   longer: equal at once (both stood at the same position).
 * - Busy source (100-row inserts every 10 ms): 220–415 ms. An overloaded one
 *   (inserts as fast as one connection can go, on 2 cores) never caught up:
 *   the delay grew 0.9 s, 2.4 s, 6.3 s, 14 s, 22 s while the backlog grew —
 *   a timeout, not a fixed pause, is the right tool.
 * - A destination blocked by a lock on a replicated table confirms nothing
 *   past the blocked transaction, so the wait cannot be fooled by it.
 *
 * @module
 */
import { backoff } from '../../util/backoff.js';
import type { Sql } from 'postgres';
import { findSubscription } from '../../pg/queries/replication.js';
import { slotProgress } from '../../pg/queries/slot-progress.js';
import { walInsertPosition } from '../../pg/queries/wal-insert-position.js';
import { lsnReached } from './lsn.js';

export interface CatchUp {
  readonly caughtUp: boolean;
  /** The source's WAL insert position when the wait began: the goal. */
  readonly sourceLsn: string;
  /** The slot's `confirmed_flush_lsn` when the wait ended; null without a slot. */
  readonly appliedLsn: string | null;
  readonly waitedMs: number;
}

/**
 * Reads the source's current WAL position, then waits until the destination
 * has applied everything up to it, or `timeoutMs` passes. Never throws on
 * timeout: resolves with `caughtUp: false`. Gives up early when the slot or
 * an enabled subscription is missing, since nothing could catch up then.
 *
 * ### Examples
 * ```ts
 * const done = await waitForCatchUp(source, target, job.replicationName, { timeoutMs: 60_000, pollMs: 200 });
 * if (!done.caughtUp) logger.warn(`still behind: ${done.appliedLsn} < ${done.sourceLsn}`);
 * ```
 */
export async function waitForCatchUp(
  source: Sql,
  target: Sql,
  name: string,
  options: { timeoutMs: number; pollMs: number; signal?: AbortSignal | undefined },
): Promise<CatchUp> {
  const started = Date.now();
  const sourceLsn = await walInsertPosition(source);
  const pause = backoff(options.pollMs, () => options.timeoutMs - (Date.now() - started), options.signal);
  for (;;) {
    const slot = await slotProgress(source, name);
    const appliedLsn = slot?.confirmedFlushLsn ?? null;
    const result = (caughtUp: boolean): CatchUp => ({ caughtUp, sourceLsn, appliedLsn, waitedMs: Date.now() - started });
    if (appliedLsn !== null && lsnReached(appliedLsn, sourceLsn)) return result(true);
    if (!slot) return result(false);
    const subscription = await findSubscription(target, name);
    if (!subscription?.enabled) return result(false);
    const remaining = options.timeoutMs - (Date.now() - started);
    if (remaining <= 0) return result(false);
    await pause();
  }
}
