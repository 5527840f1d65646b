/**
 * The socket each one-connection session (pool.ts) runs on, for the readers
 * that take a COPY's rows off the wire (copy/copy-tap.ts). Only sessions that
 * speak the protocol in the clear are recorded: with TLS, the socket carries
 * ciphertext and postgres.js reads a TLS socket of its own.
 *
 * @module
 */
import type { Socket } from 'node:net';

/** The sockets of sessions that speak the protocol in the clear, by session. */
const sockets = new WeakMap<object, Socket>();

/** Records the socket a session's connection runs on; for a session without TLS. */
export function recordSocket(session: object, socket: Socket): void {
  sockets.set(session, socket);
}

/** The socket `session` reads in the clear, if the tap may read it. */
export function tappableSocket(session: object): Socket | undefined {
  const socket = sockets.get(session);
  return socket && !socket.destroyed ? socket : undefined;
}

