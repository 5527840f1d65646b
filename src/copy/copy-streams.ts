/**
 * COPY streams of postgres.js 3.4 on a session that outlives them, and the
 * pump that moves rows from one to the other. On the library's own sessions
 * the rows bypass postgres.js's streams (copy-tap.ts); its streams, and the
 * workarounds below, serve a connection the library did not open, and every
 * COPY's outcome is still heard here.
 *
 * postgres.js resolves a COPY query with its stream, and the statement's own
 * outcome (the server's `CommandComplete` tag, or its error) goes to the
 * query's `resolve`/`reject` again, where nobody hears it. Two defects follow
 * (measured on postgres.js 3.4.9, node_modules/postgres/src/connection.js):
 *
 * - COPY TO (porsager/postgres#917, #1016): each CopyData is pushed into the
 *   readable, and a push the readable refuses pauses the socket; only the
 *   readable's `read()` resumes it. When the refused push is the last row,
 *   `CopyDone` ends the readable, `read()` is never called again, and the
 *   socket stays paused: the next query on that connection never returns.
 *   {@link copyOut} resumes the socket once the readable ended, by calling
 *   the readable's own `_read` (which is postgres.js's `socket.resume()`).
 * - COPY FROM (porsager/postgres#1173): the writable's `final` waits for
 *   `CommandComplete`; when the server rejects the COPY after the last row
 *   (a statement trigger, a deferred check), the error clears the stream
 *   first and the writable never finishes nor fails. {@link copyIn} never
 *   waits on the writable's `finish`: it hooks the query's own
 *   `resolve`/`reject`, which the server's answer always reaches, success,
 *   failure or a lost connection alike.
 *
 * Both hooks give the row count of the COPY's command tag for free, so rows
 * are never counted in Node.
 *
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import type { Socket } from 'node:net';
import type { Sql } from 'postgres';
import { tappableSocket } from '../pg/session-sockets.js';
import { pipelinedCopyIn, tapCopyOut } from './copy-tap.js';

/** A COPY under way: its stream, and the server's verdict with the command tag's row count. */
export interface CopyStream<S> {
  readonly stream: S;
  readonly done: Promise<number>;
}

