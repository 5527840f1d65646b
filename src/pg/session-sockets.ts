/**
 * The socket each one-connection session (pool.ts) speaks the protocol on,
 * plain or TLS (the session starts TLS itself), for the readers that take a
 * COPY's rows off the wire (copy/copy-tap.ts).
 *
 * @module
 */
import type { Socket } from 'node:net';

/** The sockets of sessions, by session. */
const sockets = new WeakMap<object, Socket>();

/** Records the socket a session's protocol runs on. */
export function recordSocket(session: object, socket: Socket): void {
  sockets.set(session, socket);
}

/** The socket `session` reads in the clear, if the tap may read it. */
export function tappableSocket(session: object): Socket | undefined {
  const socket = sockets.get(session);
  return socket && !socket.destroyed ? socket : undefined;
}

