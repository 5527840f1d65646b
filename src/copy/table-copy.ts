/**
 * Streams one table's rows from the source to the destination with COPY, in
 * the source's snapshot, inside one destination transaction: a table is
 * either copied whole or not at all.
 *
 * Two defects of postgres.js 3.4 COPY streams shape this module:
 * - a COPY TO whose last chunk met backpressure leaves the socket paused, so
 *   the next query on that connection never returns (porsager/postgres#917,
 *   #1016). The read therefore runs on a connection of its own that is
 *   discarded afterwards;
 * - a COPY FROM that the server rejects after the last row never settles its
 *   writable (porsager/postgres#1173). A query queued behind the COPY surfaces
 *   that failure instead of waiting forever.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql, TransactionSql } from 'postgres';
import { tagSide, type Side } from '../pg/connect.js';
import { qualified, quoteIdent, quoteLiteral } from '../pg/identifiers.js';
import type { TableInfo } from '../pg/queries/tables.js';

export interface TableCopyResult {
  readonly rows: number;
  readonly bytes: number;
}

/** A single-use source connection: opened for one table's read, then discarded. */
export interface ReaderConnection {
  readonly sql: Sql;
  discard(): Promise<void>;
}

const NEWLINE = 0x0a;

/** Counts what passes through: bytes, and rows as COPY text lines (embedded newlines are escaped). */
class CopyMeter extends Transform {
  rows = 0;
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) this.rows++;
    done(null, chunk);
  }
}

export async function copyTable(
  openReader: () => Promise<ReaderConnection>,
  target: Sql,
  table: TableInfo,
  snapshotId: string,
): Promise<TableCopyResult> {
  const name = qualified(table.schema, table.name);
  const columns = table.columns.map(quoteIdent).join(', ');
  // A table whose every column is generated or dropped still has rows to recreate.
  const read = columns === '' ? `copy (select from only ${name}) to stdout` : `copy (select ${columns} from only ${name}) to stdout`;
  const write = columns === '' ? `copy ${name} from stdin` : `copy ${name} (${columns}) from stdin`;
  const reader = await openReader().catch(from('source'));
  try {
    await reader.sql
      .unsafe(
        `begin isolation level repeatable read read only; set transaction snapshot ${quoteLiteral(snapshotId)}; set local row_security = off`,
      )
      .simple()
      .catch(from('source'));
    return (await target
      .begin(async (writer) => {
        const meter = new CopyMeter();
        const readable = await reader.sql.unsafe(read).readable().catch(from('source'));
        const writable = await writer.unsafe(write).writable().catch(from('target'));
        // The first stream to fail names the side that failed; pipeline then fails the other with the same error.
        readable.once('error', (error: unknown) => tagSide(error, 'source'));
        writable.once('error', (error: unknown) => tagSide(error, 'target'));
        const piped = pipeline(readable, meter, writable);
        piped.catch(() => undefined);
        await Promise.race([piped, surfaceLateFailure(writer, writable, piped)]);
        return { rows: meter.rows, bytes: meter.bytes };
      })
      .catch(from('target'))) as TableCopyResult;
  } finally {
    await reader.discard();
  }
}

/** Rethrows a failure as coming from `side`, unless it already names one. */
function from(side: Side): (error: unknown) => never {
  return (error) => {
    throw tagSide(error, side);
  };
}

/**
 * Once every row has been handed to the server, queues a trivial query behind
 * the COPY: it answers after the COPY completes, or fails if the COPY failed.
 */
async function surfaceLateFailure(writer: TransactionSql, writable: NodeJS.WritableStream & { writableEnded: boolean; writableLength: number; writableFinished: boolean }, piped: Promise<void>): Promise<void> {
  let settled = false;
  piped.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled && !(writable.writableEnded && writable.writableLength === 0)) await sleep(50);
  if (settled) return piped;
  for (;;) {
    await sleep(50);
    if (settled) return piped;
    try {
      await writer`select 1`;
      return piped;
    } catch (error) {
      // The COPY is still being flushed: ask again once it is handed over.
      if ((error as { code?: string }).code === 'COPY_IN_PROGRESS') continue;
      throw error;
    }
  }
}
