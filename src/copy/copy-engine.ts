/**
 * The one-time data copy of a database: every table's rows, then sequence
 * positions and large objects, all read from one exported snapshot so the
 * copy is consistent as of a single instant. The strategies only call
 * {@link copyDatabase}.
 *
 * How it moves data, and why (measured on a 2-core machine, PostgreSQL 15 on
 * loopback, pgbench_accounts at scale 10: 1M rows, 128 MB heap, 96 MB of COPY
 * text):
 * - postgres.js hands over one chunk per row (1,000,000 chunks of 96 bytes;
 *   binary COPY: 1,000,001 of 114 bytes, the trailer its own chunk). Reading
 *   them alone costs ~300-380 ns a row in Node. Writing each chunk to the
 *   COPY FROM as it came made each its own CopyData message: 2.2 s for the
 *   table. Gathered into buffers it takes 0.82-1.0 s, the same as
 *   `psql -c 'copy ... to stdout' | psql -c 'copy ... from stdin'` (0.91 s):
 *   the destination's COPY parsing is then the limit. Buffer sizes from 16 KB
 *   to 1 MB measured within noise of each other (4 MB was slower and grew
 *   the RSS); 256 KB is used. The rows are gathered as postgres.js pushes
 *   them (copy-streams.ts), before the readable's own bookkeeping: on 5M rows
 *   at 2 jobs the Node process then spends 1.6-1.8 CPU seconds instead of
 *   1.9-2.0, most of what is left being postgres.js's parsing of each
 *   message, on a machine where both servers need every cycle.
 * - On the library's sessions, the rows are taken off the socket before
 *   postgres.js parses them, and written straight to the destination's
 *   socket (copy-tap.ts): on 5M rows of pgbench_accounts at 2 jobs, the Node
 *   process went from 1.5 to 0.7-0.8 CPU seconds. TLS included: a session
 *   starts TLS itself, so its socket is the library's to read.
 * - Binary COPY is the default where the destination's major is the
 *   source's or newer ({@link binaryReadable}) and every column's type
 *   travels safely that way (table-pages.ts): the
 *   destination parses it with less CPU. `psql` piped to `psql`, 5M rows:
 *   2.4-2.6 s and 2.3-2.5 destination CPU seconds in binary, against
 *   3.2 s and 3.1 in text; the source's COPY TO drops from 1.15 to 0.9 CPU
 *   seconds too.
 * - Each table used to cost ~110 ms of fixed overhead (a new connection,
 *   a transaction and a 50 ms polling loop): 300 tables of 100 rows took
 *   16.4 s at 2 jobs. Here a fixed set of sessions, one reader and one
 *   writer per job, copies every table; a small table costs a few round
 *   trips.
 * - Small tables go several to a query on each side (bundle-relay.ts), a
 *   bundle one transaction on the destination, and their indexes and
 *   ANALYZE one script after it: on "tiny" (2,000 tables of 100 rows, 2 jobs)
 *   the copy with every table's indexes went from 1.7 s to 0.9 s, the whole
 *   dump from 3.05 s to 2.25 s, and the library's CPU from 1.5 to 0.7 s.
 *   Bundles of 16 to 256 tables measured within noise of each other.
 *
 * So: `jobs` workers (each holding a slot of the run's budget, which the
 * databases moving at the same time share), each a reader session (the snapshot imported once, in
 * a read-only repeatable-read transaction) and a writer session (one COPY a
 * piece, committed on its own); pieces largest first; a table larger than
 * `splitBytes` cut into ctid ranges (PostgreSQL 14+ scans those without
 * reading the rest of the table) when the destination is PostgreSQL 16 or
 * later. On 15, two COPYs into one table queue for its relation extension
 * lock: with a 5M-row table in 64 MB ranges at 2 jobs, a quarter of the
 * writers' samples in pg_stat_activity waited on `Lock:extend`, and the copy
 * took 2.69-2.76 s against 2.54-2.59 s in one stream (a TOASTed table: 2.2 s
 * against 1.9 s). PostgreSQL 16 extends a relation by many pages at once.
 * A table counts as copied only once all its pieces committed; on any
 * failure every session is dropped at once, nothing more is counted, and the
 * caller starts the database over from empty.
 *
 * @module
 */
