/**
 * Runs work holding the destination cluster's migration lock, so two runs
 * never interleave. The lock is released however the work ends: with a
 * value, with an error, or by rejecting.
 *
 * @module
 */
import { errAsync, ResultAsync } from 'neverthrow';
import { migrationError, type MigrationError } from '../errors.js';
import { closeConnection, messageOf, openConnection, type Connection } from '../pg/connect.js';
import { ensureStateTable } from '../state/state-store.js';
import { lockDatabase, tryLock, unlock } from '../state/migration-lock.js';
import type { RunContext } from './context.js';

export function withLock<T>(
  context: Pick<RunContext, 'options' | 'redactor'>,
  target: Connection,
  work: () => ResultAsync<T, MigrationError>,
): ResultAsync<T, MigrationError> {
  const { options, redactor } = context;
  const failure = (what: string) => (error: unknown) =>
    migrationError('internal', `${what} failed on the destination: ${redactor.scrub(messageOf(error))}`, { side: 'target' });

  return ResultAsync.fromPromise(lockDatabase(target.sql), failure('Finding the database for the migration lock'))
    .andThen((database) =>
      database === target.database
        ? ResultAsync.fromSafePromise(Promise.resolve({ holder: target, owned: false }))
        : openConnection(options.target, 'target', database, redactor, { max: 1 }).map((holder) => ({ holder, owned: true })),
    )
    .andThen(({ holder, owned }) =>
      ResultAsync.fromPromise(
        (async () => {
          const session = await holder.sql.reserve();
          const release = async (): Promise<void> => {
            await unlock(session).catch(() => undefined);
            session.release();
            if (owned) await closeConnection(holder);
          };
          try {
            if (!(await tryLock(session))) {
              await release();
              return undefined;
            }
            // Under the lock: two runs creating the state table at once would collide.
            await ensureStateTable(target.sql);
            return release;
          } catch (error) {
            await release();
            throw error;
          }
        })(),
        failure('Taking the migration lock'),
      ),
    )
    .andThen((release) => {
      if (!release) {
        return errAsync(
          migrationError('busy', 'Another migration is running against this destination cluster', {
            side: 'target',
            hint: 'Wait for it to finish, or check status() for its progress.',
          }),
        );
      }
      return new ResultAsync(
        Promise.resolve()
          .then(() => work())
          .finally(release),
      );
    });
}
