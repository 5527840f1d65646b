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

/** What the tap has read so far: `CopyData` messages (one a row) and their payload bytes. */
export interface TapMeter {
  rows: number;
  bytes: number;
}

const COPY_OUT_RESPONSE = 0x48; // 'H'
const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR_RESPONSE = 0x45; // 'E'
const READY_FOR_QUERY = 0x5a; // 'Z'
const HEADER = 5;

/** Rows queued past this make the tap pause the source's socket until they are read. */
const HIGH_WATER_BYTES = 1024 * 1024;

type Emit = (this: Socket, event: string | symbol, ...args: unknown[]) => boolean;

/**
 * Takes the rows of the next COPY TO on `socket`: call it before the COPY is
 * sent, on a session with nothing else under way. The returned readable gives
 * the rows' bytes and ends once `CopyDone` arrived; if the COPY ends any other
 * way (an error, a lost connection), it is destroyed with `outcome`'s error
 * and never ends, so a partial copy can't be taken for a whole one.
 */
export function tapCopyOut(socket: Socket, outcome: Promise<unknown>, meter: TapMeter): Readable {
  const passOn = socket.emit as Emit;
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
    (bytes) => {
      passOn.call(socket, 'data', bytes);
    },
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
    socket.emit = passOn as Socket['emit'];
    socket.off('close', onClose);
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
  socket.on('close', onClose);
  socket.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'data') return passOn.call(this, event, ...args);
    parser.feed(args[0] as Buffer);
    if (parser.state === 'done') finish(true);
    else if (parser.state === 'failed') finish(false);
    return true;
  } as Socket['emit'];
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

const COPY_DATA_HEADER = 5;

/**
 * The rows of a `COPY ... FROM STDIN` written straight to the session's
 * socket, each chunk one `CopyData` message behind a header of its own.
 * postgres.js's writable copies every chunk into a new buffer to put its
 * header in front (`Buffer.concat`), which on 500 MB of rows was most of the
 * Node process's garbage collection. `own`, postgres.js's writable of the
 * same COPY, still ends it (`CopyDone`) or fails it (`CopyFail`), so the
 * server's verdict reaches postgres.js as always. Call once postgres.js
 * handed `own` over: the statement is on the wire by then.
 */
export function directCopyIn(socket: Socket, own: Writable): Writable {
  let waiting: (() => void) | null = null;
  const onDrain = (): void => {
    const resume = waiting;
    waiting = null;
    resume?.();
  };
  const onClose = (): void => {
    direct.destroy(Object.assign(new Error('The connection closed before the copy ended'), { code: 'CONNECTION_CLOSED' }));
  };
  socket.on('drain', onDrain);
  socket.once('close', onClose);
  const detach = (): void => {
    socket.off('drain', onDrain);
    socket.off('close', onClose);
  };
  // Writes wait in the socket until the event loop turns, so that a small table's rows and
  // its CopyDone (written by `own.end()` in `final`) leave in one system call, not two.
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
  const direct: Writable = new Writable({
    highWaterMark: HIGH_WATER_BYTES,
    write(chunk: Buffer, _encoding, callback) {
      const header = Buffer.allocUnsafe(COPY_DATA_HEADER);
      header[0] = COPY_DATA;
      header.writeUInt32BE(chunk.length + 4, 1);
      cork();
      socket.write(header);
      if (socket.write(chunk) || socket.destroyed) callback();
      else waiting = () => callback();
    },
    final(callback) {
      detach();
      cork();
      own.end();
      callback();
    },
    destroy(error, callback) {
      detach();
      if (error) own.destroy(error);
      callback(error);
    },
  });
  return direct;
}