import type { TableFilter } from '../selection/table-filter.js';
import { cancelledError, throwIfCancelled } from '../util/cancellation.js';
import { ResultAsync } from 'neverthrow';
import { migrationError, type MigrationError } from '../errors.js';
import type { Emit } from '../events.js';
import { connectionLost, isConnectionLoss, sideByAddress, sideOf, tagSide, toCause, type Connection, type Side } from '../pg/connect.js';
import type { ConnectionConfig } from '../options.js';
import { readReferencedTables, readTableLayouts, readTargetTables, type TableLayout, type TargetTable } from '../pg/queries/table-pages.js';
import { listSizedTables, type SizedTable } from '../pg/queries/tables.js';
import { readSequences, writeSequence } from '../pg/queries/sequences.js';
import type { Redactor } from '../redact.js';
import { copyLargeObjects } from './large-object-copy.js';
import { planCopy, readStatement, writeStatement, type CopyItem, type PlanOptions } from './copy-plan.js';
import { CopyProgress } from './copy-progress.js';
import { BATCH_BYTES, copyIn, copyOut, pump, type CopyMeter } from './copy-streams.js';
import { exportSnapshot, inSnapshot } from './snapshot.js';
import { Budget } from '../util/budget.js';
import { WorkerSessions } from './worker-sessions.js';
import { relayBundle, writeBundle } from './bundle-relay.js';
import { ReadAhead, READ_AHEAD_BYTES } from './read-ahead.js';
import { tappableSocket } from '../pg/session-sockets.js';
import type { Sql } from 'postgres';

export interface CopyRequest {
  readonly dbname: string;
  /** A pool on the source database; the engine reserves `jobs` sessions of it, and one more to export a snapshot. */
  readonly source: Connection;
  /** A pool on the destination database; the engine reserves `jobs` sessions of it. */
  readonly target: Connection;
  /** The source's address, to tell which side a lost connection was on. */
  readonly sourceConfig: ConnectionConfig;
  /** Tables (or ranges of one) copied at once. */
  readonly jobs: number;
  /**
   * The run's copy slots, shared with the other databases moving at the same
   * time: each worker holds one while it copies. Default: `jobs` of its own.
   */
  readonly budget?: Budget;
  readonly redactor: Redactor;
  readonly emit: Emit;
  /**
   * A snapshot exported on the source (`pg_export_snapshot()`, or a
   * replication slot's) that stays exported until the copy's sessions have
   * imported it: the copy reads as of it instead of exporting its own.
   */
  readonly snapshot?: string;
  /**
   * Runs once tables' rows are all committed on the destination (one table,
   * or a bundle of small ones copied together), before their worker takes
   * more work: it counts against `jobs`. A failure fails the copy.
   */
  readonly onTablesCopied?: (tables: readonly SizedTable[]) => Promise<void>;
  /** Knobs for measurements and tests; the defaults are the measured best. */
  readonly tuning?: Partial<CopyTuning>;
  /** Which tables to copy; every one when absent. */
  readonly tables?: TableFilter | null;
  /** Ends the copy when it fires: every session is dropped mid-statement and nothing more is counted. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Settles once the destination's tables are there (its pre-data schema
   * restored). Until then the copy only works on the source: it exports its
   * snapshot and lists the tables to copy, which on 2,000 tables takes as
   * long as a tenth of their whole copy. A rejection ends the copy with it.
   */
  readonly targetReady?: Promise<unknown>;
}

export interface CopyTuning extends Omit<PlanOptions, 'canSplit'> {
  /** Bytes gathered per write to the destination. */
  readonly batchBytes: number;
  /** At most this many small tables copied by one query on each side (bundle-relay.ts); 1 copies each alone. */
  readonly bundleTables: number;
  /** A bundle's tables add up to at most this many on-disk bytes. */
  readonly bundleBytes: number;
  /** Bundles read off the source while the destination's tables are made, at most this many bytes of them (read-ahead.ts); 0 reads none. */
  readonly readAheadBytes: number;
}

const DEFAULT_TUNING: CopyTuning = {
  batchBytes: BATCH_BYTES,
  splitBytes: 256 * 1024 * 1024,
  rangeBytes: 64 * 1024 * 1024,
  binary: true,
  freeze: true,
  bundleTables: 64,
  bundleBytes: 4 * 1024 * 1024,
  readAheadBytes: READ_AHEAD_BYTES,
};

/**
 * Tables smaller than this have their `onTableCopied` hook run while their
 * worker copies on. On "tiny" (1,000 tables of 100 rows at 2 jobs) a table
 * cost its worker 3.2 ms, nearly all of it waiting on round trips; index
 * builds of larger tables are real work, and wait for their worker.
 */
