/**
 * The one-time data copy of a database: every table's rows, then sequence
 * positions and large objects, all read from one exported snapshot so the
 * copy is consistent as of a single instant. This is the seam where later
 * speed work (binary COPY, split ranges) goes; the strategies only call
 * {@link copyDatabase}.
 *
 * @module
 */
import { ResultAsync } from 'neverthrow';
import { migrationError, type MigrationError } from '../errors.js';
import type { Emit } from '../events.js';
import { connectionLost, isConnectionLoss, openConnection, sideByAddress, sideOf, tagSide, toCause, type Connection } from '../pg/connect.js';
import type { ConnectionConfig } from '../options.js';
import { listTables, type TableInfo } from '../pg/queries/tables.js';
import { readSequences, writeSequence } from '../pg/queries/sequences.js';
import type { Redactor } from '../redact.js';
import { forEachLimited } from '../util/for-each-limited.js';
import { copyLargeObjects } from './large-object-copy.js';
import { exportSnapshot, inSnapshot } from './snapshot.js';
import { copyTable, type ReaderConnection } from './table-copy.js';

export interface CopyRequest {
  readonly dbname: string;
  /** A pool on the source database with room for `jobs + 1` connections. */
  readonly source: Connection;
  readonly target: Connection;
  /** How to open the single-use connections each table is read on. */
  readonly sourceConfig: ConnectionConfig;
  readonly jobs: number;
  readonly redactor: Redactor;
  readonly emit: Emit;
  /** An exported snapshot to read under, kept alive by the caller until the copy ends; without it the copy exports its own. */
  readonly snapshot?: string;
}

export interface CopySummary {
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
    (async () => {
      const given = request.snapshot;
      const snapshot =
        given !== undefined
          ? { id: given, release: async () => undefined }
          : await exportSnapshot(request.source.sql).catch((error: unknown) => {
              throw tagSide(error, 'source');
            });
      try {
        step = 'listing tables';
        const tables = await inSnapshot(request.source.sql, snapshot.id, listTables).catch((error: unknown) => {
          throw tagSide(error, 'source');
        });
        const copied = await copyTables(request, tables, snapshot.id, (table) => {
          step = `copying ${table.schema}.${table.name}`;
        });
        step = 'copying sequences';
        const sequences = await syncSequences(request, snapshot.id);
        step = 'copying large objects';
        const largeObjects = await copyLargeObjects(request.source.sql, request.target.sql, snapshot.id);
        if (largeObjects > 0) {
          request.emit({ type: 'objects:copied', dbname: request.dbname, kind: 'large-objects', count: largeObjects });
        }
        return { tables: tables.length, ...copied, sequences, largeObjects };
      } finally {
        await snapshot.release().catch(() => undefined);
      }
    })(),
    (error) => {
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

async function copyTables(
  request: CopyRequest,
  tables: readonly TableInfo[],
  snapshotId: string,
  onStart: (table: TableInfo) => void,
): Promise<{ rows: number; bytes: number }> {
  const estimatedBytes = tables.reduce((sum, t) => sum + t.bytes, 0);
  request.emit({ type: 'copy:start', dbname: request.dbname, tables: tables.length, estimatedBytes });
  let tablesDone = 0;
  let rows = 0;
  let bytesDone = 0;
  await forEachLimited(tables, request.jobs, async (table) => {
    onStart(table);
    const result = await copyTable(() => openReader(request), request.target.sql, table, snapshotId);
    tablesDone += 1;
    rows += result.rows;
    bytesDone += result.bytes;
    request.emit({
      type: 'table:copied',
      dbname: request.dbname,
      schema: table.schema,
      table: table.name,
      rows: result.rows,
      bytes: result.bytes,
      tablesDone,
      tablesTotal: tables.length,
      bytesDone,
      estimatedBytes,
    });
  });
  return { rows, bytes: bytesDone };
}

async function openReader(request: CopyRequest): Promise<ReaderConnection> {
  // A single connection: a reader that reconnected would read outside the snapshot.
  const opened = await openConnection(request.sourceConfig, 'source', request.source.database, request.redactor, { single: true });
  if (opened.isErr()) throw Object.assign(new Error(opened.error.message), opened.error.cause?.code ? { code: opened.error.cause.code } : {});
  const { sql } = opened.value;
  // Its socket may be left paused (see table-copy.ts): close without waiting for a goodbye.
  return { sql, discard: () => sql.end({ timeout: 0 }).catch(() => undefined) };
}

/**
 * Sets every sequence on the destination to its source position. Exported
 * for replication, whose sequences PostgreSQL does not carry.
 */
export async function syncSequences(request: Pick<CopyRequest, 'dbname' | 'source' | 'target' | 'emit'>, snapshotId?: string): Promise<number> {
  const values = snapshotId
    ? await inSnapshot(request.source.sql, snapshotId, readSequences)
    : await readSequences(request.source.sql);
  for (const value of values) await writeSequence(request.target.sql, value);
  if (values.length > 0) {
    request.emit({ type: 'objects:copied', dbname: request.dbname, kind: 'sequences', count: values.length });
  }
  return values.length;
}
