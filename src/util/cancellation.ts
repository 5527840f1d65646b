/**
 * Cancellation through the caller's AbortSignal: every wait and loop of a
 * run checks it, child processes die with it, and a database's sessions
 * close when it fires, so whatever was under way ends within moments.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { migrationError, type MigrationError } from '../errors.js';

/** Thrown inside a run once its signal fired; becomes kind `cancelled`. */
export class Cancelled extends Error {
  constructor(what = 'The operation') {
    super(`${what} was cancelled`);
  }
}

export function throwIfCancelled(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw new Cancelled(what);
}

/** Waits `ms`, or throws {@link Cancelled} as soon as `signal` fires. */
export async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  } catch (error) {
    if (signal?.aborted) throw new Cancelled();
    throw error;
  }
}

export function cancelledError(what: string, extra: { database?: string } = {}): MigrationError {
  return migrationError('cancelled', `${what} was cancelled`, {
    ...extra,
    hint: 'Run it again when ready: finished databases are kept, and anything the cancelled run left unfinished is redone.',
  });
}