const OVERLAPPED_HOOK_BYTES = 1024 * 1024;

/** A table the copy read, and how many rows it read of it from the snapshot. */
export interface TableRead {
  readonly info: SizedTable;
  readonly rows: number;
}

export interface CopySummary {
  /**
   * Every table listed for the copy, with the rows read of it, counted off
   * the wire (a `CopyData` message a row; binary COPY's trailer is one more).
   */
  readonly read: readonly TableRead[];
  readonly tables: number;
  readonly rows: number;
  readonly bytes: number;
  readonly sequences: number;
  readonly largeObjects: number;
}

/** Copies rows, sequences and large objects. The target's tables must exist and be empty. */
export function copyDatabase(request: CopyRequest): ResultAsync<CopySummary, MigrationError> {
  let step = 'exporting a snapshot';
  return ResultAsync.fromPromise(
    runCopy(request, (now) => {
      step = now;
    }),
    (error) => {
      if (request.signal?.aborted) return cancelledError(`Copying data of "${request.dbname}" while ${step}`, { database: request.dbname });
      const cause = toCause(error, request.redactor);
      if (isConnectionLoss(error)) {
        return connectionLost(`Copying data of "${request.dbname}" while ${step}`, cause, {
          side: sideOf(error) ?? sideByAddress(error, request.sourceConfig),
          database: request.dbname,
        });
      }
      return migrationError('copy', `Copying data of "${request.dbname}" failed while ${step}: ${cause.message}`, {
        database: request.dbname,
        cause,
      });
    },
  );
}

async function runCopy(request: CopyRequest, setStep: (step: string) => void): Promise<CopySummary> {
  const tuning: CopyTuning = { ...DEFAULT_TUNING, ...request.tuning };
  // Awaited once the source is listed; a failure on the source first leaves it to the caller.
  request.targetReady?.catch(() => undefined);
  let targetWaiting = request.targetReady !== undefined;
  request.targetReady?.then(
    () => (targetWaiting = false),
    () => (targetWaiting = false),
  );
  const exported = request.snapshot === undefined ? await exportSnapshot(request.source.sql).catch(from('source')) : undefined;
  const snapshotId = request.snapshot ?? (exported?.id as string);
  const sessions = new WorkerSessions();
  let ahead: ReadAhead | undefined;
  let failed = false;
  const dropAll = (): void => {
    failed = true;
    void sessions.closeAll(true);
  };
  request.signal?.addEventListener('abort', dropAll, { once: true });
  try {
    throwIfCancelled(request.signal);
    setStep('listing tables');
    const first = await sessions.reader(request.source.sql, snapshotId, true).catch(from('source'));
    const [tables, layouts, referenced, version, targetVersionRow] = await Promise.all([
      listSizedTables(first).then((all) => (request.tables ? all.filter(request.tables) : all)),
      readTableLayouts(first),
      readReferencedTables(first),
      first<{ v: string; encoding: string }[]>`select current_setting('server_version_num') as v, getdatabaseencoding() as encoding`,
      request.target.sql<{ v: string }[]>`select current_setting('server_version_num') as v`.catch(from('target')),
    ]).catch(from('source'));
    const sourceVersion = Number(version[0]?.v);
    const targetVersion = Number(targetVersionRow[0]?.v);
    const binary = tuning.binary && binaryReadable(sourceVersion, targetVersion);
    // A ctid range scan needs PostgreSQL 14 on the source. Ranges of one table written at once
    // wait on each other for its extension lock on a destination older than 16, which extends
    // a relation by one page at a time: see the module comment.
    const canSplit = sourceVersion >= 140000 && targetVersion >= 160000;
    const sourceEncoding = version[0]?.encoding ?? 'UTF8';
    const plan = (targetTables: ReadonlyMap<string, TargetTable>): CopyItem[] =>
      planCopy(tables, layouts, { ...tuning, binary, canSplit, sourceEncoding }, targetTables, referenced);
    const firstSocket = tappableSocket(first);
    // The destination's tables as its pre-data restore makes them: the source's.
    ahead =
      targetWaiting && firstSocket && tuning.readAheadBytes > 0
        ? new ReadAhead(firstSocket, bundlesOf(plan(sameAsSource(layouts)), tuning).map((group) => group.map(readStatement)), tuning.readAheadBytes)
        : undefined;
    setStep('waiting for the destination\'s tables');
    let refused: { error: unknown } | undefined;
    await request.targetReady?.catch((error: unknown) => {
      refused = { error };
    });
    // The session is the first worker's: nothing reads on it any more before that.
    const stopped = ahead?.stop();
    if (refused) {
      await stopped?.catch(() => undefined);
      throw refused.error;
    }
    await stopped?.catch(from('source'));
    setStep('listing the destination\'s tables');
    const targetTables = await readTargetTables(request.target.sql).catch(from('target'));
    const items = plan(targetTables);
    const workers = Math.max(1, Math.min(request.jobs, items.length));
    // A worker opens its sessions once it holds a slot of the run's budget; until the last one has
    // imported the snapshot, the exporting transaction stays open (it ends in `finally`).
    const openWorker = async (index: number): Promise<WorkerPair> => ({
      reader: index === 0 ? first : await sessions.reader(request.source.sql, snapshotId).catch(from('source')),
      writer: await sessions.writer(request.target.sql).catch(from('target')),
    });

    const progress = new CopyProgress(request.dbname, request.emit, items);
    request.emit({ type: 'copy:start', dbname: request.dbname, tables: progress.tablesTotal, estimatedBytes: progress.initialEstimate });
    const budget = request.budget ?? new Budget(workers);
    await copyItems(request, items, workers, (index, work) => budget.run(() => work(() => openWorker(index))), progress, tuning, ahead, setStep, () => {
      failed = true;
      // Drops every session mid-statement: running copies abort instead of finishing work no one will count.
      void sessions.closeAll(true);
    });
    request.emit(progress.snapshot());

    setStep('copying sequences');
    const sequences = await syncSequences({ ...request, reader: first });
    setStep('copying large objects');
    const largeObjects = await copyLargeObjects(first, request.target.sql);
    if (largeObjects > 0) {
      request.emit({ type: 'objects:copied', dbname: request.dbname, kind: 'large-objects', count: largeObjects });
    }
    return {
      read: progress.rowsRead(),
      tables: tables.length,
      rows: progress.rowsDone,
      bytes: progress.bytesDone,
      sequences,
      largeObjects,
    };
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // What no worker took (the copy failed, or the destination's tables were not as read) is let go.
    ahead?.clear();
    request.signal?.removeEventListener('abort', dropAll);
    await exported?.release().catch(() => undefined);
    await sessions.closeAll(failed);
  }
}

