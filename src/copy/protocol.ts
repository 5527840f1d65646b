/**
 * The few frontend/backend protocol messages the library speaks on a
 * session's socket itself (copy-tap.ts, bundle-relay.ts), built and read as
 * the protocol documentation gives them.
 *
 * @module
 */
import type { Socket } from 'node:net';
import postgres from 'postgres';

/** Message types, by their protocol letter. */
export const COPY_OUT_RESPONSE = 0x48; // 'H'
export const COPY_IN_RESPONSE = 0x47; // 'G'
export const COPY_DATA = 0x64; // 'd'
export const COPY_DONE = 0x63; // 'c'
export const COMMAND_COMPLETE = 0x43; // 'C'
export const ERROR_RESPONSE = 0x45; // 'E'
export const READY_FOR_QUERY = 0x5a; // 'Z'
/** Messages a server may send at any time, which postgres.js handles with no query of its own under way. */
export const ASYNCHRONOUS = new Set([0x4e /* 'N' notice */, 0x53 /* 'S' parameter status */, 0x41 /* 'A' notification */]);
/** A message's type byte and length. */
export const HEADER = 5;
const QUERY = 0x51; // 'Q'
const COPY_FAIL = 0x66; // 'f'

/** An ErrorResponse's fields by their protocol code, named as postgres.js names them. */
const ERROR_FIELDS: Readonly<Record<string, string>> = {
  S: 'severity_local', V: 'severity', C: 'code', M: 'message', D: 'detail', H: 'hint', P: 'position',
  p: 'internal_position', q: 'internal_query', W: 'where', s: 'schema_name', t: 'table_name',
  c: 'column_name', d: 'data type_name', n: 'constraint_name', F: 'file', L: 'line', R: 'routine',
};

/** A simple Query message running `statement` (several, separated by semicolons, run in one implicit transaction). */
export function queryMessage(statement: string): Buffer {
  return message(QUERY, Buffer.from(`${statement}\0`, 'utf8'));
}

/** The header of a CopyData message whose payload is `payloadBytes` long. */
export function dataHeader(payloadBytes: number): Buffer {
  return header(COPY_DATA, payloadBytes);
}

/** CopyDone: the end of a COPY FROM's rows. */
export const COPY_DONE_MESSAGE: Buffer = header(COPY_DONE, 0);

/** CopyFail: the client abandons its COPY FROM, which the server answers with an error. */
export function copyFailMessage(reason: string): Buffer {
  return message(COPY_FAIL, Buffer.from(`${reason}\0`, 'utf8'));
}

/** The row count of a CommandComplete tag (`COPY 42`). */
export function tagCount(message: Buffer): number {
  const tag = message.toString('utf8', HEADER, message.length - 1);
  return Number(tag.slice(tag.lastIndexOf(' ') + 1)) || 0;
}

/** An ErrorResponse as postgres.js would reject a query with it. */
export function postgresError(message: Buffer): Error {
  const fields: Record<string, string> = {};
  let start = HEADER;
  for (let i = HEADER; i < message.length - 1; i++) {
    if (message[i] === 0) {
      const name = ERROR_FIELDS[String.fromCharCode(message[start] as number)];
      if (name) fields[name] = message.toString('utf8', start + 1, i);
      start = i + 1;
    }
  }
  return new (postgres.PostgresError as unknown as new (fields: Record<string, string>) => Error)(fields);
}

/** A protocol message: its type, its length, its body. */
function message(type: number, body: Buffer): Buffer {
  return Buffer.concat([header(type, body.length), body]);
}

/** A message's type and length, for a body of `bodyBytes`. */
function header(type: number, bodyBytes: number): Buffer {
  const bytes = Buffer.allocUnsafe(HEADER);
  bytes[0] = type;
  bytes.writeUInt32BE(bodyBytes + 4, 1);
  return bytes;
}

/**
 * Splits a server's byte stream into messages across reads. A CopyData
 * message's payload goes to `onPayload` as it arrives, in parts if a read
 * cuts it, never copied (when `onPayload` is given); every other message is
 * handed to `onMessage` whole. `onMessage` returning true stops the reading:
 * what follows in that read, and every later read, is returned by `feed`
 * untouched, for the session's usual reader.
 */
export class MessageReader {
  #carry: Buffer | null = null;
  /** Payload bytes of the CopyData under way not read yet. */
  #payloadLeft = 0;
  #stopped = false;
  readonly #onMessage: (type: number, message: Buffer) => boolean | void;
  readonly #onPayload: ((payload: Buffer, rowStart: boolean) => void) | undefined;

  constructor(onMessage: (type: number, message: Buffer) => boolean | void, onPayload?: (payload: Buffer, rowStart: boolean) => void) {
    this.#onMessage = onMessage;
    this.#onPayload = onPayload;
  }

  /** Reads `read`; returns what follows a stop (possibly empty), or null while reading goes on. */
  feed(read: Buffer): Buffer | null {
    if (this.#stopped) return read;
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
        const end = Math.min(buffer.length, at + 1 + length);
        this.#onPayload(buffer.subarray(at + HEADER, end), true);
        this.#payloadLeft = at + 1 + length - end;
        at = end;
        continue;
      }
      const end = at + 1 + length;
      if (end > buffer.length) break;
      const stop = this.#onMessage(type, buffer.subarray(at, end));
      at = end;
      if (stop === true) {
        this.#stopped = true;
        return buffer.subarray(at);
      }
    }
    if (at < buffer.length) this.#carry = Buffer.from(buffer.subarray(at));
    return null;
  }
}

type Emit = (this: Socket, event: string | symbol, ...args: unknown[]) => boolean;

/** A socket whose reads the library takes from its usual reader (postgres.js) for a while. */
export interface TakenReads {
  /** Hands bytes to the usual reader, as if the socket had read them. */
  passOn(bytes: Buffer): void;
  /** Gives the reads back. */
  restore(): void;
}

/**
 * Takes `socket`'s `data` events, each to `onRead`, until `restore`; every
 * other event goes to the socket's listeners as always.
 */
export function takeReads(socket: Socket, onRead: (read: Buffer) => void): TakenReads {
  const passOn = socket.emit as Emit;
  socket.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'data') return passOn.call(this, event, ...args);
    onRead(args[0] as Buffer);
    return true;
  } as Socket['emit'];
  return {
    passOn: (bytes) => {
      passOn.call(socket, 'data', bytes);
    },
    restore: () => {
      socket.emit = passOn as Socket['emit'];
    },
  };
}
