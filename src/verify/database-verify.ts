/**
 * Verifies one database: for one that still replicates, first waits until
 * the destination has applied what the source had written at that moment;
 * then compares tables, materialized views, sequences and large objects.
 *
 * A replicating source keeps changing while its tables are read, so a table
 * of such a database that differs is compared again after another wait for
 * the destination to catch up: a row that was merely in flight is then
 * there, and only a difference that stays is reported.
 *
 * @module
 */
import type { Sql } from 'postgres';
import type { DatabaseRecord } from '../state/state-store.js';
import { waitForCatchUp } from '../strategies/replication/catch-up.js';
import type { DatabaseJob } from '../strategies/strategy.js';
import { compareLargeObjects } from './large-objects-check.js';
import { compareMaterializedViews } from './materialized-views-check.js';
import { floatDigitsFor, pinnedSettings } from './pinned-settings.js';
import type { DatabaseVerification, VerifyDifference } from './report.js';
import { compareSequences } from './sequences-check.js';
import { compareTables, relationsOf, type TableOutcome, type TablesScope } from './tables-check.js';
import { onSide, VerifySessions } from './verify-sessions.js';

export interface VerifySettings {
  readonly catchUpTimeoutMs: number;
  readonly rangeRows: number;
}

/** Comparisons of a replicating database's differing tables after the first, each after the destination caught up again. */
const RECHECKS = 2;

export async function verifyDatabase(
  job: DatabaseJob,
  record: DatabaseRecord,
  settings: VerifySettings,
  skipSchemas: readonly string[],
): Promise<DatabaseVerification> {
  const started = Date.now();
  const { dbname } = job;
  const replicating = record.method === 'replication' && record.status === 'syncing';
  let behind = replicating ? await catchUp(job, settings.catchUpTimeoutMs) : null;

  const [sourceMajor, targetMajor] = await Promise.all([onSide('source', majorOf(job.source.sql)), onSide('target', majorOf(job.target.sql))]);
  const sessions = await VerifySessions.open(job.source.sql, job.target.sql, job.jobs, pinnedSettings(floatDigitsFor(sourceMajor, targetMajor)));
  let tables: TableOutcome[];
  let views: VerifyDifference[];
  try {
    const emitted = new Set<string>();
    const emit = (outcome: TableOutcome): void => {
      emitted.add(outcome.relation.key);
      const { schema, table, equal, sourceRows } = outcome.verification;
      job.emit({ type: 'verify:table', dbname, schema, table, equal, rows: sourceRows });
    };
    // A replicating table that differs may be compared again: it is reported once its verdict is final.
    const onTable = (outcome: TableOutcome): void => {
      if (!replicating || behind !== null || outcome.verification.equal) emit(outcome);
    };
    const scope: TablesScope = { source: job.source.sql, target: job.target.sql, sessions, jobs: job.jobs, rangeRows: settings.rangeRows, onTable };
    const relations = await relationsOf(job.source.sql, job.target.sql, skipSchemas, job.tables);
    tables = await compareTables(scope, relations);

    for (let round = 0; replicating && behind === null && round < RECHECKS; round++) {
      const differing = tables.filter((t) => !t.verification.equal && t.relation.onSource && t.relation.onTarget);
      if (differing.length === 0) break;
      behind = await catchUp(job, settings.catchUpTimeoutMs);
      if (behind !== null) break;
      const again = new Map((await compareTables(scope, differing.map((t) => t.relation))).map((t) => [t.relation.key, t]));
      tables = tables.map((t) => again.get(t.relation.key) ?? t);
    }
    for (const outcome of tables) if (!emitted.has(outcome.relation.key)) emit(outcome);

    views = await compareMaterializedViews({ source: job.source.sql, target: job.target.sql, sessions, jobs: job.jobs }, { replicating, skipSchemas });
  } finally {
    await sessions.close();
  }
  const sequences = await compareSequences(job.source.sql, job.target.sql, { replicating, selective: job.tables !== null });
  const largeObjects = await compareLargeObjects(job.source.sql, job.target.sql, { replicating });

  const sorted = [...tables].sort((a, b) => compareNames(a.verification, b.verification));
  const differences = [...sorted.flatMap((t) => t.differences), ...views, ...sequences, ...largeObjects];
  return {
    dbname,
    method: record.method,
    status: behind !== null ? 'unverifiable' : differences.some((d) => !d.expected) ? 'different' : 'equal',
    ...(behind !== null ? { reason: behind } : {}),
    tables: sorted.map((t) => t.verification),
    differences,
    durationMs: Date.now() - started,
  };
}

/**
 * Waits until the destination applied what the source had written when the
 * wait began; `null` once it has, else why a difference found may be one
 * still in flight.
 */
async function catchUp(job: DatabaseJob, timeoutMs: number): Promise<string | null> {
  const { dbname } = job;
  job.emit({ type: 'catch-up', dbname, phase: 'waiting', sourceLsn: null, appliedLsn: null, waitedMs: 0 });
  const wait = await waitForCatchUp(job.source.sql, job.target.sql, job.replicationName, {
    timeoutMs,
    pollMs: Math.min(job.pollIntervalMs, 200),
  });
  const { sourceLsn, appliedLsn, waitedMs } = wait;
  job.emit({ type: 'catch-up', dbname, phase: wait.caughtUp ? 'caught-up' : 'behind', sourceLsn, appliedLsn, waitedMs });
  if (wait.caughtUp) return null;
  return (
    `The destination did not catch up with the source within ${Math.round(timeoutMs / 1000)} s ` +
    `(it applied up to ${appliedLsn ?? 'nothing'} of the source's ${sourceLsn}): changes are still arriving, ` +
    'so any difference found may be one in flight. Call verify() again once status() shows little lag, or raise catchUpTimeoutMs.'
  );
}

async function majorOf(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select current_setting('server_version_num')::int as n`;
  return Math.floor((row?.n ?? 0) / 10000);
}

function compareNames(a: { schema: string; table: string }, b: { schema: string; table: string }): number {
  return a.schema < b.schema ? -1 : a.schema > b.schema ? 1 : a.table < b.table ? -1 : a.table > b.table ? 1 : 0;
}
