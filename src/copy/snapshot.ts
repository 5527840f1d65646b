/**
 * One exported snapshot on the source, so every table, sequence and large
 * object is read as of the same instant however many connections read them.
 */
import type { Sql } from 'postgres';
import { quoteLiteral } from '../pg/identifiers.js';
import { NO_TIMEOUTS, snapshotGone } from './worker-sessions.js';

export interface ExportedSnapshot {
  readonly id: string;
  /** Ends the exporting transaction; readers must have imported the snapshot by then. */
  release(): Promise<void>;
}

export async function exportSnapshot(source: Sql): Promise<ExportedSnapshot> {
  const holder = await source.reserve();
  try {
    // The snapshot lives as long as this transaction, idle while the copies run: no timeout of the source's may end it.
    await holder.unsafe(`begin isolation level repeatable read read only; ${NO_TIMEOUTS}`).simple();
    const [row] = await holder<{ id: string }[]>`select pg_export_snapshot() as id`;
    if (!row) throw new Error('pg_export_snapshot returned nothing');
    return {
      id: row.id,
      release: async () => {
        try {
          await holder`rollback`;
        } finally {
          holder.release();
        }
      },
    };
  } catch (error) {
    holder.release();
    throw error;
  }
}

/**
 * Runs `read` in a read-only transaction on `snapshot`. Row security is off
 * so a policy can never hide rows from the copy (it errors instead, loudly,
 * for a role that may not bypass it).
 */
export function inSnapshot<T>(source: Sql, snapshotId: string, read: (tx: Sql) => Promise<T>): Promise<T> {
  return source.begin('isolation level repeatable read read only', async (tx) => {
    await tx.unsafe(`set transaction snapshot ${quoteLiteral(snapshotId)}`).catch((error: unknown) => {
      throw snapshotGone(error, snapshotId) ?? error;
    });
    await tx`set local row_security = off`;
    return read(tx as unknown as Sql);
  }) as Promise<T>;
}
