import type { Sql } from 'postgres';

/**
 * Aborts `controller` the moment the destination's subscription is disabled
 * or gone: the first step of removing it, which a stop or cutover must then
 * finish. Resolves once it fired.
 */
export async function abortOnceSubscriptionGoes(target: Sql, controller: AbortController): Promise<void> {
  while (!controller.signal.aborted) {
    const [sub] = await target<{ enabled: boolean }[]>`select subenabled as enabled from pg_subscription`;
    if (!sub || !sub.enabled) controller.abort();
    else await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
