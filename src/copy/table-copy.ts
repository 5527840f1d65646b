/**
 * Streams one table's rows from the source to the destination with COPY, in
 * the source's snapshot, inside one destination transaction: a table is
 * either copied whole or not at all.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sql } from 'postgres';
import { qualified, quoteIdent } from '../pg/identifiers.js';
import type { TableInfo } from '../pg/queries/tables.js';
import { inSnapshot } from './snapshot.js';

export interface TableCopyResult {
  readonly rows: number;
  readonly bytes: number;
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
  source: Sql,
  target: Sql,
  table: TableInfo,
  snapshotId: string,
): Promise<TableCopyResult> {
  const name = qualified(table.schema, table.name);
  const columns = table.columns.map(quoteIdent).join(', ');
  // A table whose every column is generated or dropped still has rows to recreate.
  const read = columns === '' ? `copy (select from only ${name}) to stdout` : `copy (select ${columns} from only ${name}) to stdout`;
  const write = columns === '' ? `copy ${name} from stdin` : `copy ${name} (${columns}) from stdin`;
  return inSnapshot(source, snapshotId, async (reader) =>
    target.begin(async (writer) => {
      const meter = new CopyMeter();
      const readable = await reader.unsafe(read).readable();
      const writable = await writer.unsafe(write).writable();
      await pipeline(readable, meter, writable);
      return { rows: meter.rows, bytes: meter.bytes };
    }) as Promise<TableCopyResult>,
  );
}
