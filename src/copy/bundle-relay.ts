/**
 * Several small tables copied by one query on each side: the source runs
 * `COPY a TO STDOUT; COPY b TO STDOUT; …` and the destination
 * `COPY a FROM STDIN; COPY b FROM STDIN; …`, and the library relays the
 * rows between the two sockets, table by table.
 *
 * A table of 100 rows costs its worker nothing in rows and everything in
 * turns: a query each side, a commit, and on each socket a write and a read,
 * each of which wakes a server process on this 2-core machine. On "tiny"
 * (2,000 tables) the library's process spent a third of its busy time in
 * socket writes, three a table. In one query per side, the tables of a
 * bundle share them all.
 *
 * The destination's statements run in the query's one implicit transaction:
 * a bundle commits whole or not at all, as a table did. The server takes the
 * bundle's rows in order, each table's `CopyDone` ending its COPY and starting
 * the next statement, so everything is written at once, without waiting for
 * each `CopyInResponse`. If one of its COPYs fails, the server discards the
 * rest of the query and every `CopyData` and `CopyDone` that follows, by
 * protocol, and nothing of the bundle stays. A failure on the source (or a
 * lost connection on either side) rejects at once; the caller then drops
 * both sessions, which ends the destination's transaction uncommitted.
 *
 * Both sessions must have nothing else under way: the library speaks the
 * protocol on their sockets itself, as copy-tap.ts does, and postgres.js only
 * sees the messages a server may send at any time (notices, parameter
 * changes).
 *
 * @module
 */
import type { Socket } from 'node:net';
import { tagSide, type Side } from '../pg/connect.js';
import {
  ASYNCHRONOUS, COMMAND_COMPLETE, COPY_DONE, COPY_DONE_MESSAGE, COPY_IN_RESPONSE, COPY_OUT_RESPONSE, ERROR_RESPONSE, HEADER, READY_FOR_QUERY,
  MessageReader, dataHeader, postgresError, queryMessage, tagCount, takeReads, type TakenReads,
} from './protocol.js';

/** One table of a bundle: its two statements, and the meter its rows are counted on as they pass. */
export interface BundledTable {
  readonly read: string;
  readonly write: string;
  readonly meter: { rows: number; bytes: number };
}

/**
 * A bundle's rows read off the source before its destination was ready
 * (read-ahead.ts): the messages its COPYs take, in the order the destination
 * takes them, and what each table's rows came to.
 */
export interface ReadBundle {
  /** The source's statements it was read by, one a table. */
  readonly reads: readonly string[];
  readonly chunks: readonly Buffer[];
  /** Bytes held in `chunks`. */
  readonly size: number;
  readonly tables: readonly { readonly rows: number; readonly bytes: number }[];
}

/**
 * Copies `tables` from the session on `source` to the one on `target`, one
 * query each. Resolves with each table's row count as the destination's
 * command tags give it, once both servers are ready for their next
 * statement; rejects with the first failure, the error tagged with its side
 * (`tagSide`).
 */
export function relayBundle(source: Socket, target: Socket, tables: readonly BundledTable[], onData: () => void): Promise<number[]> {
  return exchange([{ socket: source, side: 'source' }, { socket: target, side: 'target' }], (done) => {
    const counts: number[] = [];
    const into = destinationSide(target, tables.length, counts, done);
    const from = sourceSide(source, tables, done, (chunk) => {
      onData();
      if (!target.write(chunk) && !source.isPaused()) {
        source.pause();
        target.once('drain', () => {
          if (!done.settled()) source.resume();
        });
      }
    });
    // The destination's statements go first: its server takes each table's rows as they come after them.
    target.write(queryMessage(tables.map((t) => t.write).join(';\n')));
    source.write(queryMessage(tables.map((t) => t.read).join(';\n')));
    return { reads: [from, into], result: () => counts };
  });
}

/**
 * Reads `tables` off the session on `source` into memory, as the messages
 * their COPYs on a destination will take. Resolves once the source is
 * ready for its next statement; rejects with its failure.
 */
