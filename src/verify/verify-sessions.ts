/**
 * The sessions a database is verified on: pairs of one source and one
 * destination session, each pinned to the same settings, so one piece of
 * work reads both sides at the same time. A session is a 1-connection pool
 * from pool.ts: a lost connection makes its queries reject, never crash or
 * hang.
 *
 * @module
 */
import type { ReservedSql, Sql } from 'postgres';
import { tagSide, type Side } from '../pg/connect.js';

export interface SessionPair {
  readonly source: Sql;
  readonly target: Sql;
}

export class VerifySessions {
  readonly #all: ReservedSql[] = [];
  readonly #free: SessionPair[] = [];
  readonly #waiting: ((pair: SessionPair) => void)[] = [];

  private constructor() {}

  /** Opens `count` pairs, each session pinned by `settings`; closes what it opened when one fails. */
  static async open(source: Sql, target: Sql, count: number, settings: string): Promise<VerifySessions> {
    const sessions = new VerifySessions();
    try {
      for (let i = 0; i < Math.max(1, count); i++) {
        const pair = { source: await sessions.#pinned(source, settings), target: await sessions.#pinned(target, settings) };
        sessions.#free.push(pair);
      }
    } catch (error) {
      await sessions.close();
      throw error;
    }
    return sessions;
  }

  /** Runs `work` on a free pair, waiting for one when all are busy. */
  async use<T>(work: (pair: SessionPair) => Promise<T>): Promise<T> {
    const pair = this.#free.pop() ?? (await new Promise<SessionPair>((resolve) => this.#waiting.push(resolve)));
    try {
      return await work(pair);
    } finally {
      const next = this.#waiting.shift();
      if (next) next(pair);
      else this.#free.push(pair);
    }
  }

  /** Ends every session. */
  async close(): Promise<void> {
    const sessions = this.#all.splice(0);
    this.#free.length = 0;
    await Promise.all(
      sessions.map(async (session) => {
        await session.end({ timeout: 5 }).catch(() => undefined);
        session.release();
      }),
    );
  }

  async #pinned(sql: Sql, settings: string): Promise<ReservedSql> {
    const session = await sql.reserve();
    this.#all.push(session);
    await session.unsafe(settings).simple();
    return session;
  }
}

/** Runs a query of one side, remembering which side a failure came from. */
export function onSide<T>(side: Side, promise: Promise<T>): Promise<T> {
  return promise.catch((error: unknown) => {
    throw tagSide(error, side);
  });
}
