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
 * Copies `tables` from the session on `source` to the one on `target`, one
 * query each. Resolves with each table's row count as the destination's
 * command tags give it, once both servers are ready for their next
 * statement; rejects with the first failure, the error tagged with its side
 * (`tagSide`).
 */
export function relayBundle(source: Socket, target: Socket, tables: readonly BundledTable[], onData: () => void): Promise<number[]> {
  return new Promise<number[]>((resolve, reject) => {
    const restore: (() => void)[] = [];
    // What a server sends after its ReadyForQuery is its session's usual reader's (postgres.js).
    const handOver = (reads: TakenReads, rest: Buffer | null): void => {
      if (rest !== null && rest.length > 0) reads.passOn(rest);
    };
    const counts: number[] = [];
    let sourceReady = false;
    let targetReady = false;
    let settled = false;
    let targetError: Error | undefined;
    let sourceError: Error | undefined;

    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      if (error) {
        // A session whose server is still mid-query would hand postgres.js messages of a query it never sent:
        // it is ended instead, its hooks left to swallow what still comes. The destination's transaction ends uncommitted.
        if (!sourceReady) source.destroy();
        if (!targetReady) target.destroy();
        reject(error);
        return;
      }
      for (const undo of restore) undo();
      // Paused for the destination's backpressure after the source's last read: the session reads on.
      if (source.isPaused()) source.resume();
      resolve(counts);
    };
    const fail = (error: Error, side: Side): void => settle(tagSide(error, side));
    const finishIfReady = (): void => {
      if (!sourceReady || !targetReady) return;
      if (sourceError) return fail(sourceError, 'source');
      if (targetError) return fail(targetError, 'target');
      if (counts.length !== tables.length) return fail(new Error(`The destination reported ${counts.length} of ${tables.length} COPYs`), 'target');
      settle();
    };

    // The destination's answers: a CopyInResponse and a CommandComplete a table, then ReadyForQuery.
    const targetMessages = new MessageReader((type, message) => {
      if (type === COPY_IN_RESPONSE) return;
      if (type === COMMAND_COMPLETE) counts.push(tagCount(message));
      else if (type === ERROR_RESPONSE) {
        targetError ??= postgresError(message);
        // The destination refused: its transaction is over, and the source's rows have nowhere to go.
        fail(targetError, 'target');
      } else if (type === READY_FOR_QUERY) {
        targetReady = true;
        finishIfReady();
        return true;
      } else if (ASYNCHRONOUS.has(type)) targetReads.passOn(Buffer.from(message));
      else fail(new Error(`Unexpected message '${String.fromCharCode(type)}' from the destination during a COPY FROM`), 'target');
    });

    // The source's answers: for each table a CopyOutResponse, its rows, CopyDone and CommandComplete; then ReadyForQuery.
    let table = -1;
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
    const sourceMessages = new MessageReader(
      (type, message) => {
        if (type === COPY_OUT_RESPONSE) {
          table += 1;
          if (table >= tables.length) fail(new Error('The source started more COPYs than the bundle has tables'), 'source');
        } else if (type === COPY_DONE) {
          flushPayload();
          out.push(COPY_DONE_MESSAGE);
          outBytes += COPY_DONE_MESSAGE.length;
        } else if (type === COMMAND_COMPLETE) {
          return;
        } else if (type === ERROR_RESPONSE) {
          sourceError ??= postgresError(message);
          fail(sourceError, 'source');
        } else if (type === READY_FOR_QUERY) {
          sourceReady = true;
          finishIfReady();
          return true;
        } else if (ASYNCHRONOUS.has(type)) sourceReads.passOn(Buffer.from(message));
        else fail(new Error(`Unexpected message '${String.fromCharCode(type)}' from the source during a COPY TO`), 'source');
      },
      // A row's bytes, or part of them: relayed as they are, gathered into one CopyData a read.
      (payload, rowStart) => {
        const meter = tables[table]?.meter;
        if (!meter) return fail(new Error('The source sent rows outside a COPY'), 'source');
        if (rowStart) meter.rows += 1;
        meter.bytes += payload.length;
        payloadParts.push(payload);
        payloadBytes += payload.length;
      },
    );

    const sourceReads = takeReads(source, (read) => {
      const rest = sourceMessages.feed(read);
      if (rest !== null) handOver(sourceReads, rest);
      if (settled) return;
      flushPayload();
      if (outBytes === 0) return;
      const chunk = out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, outBytes);
      out = [];
      outBytes = 0;
      onData();
      if (!target.write(chunk) && !source.isPaused()) {
        source.pause();
        target.once('drain', () => {
          if (!settled) source.resume();
        });
      }
    });
    const targetReads = takeReads(target, (read) => handOver(targetReads, targetMessages.feed(read)));
    restore.push(sourceReads.restore, targetReads.restore);
    const onClose = (side: Side) => (): void =>
      fail(Object.assign(new Error('The connection closed before the copy ended'), { code: 'CONNECTION_CLOSED' }), side);
    const closedSource = onClose('source');
    const closedTarget = onClose('target');
    source.once('close', closedSource);
    target.once('close', closedTarget);
    restore.push(() => {
      source.off('close', closedSource);
      target.off('close', closedTarget);
    });
    if (source.destroyed) return closedSource();
    if (target.destroyed) return closedTarget();

    // The destination's statements go first: its server takes each table's rows as they come after them.
    target.write(queryMessage(tables.map((t) => t.write).join(';\n')));
    source.write(queryMessage(tables.map((t) => t.read).join(';\n')));
  });
}
