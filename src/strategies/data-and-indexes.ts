/**
 * A database's rows and its post-data schema, moved together, as both
 * strategies need them: each table's indexes and constraints are built as
 * soon as its rows are in — by the copy worker that copied it, within the
 * run's `jobs` slots, while other tables still stream — then foreign keys,
 * triggers and the rest once every table is in, and last `ANALYZE`, so the
 * destination's planner knows the new tables. The result is the schema
 * `pg_restore --section=post-data` would have built after all the data, in a
 * fraction of the time it leaves after the last row.
 *
 * @module
 */
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import { copyDatabase, type CopySummary } from '../copy/copy-engine.js';
import type { MigrationError } from '../errors.js';
import { query } from '../pg/connect.js';
import type { DatabaseSchema } from '../schema/schema-sync.js';
import type { DatabaseJob } from './strategy.js';

export interface DataCopyOptions {
  /** A snapshot exported on the source to read as of (a replication slot's); by default the copy exports its own. */
  readonly snapshot?: string;
}

export function copyDataAndIndexes(
  job: DatabaseJob,
  schema: DatabaseSchema,
  options: DataCopyOptions = {},
): ResultAsync<CopySummary, MigrationError> {
  const key = (schemaName: string, table: string): string => JSON.stringify([schemaName, table]);
  return schema.planPostData().andThen((plan) => {
    const indexed = new Set<string>();
    // The engine reports a failure of its hook as a copy failure; the step's own error says more.
    let stepFailure: MigrationError | undefined;
    const copied = schema
      .runPostData(job.target, plan.beforeTables, { jobs: job.jobs })
      .andThen(() =>
        copyDatabase({
          dbname: job.dbname,
          source: job.source,
          target: job.target,
          sourceConfig: job.sourceConfig,
          jobs: job.jobs,
          budget: job.budget,
          redactor: job.redactor,
          emit: job.emit,
          ...(options.snapshot !== undefined ? { snapshot: options.snapshot } : {}),
          onTableCopied: async (table) => {
            indexed.add(key(table.schema, table.name));
            const built = await schema.runPostData(job.target, plan.forTable(table.schema, table.name), { jobs: 1 });
            if (built.isErr()) {
              stepFailure ??= built.error;
              throw new Error(built.error.message);
            }
          },
        }).orElse((error) => errAsync(stepFailure ?? error)),
      );
    return copied.andThen((summary) => {
      // Tables the copy had no rows to report for (none were listed) still get theirs.
      const leftover = plan.tables.filter((t) => !indexed.has(key(t.schema, t.name))).flatMap((t) => plan.forTable(t.schema, t.name));
      return schema
        .runPostData(job.target, leftover, { jobs: job.jobs })
        .andThen(() => schema.runPostData(job.target, plan.rest, { jobs: job.jobs }))
        .andThen(() => query(job.target, job.redactor, 'schema', `Analyzing "${job.dbname}"`, (sql) => sql`analyze`))
        .andThen(() => {
          job.emit({ type: 'schema', step: 'post-data', dbname: job.dbname, detail: 'applied, each table indexed as its rows arrived' });
          return okAsync(summary);
        });
    });
  });
}
