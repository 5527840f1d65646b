/**
 * Waits between polls that start short and double up to a ceiling.
 *
 * What a migration waits for (an apply worker to start, a slot to catch up,
 * a walsender to let go) usually happens within tens of milliseconds on an
 * idle server and can take minutes on a busy one: a fixed interval long
 * enough for the second case costs the first a whole interval, once per
 * database. Doubling from {@link FIRST_DELAY_MS} answers the quick case
 * within a few round trips and polls a slow one no more than every `maxMs`.
 *
 * @module
 */
import { pause } from './cancellation.js';

export const FIRST_DELAY_MS = 20;

/** Resolves after the next delay: 20 ms, 40 ms, ... up to `maxMs`. */
export type Backoff = () => Promise<void>;

/**
 * A fresh sequence of delays; `remainingMs` (when given) caps each wait at
 * the time left. A wait throws `Cancelled` as soon as `signal` fires.
 */
export function backoff(maxMs: number, remainingMs?: () => number, signal?: AbortSignal): Backoff {
  let next = Math.min(FIRST_DELAY_MS, maxMs);
  return async () => {
    const delay = Math.max(0, Math.min(next, remainingMs ? remainingMs() : next));
    next = Math.min(next * 2, maxMs);
    await pause(delay, signal);
  };
}