/**
 * Runs the pieces on the workers, largest first. The first failure stops the
 * others (through `abort`) and is the one rethrown once all settled.
 */
async function copyItems(
  request: CopyRequest,
  items: readonly CopyItem[],
  workers: number,
  withWorker: (index: number, work: (open: () => Promise<WorkerPair>) => Promise<void>) => Promise<void>,
  progress: CopyProgress,
  tuning: CopyTuning,
  ahead: ReadAhead | undefined,
  setStep: (step: string) => void,
  abort: () => void,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown): void => {
    if (failure === undefined) {
      failure = { error };
      abort();
    }
  };
  const worker = async ({ reader, writer }: WorkerPair): Promise<void> => {
    // A small table's hook (its indexes, its ANALYZE) runs while this worker copies the next table: it is
    // mostly round trips, which would otherwise leave the worker idle. One at a time, and awaited before the worker ends.
    let behind: Promise<void> = Promise.resolve();
    try {
      await copyEach(reader, writer, (hook, small) => {
        const previous = behind;
        behind = previous.then(() => hook().then(() => undefined, fail));
        return small ? previous : behind;
      });
    } finally {
      await behind;
    }
  };
  const copyEach = async (reader: Sql, writer: Sql, afterTables: (hook: () => Promise<void>, small: boolean) => Promise<void>): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const group = takeWork(items, next, relayable(reader, writer) ? tuning : { bundleTables: 1, bundleBytes: 0 });
      next += group.length;
      const first = (group[0] as CopyItem).table.info;
      try {
        setStep(group.length === 1 ? `copying ${first.schema}.${first.name}` : `copying ${group.length} tables from ${first.schema}.${first.name} on`);
        const meters = group.map((item) => {
          const meter: CopyMeter = { rows: 0, bytes: 0 };
          progress.started(item, meter);
          return meter;
        });
        const tick = (): void => progress.tick();
        const rows =
          group.length === 1
            ? [await copyItem(reader, writer, group[0] as CopyItem, meters[0] as CopyMeter, tuning.batchBytes, tick)]
            : await copyBundle(reader, writer, group, meters, tick, ahead);
        if (failure !== undefined) continue;
        const copied: SizedTable[] = [];
        let bytes = 0;
        group.forEach((item, index) => {
          if (!progress.finished(item, meters[index] as CopyMeter, rows[index] ?? 0)) return;
          const { info } = item.table;
          const table = progress.totals(item);
          copied.push(info);
          bytes += table.bytes;
          request.emit({
            type: 'table:copied',
            dbname: request.dbname,
            schema: info.schema,
            table: info.name,
            rows: table.rows,
            bytes: table.bytes,
            tablesDone: progress.tablesDone,
            tablesTotal: progress.tablesTotal,
            bytesDone: progress.bytesDone,
            estimatedBytes: progress.estimatedBytes(),
            rowsDone: progress.rowsDone,
          });
        });
        const hook = request.onTablesCopied;
        if (hook && copied.length > 0) await afterTables(() => hook(copied), bytes < OVERLAPPED_HOOK_BYTES);
      } catch (error) {
        fail(error);
      }
    }
  };
  await Promise.all(
    Array.from({ length: workers }, (_, index) =>
      withWorker(index, async (open) => {
        // A worker whose slot came after the others took all the work opens nothing.
        if (failure === undefined && next < items.length) await worker(await open());
      }).catch((error: unknown) => {
        if (failure === undefined) {
          failure = { error };
          abort();
        }
      }),
    ),
  );
  if (failure) throw failure.error;
}

