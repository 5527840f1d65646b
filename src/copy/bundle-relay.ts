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
import { ASYNCHRONOUS, COMMAND_COMPLETE, COPY_DATA, COPY_DONE, COPY_DONE_MESSAGE, COPY_IN_RESPONSE, COPY_OUT_RESPONSE, ERROR_RESPONSE, HEADER, READY_FOR_QUERY, dataHeader, postgresError, queryMessage, tagCount } from './protocol.js';

/** One table of a bundle: its two statements, and the meter its rows are counted on as they pass. */
export interface BundledTable {
  readonly read: string;
  readonly write: string;
  readonly meter: { rows: number; bytes: number };
}


type Emit = (this: Socket, event: string | symbol, ...args: unknown[]) => boolean;

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
      } else if (ASYNCHRONOUS.has(type)) targetPass(message);
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
        } else if (ASYNCHRONOUS.has(type)) sourcePass(message);
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

    const sourcePass = hijack(source, restore, (read) => {
      sourceMessages.feed(read);
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
    const targetPass = hijack(target, restore, (read) => targetMessages.feed(read));
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

/**
 * Takes a socket's `data` events until the relay settles; returns what hands
 * a message on to postgres.js, the socket's usual reader.
 */
function hijack(socket: Socket, restore: (() => void)[], onRead: (read: Buffer) => void): (message: Buffer) => void {
  const passOn = socket.emit as Emit;
  socket.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'data') return passOn.call(this, event, ...args);
    onRead(args[0] as Buffer);
    return true;
  } as Socket['emit'];
  restore.push(() => {
    socket.emit = passOn as Socket['emit'];
  });
  return (message) => {
    passOn.call(socket, 'data', Buffer.from(message));
  };
}

/**
 * Splits a byte stream into protocol messages across reads. A CopyData
 * message's payload goes to `onPayload` as it arrives, in parts if a read
 * cuts it, never copied; every other message is handed over whole.
 */
class MessageReader {
  #carry: Buffer | null = null;
  /** Payload bytes of the CopyData under way not read yet. */
  #payloadLeft = 0;
  readonly #onMessage: (type: number, message: Buffer) => void;
  readonly #onPayload: ((payload: Buffer, rowStart: boolean) => void) | undefined;

  constructor(onMessage: (type: number, message: Buffer) => void, onPayload?: (payload: Buffer, rowStart: boolean) => void) {
    this.#onMessage = onMessage;
    this.#onPayload = onPayload;
  }

  feed(read: Buffer): void {
    let buffer = read;
    if (this.#carry) {
      buffer = Buffer.concat([this.#carry, read]);
      this.#carry = null;
    }
    let at = 0;
    if (this.#payloadLeft > 0) {
      const n = Math.min(this.#payloadLeft, buffer.length);
      this.#onPayload?.(buffer.subarray(0, n), false);
      this.#payloadLeft -= n;
      at = n;
    }
    while (buffer.length - at >= HEADER) {
      const type = buffer[at] as number;
      const length = buffer.readUInt32BE(at + 1);
      if (type === COPY_DATA && this.#onPayload) {
        const start = at + HEADER;
        const end = Math.min(buffer.length, at + 1 + length);
        this.#onPayload(buffer.subarray(start, end), true);
        this.#payloadLeft = at + 1 + length - end;
        at = end;
        continue;
      }
      const end = at + 1 + length;
      if (end > buffer.length) break;
      this.#onMessage(type, buffer.subarray(at, end));
      at = end;
    }
    if (at < buffer.length) this.#carry = Buffer.from(buffer.subarray(at));
  }
}