/** The parts of a postgres.js query that settle it; own properties of each query object. */
interface SettlingQuery {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Hooks the query's settlements before it runs: the first resolves it with
 * its stream, as postgres.js does; the next (the statement's end) and any
 * rejection go to `done`. Hooked before the query runs because a small COPY
 * TO arrives whole in one socket read, its end included.
 *
 * The stream is heard ({@link heard}) the moment postgres.js makes it: a COPY
 * the server refuses at its first row sends its error in the same read as
 * its start, and postgres.js destroys the stream with it before whoever
 * awaits the stream could listen; unheard, that error would end the process.
 */
function hookOutcome(query: SettlingQuery, onStream?: (stream: unknown) => void): Promise<number> {
  const { resolve: first, reject: firstReject } = query;
  let streamed = false;
  const done = new Promise<number>((resolve, reject) => {
    query.resolve = (value) => {
      if (!streamed) {
        streamed = true;
        heard(value as Readable | Writable);
        onStream?.(value);
        first(value);
        return;
      }
      resolve(Number((value as { count?: unknown } | null)?.count ?? 0));
    };
    query.reject = (error) => {
      firstReject(error);
      reject(error);
    };
  });
  // The caller may give up on a COPY whose peer failed; its outcome is then no news.
  done.catch(() => undefined);
  return done;
}

/** How a COPY TO hands its rows over. */
export interface CopyOutOptions {
  /** Counts the rows and bytes as they are read. */
  readonly meter?: CopyMeter;
  /** Whether the rows may be taken off the socket (copy-tap.ts) when it is in the clear; true by default. */
  readonly tap?: boolean;
  /** The size of the chunks rows are gathered into; {@link BATCH_BYTES} by default. */
  readonly batchBytes?: number;
}

/**
 * Starts `COPY ... TO STDOUT` on `session`, its rows gathered into chunks of
 * about `batchBytes`; the session is reusable once `done` resolved and the
 * stream ended.
 */
export async function copyOut(session: Sql, statement: string, options: CopyOutOptions = {}): Promise<CopyStream<Readable>> {
  const query = session.unsafe(statement);
  const meter = options.meter ?? { rows: 0, bytes: 0 };
  const socket = options.tap === false ? undefined : tappableSocket(session);
  if (socket) return tappedCopyOut(query, socket, meter);
  // Hooked as postgres.js hands the stream over, before it pushes the first row into it.
  const done = hookOutcome(query as unknown as SettlingQuery, (stream) => gatherRows(stream as Readable, options.batchBytes ?? BATCH_BYTES, meter));
  const stream = (await observedOnFailure(query.readable(), done)) as Readable;
  stream.once('end', () => {
    try {
      (stream as unknown as { _read(size: number): void })._read(0);
    } catch {
      // The connection is gone (a cancelled run ended its pool): nothing is left to resume, and a throw here would end the process.
    }
  });
  heard(stream);
  return { stream, done };
}

/**
 * A COPY TO whose rows are taken off the socket (copy-tap.ts). postgres.js's
 * own readable gets none of them; it is read only so that it ends.
 */
async function tappedCopyOut(query: ReturnType<Sql['unsafe']>, socket: Socket, meter: CopyMeter): Promise<CopyStream<Readable>> {
  const done = hookOutcome(query as unknown as SettlingQuery);
  // Armed before the query is sent: the rows may follow its CopyOutResponse in the same read.
  const rows = tapCopyOut(socket, done, meter);
  heard(rows);
  const own = (await observedOnFailure(query.readable(), done)) as Readable;
  heard(own);
  own.resume();
  return { stream: rows, done };
}

/**
 * Starts `COPY ... FROM STDIN` on `session`; `done` settles with the server's
 * answer after the stream ends. On a session whose socket the library reads
 * (`tap`), the statement goes out with the first rows (copy-tap.ts).
 */
export async function copyIn(session: Sql, statement: string, tap = true): Promise<CopyStream<Writable>> {
  const socket = tap === false ? undefined : tappableSocket(session);
  if (socket) {
    const pipelined = pipelinedCopyIn(socket, statement);
    heard(pipelined.stream);
    return pipelined;
  }
  const query = session.unsafe(statement);
  const done = hookOutcome(query as unknown as SettlingQuery);
  const own = (await observedOnFailure(query.writable(), done)) as Writable;
  heard(own);
  return { stream: own, done };
}

/**
 * postgres.js destroys a COPY's stream with the error that closed its
 * connection, which can come after the pump let go of the stream (the other
 * side failed first, or a cancelled run closed its sessions): with no
 * listener, that `error` event would end the process. The COPY's outcome is
 * `done`'s either way.
 */
function heard(stream: Readable | Writable): void {
  stream.on('error', () => undefined);
}

/** When the stream never opens, its query's outcome is the same failure: nobody will wait for it, so it must not go unhandled. */
async function observedOnFailure<T>(opening: Promise<T>, done: Promise<unknown>): Promise<T> {
  try {
    return await opening;
  } catch (error) {
    done.catch(() => undefined);
    throw error;
  }
}

/**
 * How many bytes a COPY TO gathers into one chunk: see copy-engine.ts for
 * the measurement (16 KB to 1 MB within noise of each other; 4 MB slower).
 */
export const BATCH_BYTES = 256 * 1024;

/** What a COPY TO has read so far: its messages (one a row; binary COPY adds one for its trailer) and their bytes. */
export interface CopyMeter {
  rows: number;
  bytes: number;
}

/**
 * Gathers the rows postgres.js pushes one at a time into chunks of about
 * `batchBytes`, counting them on the way. postgres.js pushes each CopyData
 * message into the readable by itself; every push then costs the stream's
 * bookkeeping, a `data` event and a listener call, and a write of it to a
 * COPY FROM its own CopyData message. Gathered where they are pushed, the
 * readable sees one push per chunk: on 5M rows of pgbench_accounts that took
 * the Node process from 1.9 to 1.3 CPU seconds, on a machine where the
 * servers need every cycle. The readable's backpressure is kept: a refused
 * push of a chunk returns false to postgres.js, which pauses the socket.
 */
function gatherRows(stream: Readable, batchBytes: number, meter: CopyMeter): void {
  const push = stream.push.bind(stream);
  let batch = Buffer.allocUnsafe(batchBytes);
  let used = 0;
  let accepted = true;
  const flush = (): void => {
    if (used === 0) return;
    const full = batch.subarray(0, used);
    batch = Buffer.allocUnsafe(batchBytes);
    used = 0;
    accepted = push(full);
  };
  stream.push = (chunk: Buffer | null): boolean => {
    if (chunk === null) {
      flush();
      return push(null);
    }
    meter.rows++;
    meter.bytes += chunk.length;
    accepted = true;
    if (used + chunk.length > batchBytes) flush();
    if (chunk.length >= batchBytes) {
      // A row larger than a chunk goes as it is: postgres.js made it a buffer of its own already.
      accepted = push(chunk) && accepted;
      return accepted;
    }
    batch.set(chunk, used);
    used += chunk.length;
    return accepted;
  };
}

/**
 * Moves every chunk of `from` into `to`, pausing the reading while the
 * destination's socket is full. Resolves once the last chunk is handed over
 * and `to` ended; `onChunk` runs after each chunk handed over. Rejects on the
 * first error of either stream, leaving `to` unended so a partial COPY is
 * never completed.
 */
export function pump(from: Readable, to: Writable, onChunk?: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      from.pause();
      cleanup();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      try {
        if (!to.write(chunk)) from.pause();
      } catch (error) {
        fail(error);
        return;
      }
      onChunk?.();
    };
    const onDrain = (): void => {
      if (!settled) from.resume();
    };
    const onEnd = (): void => {
      if (settled) return;
      try {
        to.end();
      } catch (error) {
        fail(error);
        return;
      }
      settled = true;
      cleanup();
      resolve();
    };
    const onClose = (): void => fail(Object.assign(new Error('The COPY stream closed before the copy ended'), { code: 'CONNECTION_CLOSED' }));
    const cleanup = (): void => {
      from.off('data', onData).off('end', onEnd).off('error', fail).off('close', onClose);
      to.off('drain', onDrain).off('error', fail).off('close', onClose);
    };
    from.on('data', onData).once('end', onEnd).once('error', fail).once('close', onClose);
    to.on('drain', onDrain).once('error', fail).once('close', onClose);
  });
}
