/**
 * DumpRestoreStrategy: a one-time copy. Pre-data schema, then every table's
 * rows, sequence positions and large objects from one snapshot, each table
 * indexed as soon as its rows are in and the rest of post-data after the
 * last (see data-and-indexes.ts), and last the materialized views, over data
 * that is all there.
 *
 * @module
 */
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { refreshMaterializedViews } from '../copy/materialized-views.js';
import { toCause } from '../pg/connect.js';
import { migrationError, type MigrationError } from '../errors.js';
import { copyDataAndIndexes } from './data-and-indexes.js';
import type { CatchUpResult, DatabaseJob, Inspection, MigrationStart, MigrationStrategy, Reached } from './strategy.js';

export class DumpRestoreStrategy implements MigrationStrategy {
  readonly method = 'pg_dump' as const;

  migrate(job: DatabaseJob, start: MigrationStart): ResultAsync<Reached, MigrationError> {
    if (start.kind === 'resume') {
      // A copy half done cannot be trusted: the Migrator starts such a database over instead.
      return errAsync(migrationError('internal', `A dump of "${job.dbname}" cannot be resumed`, { database: job.dbname }));
    }
    const { schema } = start;
    return copyDataAndIndexes(job, schema, { preData: schema.applyPreData() })
      .andThen(() =>
        ResultAsync.fromPromise(refreshMaterializedViews(job.source.sql, job.target.sql), (error) => {
          const cause = toCause(error, job.redactor);
          return migrationError('copy', `Refreshing the materialized views of "${job.dbname}" failed: ${cause.message}`, {
            database: job.dbname,
            cause,
          });
        }),
      )
      // Last, so that none of them (a connection limit, a read-only default) governs the migration's own sessions.
      .andThen(() => schema.applyDatabaseProperties())
      .map(() => ({ state: 'done' as const, applyErrorsBaseline: 0 }));
  }

  /** A finished copy has nothing running to go wrong; its identity is the state's to check. */
  inspect(): ResultAsync<Inspection, MigrationError> {
    return okAsync({ problem: null });
  }

  /** A one-time copy does not follow the source: once done, there is nothing to catch up. */
  catchUp(): ResultAsync<CatchUpResult, MigrationError> {
    return okAsync({ caughtUp: true });
  }

  stop(): ResultAsync<void, MigrationError> {
    return okAsync(undefined);
  }
}