export function readBundle(source: Socket, tables: readonly Pick<BundledTable, 'read'>[]): Promise<ReadBundle> {
  return exchange([{ socket: source, side: 'source' }], (done) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const meters = tables.map(() => ({ rows: 0, bytes: 0 }));
    const from = sourceSide(source, tables.map((t, i) => ({ read: t.read, meter: meters[i] as { rows: number; bytes: number } })), done, (chunk) => {
      chunks.push(chunk);
      size += chunk.length;
    });
    source.write(queryMessage(tables.map((t) => t.read).join(';\n')));
    return { reads: [from], result: () => ({ reads: tables.map((t) => t.read), chunks, size, tables: meters }) };
  });
}

/**
 * Writes a bundle read ahead into the session on `target`, each table's
 * `write` statement taking its rows; resolves with each table's row count
 * as the destination's command tags give it.
 */
export function writeBundle(target: Socket, writes: readonly string[], bundle: ReadBundle): Promise<number[]> {
  return exchange([{ socket: target, side: 'target' }], (done) => {
    const counts: number[] = [];
    const into = destinationSide(target, writes.length, counts, done);
    target.write(queryMessage(writes.join(';\n')));
    for (const chunk of bundle.chunks) target.write(chunk);
    return { reads: [into], result: () => counts };
  });
}

/** How one side's messages reach the exchange it is part of. */
interface Exchange {
  /** The side's server is ready for its next statement. */
  ready(side: Side, error?: Error): void;
  /** The side failed: the exchange rejects at once. */
  fail(error: Error, side: Side): void;
  settled(): boolean;
}

/**
 * Runs one exchange of queries on `sessions` (the source's first when there
 * are two): resolves with `result()` once every server is ready for its
 * next statement, or rejects with the first failure. A session whose server
 * is still mid-query would hand postgres.js messages of a query it never
 * sent: on failure it is ended instead, its hooks left to swallow what still
 * comes (a destination's transaction ends uncommitted).
 */
function exchange<T>(
  sessions: readonly { readonly socket: Socket; readonly side: Side }[],
  begin: (done: Exchange) => { reads: readonly TakenReads[]; result: () => T },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const sockets = sessions.map((s) => s.socket);
    const sides = sessions.map((s) => s.side);
    const ready = new Map<Side, Error | undefined>();
    const restore: (() => void)[] = [];
    let settled = false;
    let begun: { reads: readonly TakenReads[]; result: () => T } | undefined;
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      if (error) {
        sockets.forEach((socket, i) => {
          if (!ready.has(sides[i] as Side)) socket.destroy();
        });
        reject(error);
        return;
      }
      for (const undo of restore) undo();
      // Paused for the destination's backpressure after the source's last read: the session reads on.
      for (const { socket, side } of sessions) if (side === 'source' && socket.isPaused()) socket.resume();
      resolve((begun as { result: () => T }).result());
    };
    const done: Exchange = {
      fail: (error, side) => settle(tagSide(error, side)),
      ready: (side, error) => {
        ready.set(side, error);
        if (ready.size < sides.length) return;
        // The source's failure first: the destination's follows from the rows it did not get.
        for (const each of sides) {
          const failed = ready.get(each);
          if (failed) return done.fail(failed, each);
        }
        settle();
      },
      settled: () => settled,
    };
    sockets.forEach((socket, i) => {
      const side = sides[i] as Side;
      const closed = (): void =>
        done.fail(Object.assign(new Error('The connection closed before the copy ended'), { code: 'CONNECTION_CLOSED' }), side);
      socket.once('close', closed);
      restore.push(() => socket.off('close', closed));
    });
    const gone = sockets.findIndex((socket) => socket.destroyed);
    if (gone >= 0) return done.fail(Object.assign(new Error('The connection closed before the copy ended'), { code: 'CONNECTION_CLOSED' }), sides[gone] as Side);
    begun = begin(done);
    for (const reads of begun.reads) restore.push(reads.restore);
  });
}

/**
 * The destination's answers: a CopyInResponse and a CommandComplete a
 * table (each table's count into `counts`), then ReadyForQuery.
 */
