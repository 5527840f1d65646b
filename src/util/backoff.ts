/**
 * Waits between polls that start short and double up to a ceiling.
 *
 * What a migration waits for (an apply worker to start, a slot to catch up,
 * a walsender to let go) usually happens within tens of milliseconds on an
 * idle server and can take minutes on a busy one: a fixed interval long
 * enough for the second case costs the first a whole interval, once per
 * database. Waits growing from {@link FIRST_DELAY_MS} by a third of the
 * time waited answer the quick case within a few round trips and poll a
 * slow one no more than every `maxMs`.
 *
 * @module
 */
import { pause } from './cancellation.js';

export const FIRST_DELAY_MS = 20;

/** Resolves after the next delay: 20 ms four times, then a third of the time waited so far, up to `maxMs`. */
export type Backoff = () => Promise<void>;

/**
 * A fresh sequence of delays; `remainingMs` (when given) caps each wait at
 * the time left. A wait throws `Cancelled` as soon as `signal` fires.
 */
export function backoff(maxMs: number, remainingMs?: () => number, signal?: AbortSignal): Backoff {
  let waited = 0;
  return async () => {
    // A third of the time waited so far: whatever is awaited is seen at most a third late. Doubling could see
    // something ready after 0.15 s only at 0.3 s, on a run whose whole replication takes 2.5 s.
    const next = Math.min(maxMs, Math.max(FIRST_DELAY_MS, waited / 3));
    const delay = Math.max(0, Math.min(next, remainingMs ? remainingMs() : next));
    waited += delay;
    await pause(delay, signal);
  };
}
