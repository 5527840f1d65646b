/**
 * postgres.js pools whose reservations and transactions survive a lost
 * connection as errors.
 *
 * postgres.js 3.4 sends a query given to a reserved connection or a
 * transaction straight to that connection, even after its socket closed: the
 * write then runs from `setImmediate` on a nulled socket and throws a
 * `TypeError` no caller can catch (it kills the host process), and the query
 * never settles (docs/upstream/postgres-js-null-socket.md). A transaction
 * hits this by itself: its closing `rollback` or `commit` is such a query.
 * Queries given to the pool are safe: it reconnects first.
 *
 * So here every `reserve()` and every `begin()` runs on a session of its
 * own: a pool of exactly one connection, driven only through the pool, that
 * ends itself the moment its connection closes. A later query then rejects
 * with `CONNECTION_ENDED` instead of running on a new connection that lacks
 * the transaction, snapshot or lock the session held.
 *
 * @module
 */
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { recordSocket } from './session-sockets.js';
import postgres, { type Options, type ReservedSql, type Sql, type TransactionSql } from 'postgres';

type PoolOptions = Options<Record<string, postgres.PostgresType>>;

interface Session {
  readonly sql: Sql;
  /** True once its connection closed: what the session held on the server is gone. */
  lost(): boolean;
  end(timeoutSeconds: number): Promise<void>;
}

const END_TIMEOUT_SECONDS = 5;

/**
 * How long ending a pool on purpose (a cancelled or failed copy) lets its
 * statements run before the connections are destroyed. Never 0: postgres.js
 * 3.4.9 starts each new connection with a query for the array types whose
 * promise nobody awaits, and a connection destroyed while that query runs
 * rejects it unhandled — which ends a Node process
 * (docs/upstream/postgres-js-type-fetch.md). One second lets a connection
 * that is still opening finish that query.
 */
export const ABORT_END_SECONDS = 1;

/** The parsed options postgres.js hands to a `socket` factory: hosts and ports as lists. */
interface SocketTarget {
  readonly host: readonly string[];
  readonly port: readonly number[];
  readonly path?: string;
  readonly connect_timeout?: number;
}

/**
 * A TCP connection with Nagle's algorithm off, as libpq opens every one.
 * postgres.js leaves it on, and a COPY FROM ends with a 5-byte CopyDone of
 * its own: it then waits for the server's delayed ACK of the last rows,
 * ~40 ms a COPY (measured: 44 ms of a 300-row table's 45 ms). postgres.js
 * starts its protocol (TLS included) on the socket this returns.
 */