function destinationSide(target: Socket, tables: number, counts: number[], done: Exchange): TakenReads {
  let refused: Error | undefined;
  const messages = new MessageReader((type, message) => {
    if (type === COPY_IN_RESPONSE) return;
    if (type === COMMAND_COMPLETE) counts.push(tagCount(message));
    else if (type === ERROR_RESPONSE) {
      refused ??= postgresError(message);
      // The destination refused: its transaction is over, and the source's rows have nowhere to go.
      done.fail(refused, 'target');
    } else if (type === READY_FOR_QUERY) {
      const short = refused ?? (counts.length === tables ? undefined : new Error(`The destination reported ${counts.length} of ${tables} COPYs`));
      done.ready('target', short);
      return true;
    } else if (ASYNCHRONOUS.has(type)) reads.passOn(Buffer.from(message));
    else done.fail(new Error(`Unexpected message '${String.fromCharCode(type)}' from the destination during a COPY FROM`), 'target');
  });
  const reads = takeReads(target, (read) => handOver(reads, messages.feed(read)));
  return reads;
}

/**
 * The source's answers: for each table a CopyOutResponse, its rows, CopyDone
 * and CommandComplete; then ReadyForQuery. Each table's rows go to `deliver`
 * as the destination's messages: a read's rows gathered into one CopyData,
 * and each table's CopyDone.
 */
function sourceSide(
  source: Socket,
  tables: readonly Pick<BundledTable, 'read' | 'meter'>[],
  done: Exchange,
  deliver: (chunk: Buffer) => void,
): TakenReads {
  let table = -1;
  let failed: Error | undefined;
  let out: Buffer[] = [];
  let outBytes = 0;
  let payloadParts: Buffer[] = [];
  let payloadBytes = 0;
  const flushPayload = (): void => {
    if (payloadBytes === 0) return;
    out.push(dataHeader(payloadBytes), ...payloadParts);
    outBytes += HEADER + payloadBytes;
    payloadParts = [];
    payloadBytes = 0;
  };
  const flush = (): void => {
    flushPayload();
    if (outBytes === 0) return;
    const chunk = out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, outBytes);
    out = [];
    outBytes = 0;
    deliver(chunk);
  };
  const messages = new MessageReader(
    (type, message) => {
      if (type === COPY_OUT_RESPONSE) {
        table += 1;
        if (table >= tables.length) done.fail(new Error('The source started more COPYs than the bundle has tables'), 'source');
      } else if (type === COPY_DONE) {
        flushPayload();
        out.push(COPY_DONE_MESSAGE);
        outBytes += COPY_DONE_MESSAGE.length;
      } else if (type === COMMAND_COMPLETE) {
        return;
      } else if (type === ERROR_RESPONSE) {
        failed ??= postgresError(message);
        done.fail(failed, 'source');
      } else if (type === READY_FOR_QUERY) {
        // What this read brought goes on before the source is done with.
        if (!done.settled()) flush();
        done.ready('source', failed);
        return true;
      } else if (ASYNCHRONOUS.has(type)) reads.passOn(Buffer.from(message));
      else done.fail(new Error(`Unexpected message '${String.fromCharCode(type)}' from the source during a COPY TO`), 'source');
    },
    // A row's bytes, or part of them: relayed as they are, gathered into one CopyData a read.
    (payload, rowStart) => {
      const meter = tables[table]?.meter;
      if (!meter) return done.fail(new Error('The source sent rows outside a COPY'), 'source');
      if (rowStart) meter.rows += 1;
      meter.bytes += payload.length;
      payloadParts.push(payload);
      payloadBytes += payload.length;
    },
  );
  const reads = takeReads(source, (read) => {
    const rest = messages.feed(read);
    if (rest !== null) handOver(reads, rest);
    if (!done.settled()) flush();
  });
  return reads;
}

/** What a server sends after its ReadyForQuery is its session's usual reader's (postgres.js). */
function handOver(reads: TakenReads, rest: Buffer | null): void {
  if (rest !== null && rest.length > 0) reads.passOn(rest);
}
