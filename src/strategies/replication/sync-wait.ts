/**
 * Waits until a subscription is `syncing` in the design's strict sense:
 * every published table is `ready` on the subscriber **and** its rows are
 * there (row counts equal on both sides), never merely "no lag".
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from 'postgres';
import { qualified } from '../../pg/identifiers.js';
import {
  findSubscription,
  publishedTables,
  subscriptionErrorCount,
  subscriptionTableStates,
} from '../../pg/queries/replication.js';
import type { DatabaseJob } from '../strategy.js';

export class SyncTimeout extends Error {}
export class SubscriptionGone extends Error {}

/** Resolves with the number of published tables once they are all ready and level. */
export async function waitUntilSyncing(job: DatabaseJob, name: string): Promise<number> {
  const deadline = Date.now() + job.syncTimeoutMs;
  const tables = await publishedTables(job.source.sql, name);
  let lastReady = -1;
  let lastErrors = 0;
  let verifying = false;
  let unequal = new Set(tables.map((t) => qualified(t.schema, t.name)));
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
    const errors = await subscriptionErrorCount(job.target.sql, subscription.oid);
    if (errors > lastErrors) {
      lastErrors = errors;
      job.emit({
        type: 'warning',
        dbname: job.dbname,
        message: `The subscription of "${job.dbname}" has hit ${errors} apply or sync error(s); it keeps retrying`,
        hint: "The destination server's log says which statement fails (often a constraint or a missing column).",
      });
    }
    if (ready === tables.length && states.length >= tables.length) {
      if (!verifying) {
        verifying = true;
        job.emit({ type: 'replication:state', dbname: job.dbname, state: 'verifying', tablesReady: ready, tablesTotal: tables.length });
      }
      unequal = await tablesWithDifferentCounts(job.source.sql, job.target.sql, [...unequal]);
      if (unequal.size === 0) return tables.length;
    }
    if (Date.now() > deadline) {
      throw new SyncTimeout(
        `"${job.dbname}" did not reach syncing within ${Math.round(job.syncTimeoutMs / 1000)} s ` +
          `(${ready}/${tables.length} tables ready${unequal.size > 0 && verifying ? `, row counts differ for ${[...unequal].slice(0, 5).join(', ')}` : ''})`,
      );
    }
    await sleep(job.pollIntervalMs);
  }
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
