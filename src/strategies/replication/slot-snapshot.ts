/**
 * A logical replication slot created together with an exported snapshot:
 * every row committed before the slot's consistent point is visible in the
 * snapshot, and every change committed after it streams from the slot. A copy
 * read under the snapshot plus a subscription on the slot carry each row
 * exactly once.
 *
 * The snapshot lives only while the replication connection that created the
 * slot stays open and sends no other command. That connection is a postgres.js
 * instance of its own, used for this one statement and then only ended: a
 * query on a postgres.js connection whose socket closed can crash the host
 * process (see src/pg/pool.ts), and a pool that reconnected would have lost
 * the snapshot anyway. Its loss is noticed (`onclose`) and reported by
 * {@link SlotSnapshot.lost}, so a copy that outlived it fails as a lost
 * connection rather than as a puzzling "invalid snapshot identifier".
 *
 * @module
 */
import postgres, { type Sql } from 'postgres';
import { driverPassword, SESSION_DEFAULTS, tagSide, tlsOptions } from '../../pg/connect.js';
import { quoteIdent } from '../../pg/identifiers.js';
import type { ConnectionConfig } from '../../options.js';

export interface SlotSnapshot {
  readonly slot: string;
  /** The snapshot's name, for `SET TRANSACTION SNAPSHOT`. */
  readonly snapshotId: string;
  /** The WAL position streaming from the slot starts at. */
  readonly consistentPoint: string;
  /** True once the connection holding the snapshot closed by itself: the snapshot is gone. */
  lost(): boolean;
  /** The error to report for a lost snapshot connection: a connection loss on the source. */
  lostError(): Error;
  /** Ends the replication connection and with it the snapshot; the slot stays. Never fails. */
  release(): Promise<void>;
}

/** PostgreSQL 15 took the option list syntax; 10 to 14 only know the keyword. */
const OPTION_LIST_SINCE = 150000;

/** The replication command that creates `slot` for pgoutput and exports its snapshot. */
export function createSlotCommand(slot: string, serverVersionNum: number): string {
  const exported = serverVersionNum >= OPTION_LIST_SINCE ? `(SNAPSHOT 'export')` : 'EXPORT_SNAPSHOT';
  return `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput ${exported}`;
}

/**
 * Creates the logical slot `slot` on the source database `dbname` over a
 * replication connection and keeps that connection idle, holding the
 * snapshot, until {@link SlotSnapshot.release}. The slot is permanent: it
 * outlives the connection and must be dropped by whoever cleans up.
 *
 * ### Examples
 * ```ts
 * const held = await createSlotWithSnapshot(config, 'shop', 'dlh_mig_shop', 150004);
 * try {
 *   await copyUnder(held.snapshotId);
 *   if (held.lost()) throw held.lostError();
 * } finally {
 *   await held.release();
 * }
 * ```
 */
export async function createSlotWithSnapshot(
  config: ConnectionConfig,
  dbname: string,
  slot: string,
  serverVersionNum: number,
): Promise<SlotSnapshot> {
  let released = false;
  let lost = false;
  const sql: Sql = postgres({
    host: config.host,
    port: config.port,
    database: dbname,
    username: config.username,
    password: driverPassword(config),
    ssl: tlsOptions(config),
    max: 1,
    // Nothing may close it behind our back: its close ends the snapshot.
    idle_timeout: 0,
    max_lifetime: 0,
    connect_timeout: 15,
    // A replication connection runs no type lookup; the command's columns are all text.
    fetch_types: false,
    prepare: false,
    onnotice: () => undefined,
    onclose: () => {
      if (!released) lost = true;
    },
    connection: { application_name: 'datalakehouse-db-migrate', replication: 'database', ...SESSION_DEFAULTS },
  });
  const release = async (): Promise<void> => {
    released = true;
    await sql.end({ timeout: 0 }).catch(() => undefined);
  };
  try {
    const [row] = await sql
      .unsafe<{ slot_name: string; consistent_point: string; snapshot_name: string | null }[]>(createSlotCommand(slot, serverVersionNum))
      .simple();
    if (!row?.snapshot_name) throw new Error(`Creating the replication slot ${slot} exported no snapshot`);
    const { snapshot_name: snapshotId, consistent_point: consistentPoint } = row;
    return {
      slot,
      snapshotId,
      consistentPoint,
      lost: () => lost,
      lostError: () =>
        tagSide(
          Object.assign(
            new Error(`The replication connection holding the snapshot of slot ${slot} closed before the data copy under it ended`),
            { code: 'CONNECTION_CLOSED' },
          ),
          'source',
        ),
      release,
    };
  } catch (error) {
    await release();
    throw tagSide(error, 'source');
  }
}