/** One worker's sessions: a reader in the snapshot on the source, a writer on the destination. */
interface WorkerPair {
  readonly reader: Sql;
  readonly writer: Sql;
}

/**
 * Streams one piece from `reader` to `writer` as one COPY, its own
 * transaction on the destination. Resolves with the rows the destination
 * committed, once both sessions are ready for their next statement.
 */
async function copyItem(
  reader: Sql,
  writer: Sql,
  item: CopyItem,
  meter: CopyMeter,
  batchBytes: number,
  onBatch: () => void,
): Promise<number> {
  const [opening, closing] = await Promise.allSettled([
    copyOut(reader, readStatement(item), { meter, batchBytes }).catch(from('source')),
    copyIn(writer, writeStatement(item.table)).catch(from('target')),
  ]);
  if (opening.status === 'rejected' || closing.status === 'rejected') {
    // The side that did open is abandoned with its session: its outcome must not go unhandled.
    for (const opened of [opening, closing]) {
      if (opened.status === 'fulfilled') {
        opened.value.done.catch(() => undefined);
        opened.value.stream.destroy();
      }
    }
    throw opening.status === 'rejected' ? opening.reason : (closing as PromiseRejectedResult).reason;
  }
  const [out, into] = [opening.value, closing.value];
  // The first stream to fail names the side that failed.
  out.stream.once('error', (error: unknown) => tagSide(error, 'source'));
  into.stream.once('error', (error: unknown) => tagSide(error, 'target'));
  const [, , written] = await Promise.all([
    pump(out.stream, into.stream, onBatch),
    out.done.catch(from('source')),
    into.done.catch(from('target')),
  ]);
  return written;
}

/**
 * Whether a destination of `targetVersion` reads back as the same values
 * what a source of `sourceVersion` sends in binary, for the built-in types
 * and enums that table-pages.ts lets travel that way. A newer major's
 * receive functions read the forms older ones send: PostgreSQL's own
 * subscriptions copy in binary across versions, and none of those types
 * changed the form it sends from 12 to 18; some gained values that only
 * the newer majors read. So an older major may not read what a newer one
 * sends (14's infinite numerics; 17's infinite intervals, which 16 would
 * take for finite ones), and copying down goes as text. Versions are
 * `server_version_num`s.
 */
export function binaryReadable(sourceVersion: number, targetVersion: number): boolean {
  return Math.floor(targetVersion / 10000) >= Math.floor(sourceVersion / 10000);
}

/**
 * The next piece of work from `start`: one item, or a bundle of the small
 * whole tables that follow it in the plan's order, up to the tuning's count
 * and bytes.
 */
