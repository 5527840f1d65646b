/**
 * The rows of a `COPY ... TO STDOUT`, taken off the session's socket before
 * postgres.js parses them.
 *
 * postgres.js reads a COPY TO one message at a time: for every row it reads
 * the header, cuts three `subarray`s and pushes the row into a readable by
 * itself. On 5M rows of pgbench_accounts that is ~300 ns a row, 1.5 CPU
 * seconds of a 2-core machine whose servers need every cycle for the copy.
 * Here the socket's `data` events are read first: the messages before the
 * rows (`CopyOutResponse` included) and everything from `CopyDone` or an
 * error on go to postgres.js unchanged, so it settles the query as always;
 * the `CopyData` messages in between never reach it. Their payloads are
 * moved together inside the buffer the socket read (one `copyWithin` a row,
 * no allocation) and pushed as one chunk per socket read: a COPY FROM takes
 * them as they are, since its input is a byte stream whatever the message
 * boundaries.
 *
 * It reads the socket a session (pg/pool.ts) speaks the protocol on, a TLS
 * one included: the session starts TLS itself for that. A connection the
 * library did not open goes through postgres.js's streams (copy-streams.ts).
 *
 * @module
 */
import type { Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import {
  ASYNCHRONOUS, COMMAND_COMPLETE, COPY_DATA, COPY_DONE, COPY_DONE_MESSAGE, COPY_IN_RESPONSE, COPY_OUT_RESPONSE, ERROR_RESPONSE, HEADER, READY_FOR_QUERY,
  MessageReader, copyFailMessage, dataHeader, postgresError, queryMessage, tagCount, takeReads, type TakenReads,
} from './protocol.js';

/** What the tap has read so far: `CopyData` messages (one a row) and their payload bytes. */
export interface TapMeter {
  rows: number;
  bytes: number;
}


/** Rows queued past this make the tap pause the source's socket until they are read. */
const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * Takes the rows of the next COPY TO on `socket`: call it before the COPY is
 * sent, on a session with nothing else under way. The returned readable gives
 * the rows' bytes and ends once `CopyDone` arrived; if the COPY ends any other
 * way (an error, a lost connection), it is destroyed with `outcome`'s error
 * and never ends, so a partial copy can't be taken for a whole one.
 */
export function tapCopyOut(socket: Socket, outcome: Promise<unknown>, meter: TapMeter): Readable {
  let paused = false;
  const rows = new Readable({
    highWaterMark: HIGH_WATER_BYTES,
    read() {
      if (paused) {
        paused = false;
        socket.resume();
      }
    },
  });
  const parser = new CopyOutParser(
    (bytes) => reads.passOn(bytes),
    (chunk) => {
      meter.bytes += chunk.length;
      // Paused again on every refusal: postgres.js's own readable resumes the socket when it is read.
      if (!rows.push(chunk)) {
        paused = true;
        socket.pause();
      }
    },
    () => meter.rows++,
  );
  const finish = (ended: boolean): void => {
    reads.restore();
    socket.off('close', onClose);
    socket.off('finish', onFinish);
    if (paused) {
      paused = false;
      socket.resume();
    }
    if (ended) {
      rows.push(null);
      return;
    }
    outcome.then(
      () => rows.destroy(new Error('The COPY ended without its CopyDone')),
      (error: unknown) => rows.destroy(error as Error),
    );
  };
  const onClose = (): void => {
    if (parser.state === 'rows' || parser.state === 'before') finish(false);
  };
  // The session is ending (postgres.js writes Terminate and half-closes) while rows still come: nobody will
  // read them. A socket paused for backpressure would leave the server's backend blocked in its send for as
  // long as this process lives, holding its snapshot and its lock on the table; destroyed, the backend ends.
  const onFinish = (): void => {
    if (parser.state === 'rows' || parser.state === 'before') socket.destroy();
  };
  socket.on('close', onClose);
  socket.on('finish', onFinish);
  const reads = takeReads(socket, (read) => {
    parser.feed(read);
    if (parser.state === 'done') finish(true);
    else if (parser.state === 'failed') finish(false);
  });
  return rows;
}

/**
 * Splits the server's byte stream of one COPY TO: what precedes and follows
 * the rows goes to `pass`, the rows' payloads to `take`, moved together in
 * the buffer they were read into. postgres.js parses what it is passed at
 * once, keeping only a message cut by the end of a read, and a message is
 * passed before any row after it is moved: nothing it holds is overwritten.
 */
export class CopyOutParser {
  state: 'before' | 'rows' | 'done' | 'failed' = 'before';
  /** Bytes of the message under way not read yet. */
  #left = 0;
  /** Whether the message under way goes to postgres.js (else it is a row). */
  #passing = false;
  #type = 0;
  /** A header cut by the end of a read, kept until the next read completes it. */
  #carry: Buffer | null = null;
  readonly #pass: (bytes: Buffer) => void;
  readonly #take: (payload: Buffer) => void;
  readonly #row: () => void;

  constructor(pass: (bytes: Buffer) => void, take: (payload: Buffer) => void, row: () => void) {
    this.#pass = pass;
    this.#take = take;
    this.#row = row;
  }

  feed(read: Buffer): void {
    let buffer = read;
    if (this.#carry) {
      buffer = Buffer.concat([this.#carry, read]);
      this.#carry = null;
    }
    if (this.state === 'done' || this.state === 'failed') {
      this.#pass(buffer);
      return;
    }
    let end = buffer.length;
    let at = 0;
    // Payloads are moved down to [first, out): `out` never passes `at`, so nothing unread is overwritten.
    let first = -1;
    let out = 0;
    let passFrom = -1;
    const flushPass = (to: number): void => {
      if (passFrom >= 0 && to > passFrom) this.#pass(buffer.subarray(passFrom, to));
      passFrom = -1;
    };
    while (at < end) {
      if (this.#left > 0) {
        const n = Math.min(this.#left, end - at);
        if (this.#passing) {
          if (passFrom < 0) passFrom = at;
        } else if (first < 0) {
          first = at;
          out = at + n;
        } else {
          if (out !== at) buffer.copyWithin(out, at, at + n);
          out += n;
        }
        at += n;
        this.#left -= n;
        if (this.#left === 0 && this.#passing && this.state === 'before' && this.#type === COPY_OUT_RESPONSE) {
          flushPass(at);
          this.state = 'rows';
        }
        continue;
      }
      if (end - at < HEADER) {
        this.#carry = Buffer.from(buffer.subarray(at));
        end = at;
        break;
      }
      const type = buffer[at] as number;
      const length = buffer.readUInt32BE(at + 1);
      this.#type = type;
      if (this.state === 'rows' && type === COPY_DATA) {
        flushPass(at);
        this.#row();
        this.#passing = false;
        this.#left = length - 4;
        at += HEADER;
        continue;
      }
      const over = this.state === 'rows' ? type === COPY_DONE || type === ERROR_RESPONSE || type === READY_FOR_QUERY : type === ERROR_RESPONSE || type === READY_FOR_QUERY;
      if (over) {
        // The rows are over, or never began: this message and all after it are postgres.js's.
        this.state = type === COPY_DONE ? 'done' : 'failed';
        if (first >= 0) this.#take(buffer.subarray(first, out));
        this.#pass(buffer.subarray(passFrom >= 0 ? passFrom : at));
        return;
      }
      // Any other message (the replies before the rows, a notice among them) is postgres.js's, whole.
      if (passFrom < 0) passFrom = at;
      this.#passing = true;
      this.#left = length + 1;
    }
    flushPass(end);
    if (first >= 0) this.#take(buffer.subarray(first, out));
  }
}


/** A COPY FROM under way: its rows' writable, and the server's verdict with the command tag's row count. */
export interface PipelinedCopy {
  readonly stream: Writable;
  readonly done: Promise<number>;
}

/**
 * A `COPY ... FROM STDIN` spoken on the session's socket by the library
 * itself, on a session with nothing else under way: the statement leaves
 * together with the first rows, and a small table's rows and `CopyDone`, in
 * one write. Through postgres.js the statement went first and the rows only
 * once the server's `CopyInResponse` came back: a round trip more per table.
 * On loopback that cost nothing measurable; with 2 ms round trips to the
 * destination, 2,000 small tables took 5.8-6.0 s to copy and index that way
 * and 4.0-4.1 s this way.
 *
 * The server reads the rows after the statement whatever the timing. If the
 * statement fails (a missing table, a type mismatch), it answers with its
 * error and ignores the `CopyData`, `CopyDone` and `CopyFail` messages that
 * follow, as it ignores them outside COPY by protocol. The replies are read
 * here, never reaching postgres.js, which has no query under way; what the
 * server may send at any time (notices, parameter changes) is passed on to
 * it whole. `done` resolves with the command tag's row count once the
 * server is ready for the next statement, or rejects with its error (a
 * `PostgresError`, as postgres.js would make it), or with the connection's
 * loss. A stream destroyed before the server answered fails the COPY
 * (`CopyFail`), so nothing of it is committed.
 */
export function pipelinedCopyIn(socket: Socket, statement: string): PipelinedCopy {
  let reads: TakenReads | undefined;
  let sent = false;
  /** CopyDone is on the wire: the server decides now, and a CopyFail could change nothing. */
  let ended = false;
  let settled = false;
  let count = 0;
  let serverError: Error | undefined;
  let waiting: (() => void) | null = null;
  let resolveDone!: (count: number) => void;
  let rejectDone!: (error: unknown) => void;
  const done = new Promise<number>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // The caller may give up on a COPY whose peer failed; its outcome is then no news.
  done.catch(() => undefined);

  const onDrain = (): void => {
    const resume = waiting;
    waiting = null;
    resume?.();
  };
  const onClose = (): void => settle(Object.assign(new Error('The connection closed before the copy ended'), { code: 'CONNECTION_CLOSED' }));
  const settle = (error?: unknown): void => {
    if (settled) return;
    settled = true;
    reads?.restore();
    socket.off('close', onClose);
    socket.off('drain', onDrain);
    if (error === undefined) {
      resolveDone(count);
      return;
    }
    rejectDone(error);
    onDrain();
    if (!stream.destroyed) stream.destroy(error as Error);
  };
  const messages = new MessageReader((type, message) => {
    if (type === COPY_IN_RESPONSE) return;
    if (type === COMMAND_COMPLETE) {
      count = tagCount(message);
    } else if (type === ERROR_RESPONSE) {
      serverError ??= postgresError(message);
    } else if (type === READY_FOR_QUERY) {
      settle(serverError);
      return true;
    } else if (ASYNCHRONOUS.has(type)) {
      reads?.passOn(Buffer.from(message));
    } else {
      settle(new Error(`Unexpected message '${String.fromCharCode(type)}' from the server during a COPY FROM`));
      socket.destroy();
      return true;
    }
  });
  const onData = (read: Buffer): void => {
    const rest = messages.feed(read);
    // Nothing else is under way on the session: anything after ReadyForQuery is postgres.js's.
    if (rest !== null && rest.length > 0 && !socket.destroyed) reads?.passOn(rest);
  };

  // Writes wait in the socket until the event loop turns, so that the statement, a small table's
  // rows and its CopyDone (written by `final`) leave in one system call.
  let corked = false;
  const cork = (): void => {
    if (corked) return;
    corked = true;
    socket.cork();
    setImmediate(() => {
      corked = false;
      socket.uncork();
    });
  };
  /** Puts the statement on the wire, once, ahead of whatever is written next. */
  const start = (): boolean => {
    if (sent) return !settled;
    sent = true;
    if (socket.destroyed) {
      onClose();
      return false;
    }
    reads = takeReads(socket, onData);
    socket.on('close', onClose);
    socket.on('drain', onDrain);
    cork();
    socket.write(queryMessage(statement));
    return true;
  };

  const stream: Writable = new Writable({
    highWaterMark: HIGH_WATER_BYTES,
    write(chunk: Buffer, _encoding, callback) {
      if (!start()) return callback(failure());
      cork();
      socket.write(dataHeader(chunk.length));
      if (socket.write(chunk) || socket.destroyed) callback();
      else waiting = () => callback(settled && serverError ? serverError : undefined);
    },
    final(callback) {
      if (!start()) return callback(failure());
      cork();
      socket.write(COPY_DONE_MESSAGE);
      ended = true;
      callback();
    },
    destroy(error, callback) {
      if (!sent) {
        sent = true;
        settle(error ?? new Error('The copy was abandoned before it began'));
      } else if (!settled && !ended && !socket.destroyed) {
        // The server answers a CopyFail with its error, which settles `done`.
        socket.write(copyFailMessage(error?.message ?? 'the copy was abandoned'));
      }
      callback(error);
    },
  });
  const failure = (): Error => serverError ?? new Error('The COPY FROM ended before its rows were written');
  return { stream, done };
}
