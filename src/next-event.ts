/**
 * The next event of one type from a Migrator, as a ResultAsync: the typed
 * counterpart of `events.once` from `node:events` (whose typing wants a
 * Node EventEmitter, which a Migrator is not: only the library emits).
 *
 * @module
 */
import { err, ok, ResultAsync, type Result } from 'neverthrow';
import type { MigrationError } from './errors.js';
import type { MigratorEvents } from './events.js';
import type { Migrator } from './migrator.js';
import { cancelledError } from './util/cancellation.js';

/** The payload of event `E`. */
export type EventOf<E extends keyof MigratorEvents> = Parameters<MigratorEvents[E]>[0];

/**
 * Resolves with the next `event` the Migrator emits; with kind `cancelled`
 * if `signal` fires first.
 *
 * ### Examples
 * ```ts
 * const running = migrator.migrate();
 * const first = await nextEvent(migrator, 'database:done');
 * if (first.isOk()) logger.info(`${first.value.dbname} is ${first.value.status}`);
 * ```
 */
export function nextEvent<E extends keyof MigratorEvents>(
  migrator: Migrator,
  event: E,
  options: { readonly signal?: AbortSignal } = {},
): ResultAsync<EventOf<E>, MigrationError> {
  const { signal } = options;
  return new ResultAsync(
    new Promise<Result<EventOf<E>, MigrationError>>((resolve) => {
      const listener = ((payload: EventOf<E>) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(ok(payload));
      }) as MigratorEvents[E];
      const onAbort = (): void => {
        migrator.off(event, listener);
        resolve(err(cancelledError(`Waiting for ${String(event)}`)));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      migrator.once(event, listener);
    }),
  );
}