function takeWork(items: readonly CopyItem[], start: number, tuning: Pick<CopyTuning, 'bundleTables' | 'bundleBytes'>): CopyItem[] {
  const first = items[start] as CopyItem;
  const group = [first];
  if (!bundleable(first, tuning)) return group;
  let bytes = first.estimatedBytes;
  for (let at = start + 1; at < items.length && group.length < tuning.bundleTables; at++) {
    const item = items[at] as CopyItem;
    if (!bundleable(item, tuning) || bytes + item.estimatedBytes > tuning.bundleBytes) break;
    group.push(item);
    bytes += item.estimatedBytes;
  }
  return group;
}

/** The bundles the workers will take of `items`, in order, as {@link takeWork} makes them. */
function bundlesOf(items: readonly CopyItem[], tuning: Pick<CopyTuning, 'bundleTables' | 'bundleBytes'>): CopyItem[][] {
  const bundles: CopyItem[][] = [];
  for (let at = 0; at < items.length; ) {
    const group = takeWork(items, at, tuning);
    if (group.length > 1) bundles.push(group);
    at += group.length;
  }
  return bundles;
}

/** The destination's tables as a pre-data restore makes them: the source's columns, each table its copy may empty. */
function sameAsSource(layouts: ReadonlyMap<string, TableLayout>): Map<string, TargetTable> {
  return new Map([...layouts].map(([key, layout]) => [key, { columnTypes: layout.columnTypes, freezable: true }]));
}

/**
 * A whole table, small, written plainly: `FREEZE`'s TRUNCATE needs a query
 * of its own. An extension's configuration table goes alone too: its
 * condition is SQL text from the source's catalog, and a query of several
 * statements is no place for text the library did not write.
 */
function bundleable(item: CopyItem, tuning: Pick<CopyTuning, 'bundleTables' | 'bundleBytes'>): boolean {
  return (
    tuning.bundleTables > 1 &&
    item.range === null &&
    !item.table.freeze &&
    item.table.info.extensionCondition === null &&
    item.estimatedBytes <= tuning.bundleBytes
  );
}

/** Both sessions' sockets are the library's to speak on. */
function relayable(reader: Sql, writer: Sql): boolean {
  return tappableSocket(reader) !== undefined && tappableSocket(writer) !== undefined;
}

/**
 * Streams several small tables from `reader` to `writer`, one query on each
 * side and one transaction on the destination (bundle-relay.ts). Resolves
 * with each table's committed row count.
 */
async function copyBundle(
  reader: Sql,
  writer: Sql,
  items: readonly CopyItem[],
  meters: readonly CopyMeter[],
  onData: () => void,
  ahead: ReadAhead | undefined,
): Promise<number[]> {
  const source = tappableSocket(reader);
  const target = tappableSocket(writer);
  if (!source || !target) throw new Error('A bundle of tables needs both sessions\' sockets');
  const tables = items.map((item, index) => ({ read: readStatement(item), write: writeStatement(item.table), meter: meters[index] as CopyMeter }));
  const read = ahead?.take(tables.map((t) => t.read));
  if (!read) return relayBundle(source, target, tables, onData);
  read.tables.forEach((counted, index) => {
    const meter = meters[index] as CopyMeter;
    meter.rows += counted.rows;
    meter.bytes += counted.bytes;
  });
  onData();
  return writeBundle(target, tables.map((t) => t.write), read);
}

/** Rethrows a failure as coming from `side`, unless it already names one. */
function from(side: Side): (error: unknown) => never {
  return (error) => {
    throw tagSide(error, side);
  };
}

/**
 * Sets every sequence on the destination to its source position: read by
 * `reader` (a session in the copy's snapshot) when given, else now. Exported
 * for replication, whose sequences PostgreSQL does not carry.
 */
export async function syncSequences(
  request: Pick<CopyRequest, 'dbname' | 'source' | 'target' | 'emit'> & { readonly reader?: Sql },
  snapshotId?: string,
): Promise<number> {
  const values = request.reader
    ? await readSequences(request.reader)
    : snapshotId
      ? await inSnapshot(request.source.sql, snapshotId, readSequences)
      : await readSequences(request.source.sql);
  // A sequence of a table left out (tables, excludeSchemas) is not on the destination.
  const present = new Set((await readSequences(request.target.sql)).map((s) => JSON.stringify([s.schema, s.name])));
  const synced = values.filter((s) => present.has(JSON.stringify([s.schema, s.name])));
  for (const value of synced) await writeSequence(request.target.sql, value);
  if (synced.length > 0) {
    request.emit({ type: 'objects:copied', dbname: request.dbname, kind: 'sequences', count: synced.length });
  }
  return synced.length;
}
