/**
 * The sessions the copy runs on: readers on the source, each importing the
 * snapshot once in a read-only repeatable-read transaction and reading many
 * tables; writers on the destination, each writing many tables, one COPY
 * (its own transaction) at a time. A session is a 1-connection pool from
 * pool.ts: a lost connection makes its queries reject, never crash or hang.
 *
 * @module
 */
import type { ReservedSql, Sql } from 'postgres';
import { quoteLiteral } from '../pg/identifiers.js';
import { ABORT_END_SECONDS, reserveTypeless } from '../pg/pool.js';

/**
 * How values are written as text, pinned on both sides. A table without a
 * portable binary form travels as text, and a server renders dates by
 * DateStyle, intervals by IntervalStyle, floats by extra_float_digits, money
 * by lc_monetary and object names (`regclass`, …) by search_path, each of
 * which a database or role may default differently on either cluster.
 * Rendered under one side's defaults and read under the other's, `12/05`
 * becomes another day and `-1 2:03:04` another interval, without an error.
 * These are the renderings every server reads back exactly (3 digits: the
 * shortest exact float from PostgreSQL 12, 17 significant digits before).
 */
const TEXT_FORM = [
  "datestyle = 'ISO, YMD'",
  "intervalstyle = 'postgres'",
  'extra_float_digits = 3',
  "bytea_output = 'hex'",
  "lc_monetary = 'C'",
  "timezone = 'UTC'",
  'search_path = pg_catalog',
];

/**
 * Lifts, for the transaction, every timeout a source's database or role may
 * set that would end a copy's long transaction: `statement_timeout`,
 * `idle_in_transaction_session_timeout` (a transaction waits idle while the
 * run's copy slots are busy elsewhere), and PostgreSQL 17's
 * `transaction_timeout`, where the server has it.
 */
export const NO_TIMEOUTS =
  "select set_config(name, '0', true) from pg_settings where name in ('statement_timeout', 'idle_in_transaction_session_timeout', 'transaction_timeout')";

/**
 * The error for a session that could not take up snapshot `id` because the
 * transaction holding it ended: its session was terminated or its
 * connection lost, which is how the copy must report it, not as a bad
 * identifier. `undefined` for any other error.
 */
export function snapshotGone(error: unknown, id: string): Error | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== '22023' || typeof message !== 'string' || !message.startsWith('invalid snapshot identifier')) return undefined;
  return Object.assign(new Error(`the source session holding the copy's snapshot ${id} ended, so no other session can read as of it (${message})`), {
    code: 'CONNECTION_CLOSED',
  });
}

export class WorkerSessions {
  readonly #open = new Set<ReservedSql>();

  /**
   * A source session reading as of `snapshotId`, with row security off so a
   * policy cannot hide rows. Only `listing` sessions read the catalog (and
   * its arrays); the others only copy rows.
   */
  async reader(source: Sql, snapshotId: string, listing = false): Promise<Sql> {
    const session = this.#track(await (listing ? source.reserve() : reserveTypeless(source)));
    await session
      .unsafe(
        `begin isolation level repeatable read read only; set transaction snapshot ${quoteLiteral(snapshotId)}; ` +
          `set local row_security = off; ${NO_TIMEOUTS}; ` +
          TEXT_FORM.map((setting) => `set local ${setting}`).join('; '),
      )
      .simple()
      .catch((error: unknown) => {
        throw snapshotGone(error, snapshotId) ?? error;
      });
    return session;
  }

  async writer(target: Sql): Promise<Sql> {
    const session = this.#track(await reserveTypeless(target));
    await session.unsafe(['statement_timeout = 0', ...TEXT_FORM].map((setting) => `set ${setting}`).join('; ')).simple();
    return session;
  }

  /** Ends every session; `immediately` drops them mid-statement, aborting what they were doing. */
  async closeAll(immediately: boolean): Promise<void> {
    const sessions = [...this.#open];
    this.#open.clear();
    await Promise.all(
      sessions.map(async (session) => {
        await session.end({ timeout: immediately ? ABORT_END_SECONDS : 5 }).catch(() => undefined);
        session.release();
      }),
    );
  }

  #track(session: ReservedSql): ReservedSql {
    this.#open.add(session);
    return session;
  }
}