function noDelaySocket(target: SocketTarget): Promise<Socket> {
  const host = target.host[0] ?? 'localhost';
  const port = target.port[0] ?? 5432;
  const socket = target.path ? connect(target.path) : connect({ host, port, noDelay: true });
  // postgres.js names the TLS server by these, as on a socket it opened itself.
  Object.assign(socket, { host, port });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connect timeout ${host}:${port}`), { code: 'CONNECT_TIMEOUT', address: host, port }));
    }, (target.connect_timeout ?? 30) * 1000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    socket.once('error', onError);
  });
}

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * TLS on `socket` exactly as postgres.js 3.4 would start it (its `secure()`):
 * an SSLRequest; with the server's `N`, the plain socket under `prefer`, a
 * handshake that fails otherwise; then `tls.connect` with the same options.
 * Done here, the session's socket is one the copy can read rows from
 * (copy/copy-tap.ts); postgres.js then speaks the protocol on it as on a
 * plain one.
 */
async function startTls(socket: Socket, ssl: NonNullable<PoolOptions['ssl']>): Promise<Socket> {
  const answer = await new Promise<number>((resolve, reject) => {
    const onData = (bytes: Buffer): void => {
      cleanup();
      resolve(bytes[0] ?? 0);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => {
      cleanup();
      reject(connectionClosedError());
    };
    const cleanup = (): void => {
      socket.off('data', onData).off('error', onError).off('close', onClose);
    };
    socket.once('data', onData).once('error', onError).once('close', onClose);
    socket.write(SSL_REQUEST);
  });
  if (answer !== 0x53 && ssl === 'prefer') return socket;
  const host = (socket as Socket & { host?: string }).host ?? '';
  const options: ConnectionOptions = { socket, servername: isIP(host) ? undefined : host };
  if (ssl === 'require' || ssl === 'allow' || ssl === 'prefer') options.rejectUnauthorized = false;
  else if (typeof ssl === 'object') Object.assign(options, ssl);
  const secured = tlsConnect(options);
  Object.assign(secured, { host, port: (socket as Socket & { port?: number }).port });
  await new Promise<void>((resolve, reject) => {
    secured.once('secureConnect', () => {
      secured.off('error', reject);
      resolve();
    });
    secured.once('error', reject);
  });
  return secured;
}

function openSession(options: PoolOptions): Session {
  let lost = false;
  const ssl = options.ssl;
  const sql: Sql = postgres({
    ...options,
    // The session's TLS is started by its socket factory, below.
    ssl: false,
    // postgres.js takes a socket factory its typings do not declare.
    ...({
      socket: async (target: SocketTarget) => {
        const plain = await noDelaySocket(target);
        const socket = ssl ? await startTls(plain, ssl) : plain;
        recordSocket(sql, socket);
        return socket;
      },
    } as unknown as PoolOptions),
    max: 1,
    // Never closed behind the caller's back: a close means the server or the network ended it.
    idle_timeout: 0,
    max_lifetime: 0,
    onclose: () => {
      lost = true;
      void sql.end({ timeout: 0 }).catch(() => undefined);
    },
  });
  return {
    sql,
    lost: () => lost,
    end: (timeout) => sql.end({ timeout }).catch(() => undefined),
  };
}

/** The error a transaction ends with when its connection closed before it could commit. */
export function connectionClosedError(): Error {
  return Object.assign(new Error('The connection closed before the transaction could commit'), { code: 'CONNECTION_CLOSED' });
}

/** Each pool's way of reserving a session that skips the type lookup. */
const typelessReserves = new WeakMap<Sql, () => Promise<ReservedSql>>();

/**
 * A session of `pool`, as `reserve()` gives, that never asks the server for
 * its array types: postgres.js looks them up on every new connection to
 * read and send arrays, and in a database of 2,000 tables (each with its
 * row type's array) that took 4 ms of this process's CPU and 6 ms of wall
 * time a session. For sessions that only copy rows or run statements.
 */
export function reserveTypeless(pool: Sql): Promise<ReservedSql> {
  return (typelessReserves.get(pool) ?? (() => pool.reserve()))();
}

/**
 * A postgres.js pool whose `reserve()` and `begin()` each open a session of
 * their own (see the module comment), and whose `end()` ends those too.
 */
export function createPool(options: PoolOptions): Sql {
  const sql = postgres(options);
  const sessions = new Set<Session>();
  const open = (sessionOptions: PoolOptions = options): Session => {
    const session = openSession(sessionOptions);
    sessions.add(session);
    return session;
  };
  const close = (session: Session, timeout = END_TIMEOUT_SECONDS): Promise<void> => {
    sessions.delete(session);
    return session.end(timeout);
  };

  const reserveWith = async (sessionOptions: PoolOptions): Promise<ReservedSql> => {
    const session = open(sessionOptions);
    return Object.assign(session.sql, { release: () => void close(session) });
  };
  const reserve = (): Promise<ReservedSql> => reserveWith(options);

  const begin = async (
    optionsOrRun: string | ((tx: TransactionSql) => unknown),
    maybeRun?: (tx: TransactionSql) => unknown,
  ): Promise<unknown> => {
    const mode = typeof optionsOrRun === 'string' ? optionsOrRun : '';
    const run = typeof optionsOrRun === 'function' ? optionsOrRun : maybeRun;
    if (!run) throw new TypeError('begin() needs a function to run in the transaction');
    const session = open();
    try {
      await session.sql.unsafe(`begin ${mode.replace(/[^a-z ]/gi, '')}`);
      let result: unknown;
      try {
        const value = run(asTransaction(session.sql));
        result = await (Array.isArray(value) ? Promise.all(value) : value);
      } catch (error) {
        if (!session.lost()) await session.sql`rollback`.catch(() => undefined);
        throw error;
      }
      if (session.lost()) throw connectionClosedError();
      await session.sql`commit`;
      return result;
    } finally {
      await close(session);
    }
  };

  typelessReserves.set(sql, () => reserveWith({ ...options, fetch_types: false }));
  const end = sql.end.bind(sql);
  Object.assign(sql, {
    reserve,
    begin,
    end: async (endOptions?: { timeout?: number }) => {
      const timeout = endOptions?.timeout ?? END_TIMEOUT_SECONDS;
      await Promise.all([end(endOptions), ...[...sessions].map((session) => close(session, timeout))]);
    },
  });
  return sql;
}

/** The session as a transaction handle: savepoints are plain SQL on the same connection. */
function asTransaction(sql: Sql): TransactionSql {
  let savepoints = 0;
  const tx = sql as unknown as TransactionSql;
  const savepoint = async (nameOrRun: string | ((tx: TransactionSql) => unknown), maybeRun?: (tx: TransactionSql) => unknown): Promise<unknown> => {
    const run = typeof nameOrRun === 'function' ? nameOrRun : maybeRun;
    if (!run) throw new TypeError('savepoint() needs a function to run');
    const name = `s${savepoints++}${typeof nameOrRun === 'string' ? `_${nameOrRun}` : ''}`;
    await sql`savepoint ${sql(name)}`;
    try {
      const value = run(tx);
      const result = await (Array.isArray(value) ? Promise.all(value) : value);
      await sql`release savepoint ${sql(name)}`;
      return result;
    } catch (error) {
      await sql`rollback to ${sql(name)}`;
      throw error;
    }
  };
  return Object.assign(tx, { savepoint, prepare: () => {
    throw new TypeError('Prepared transactions are not supported on this pool');
  } }) as TransactionSql;
}
