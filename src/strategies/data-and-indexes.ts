/**
 * A database's rows and its post-data schema, moved together, as both
 * strategies need them: each table's indexes and constraints are built as
 * soon as its rows are in — by the copy worker that copied it, within the
 * run's `jobs` slots, while other tables still stream, and (unless the
 * caller leaves statistics for later) analyzes it there, so the
 * destination's planner knows it. A foreign key is added as soon as both its
 * tables are in and indexed (validating it is a scan of the referencing
 * table, best done while other tables still copy); triggers, policies and
 * the rest once every table is in, and last the partitioned parents (over
 * their partitions) and materialized views are analyzed. The result is the schema
 * `pg_restore --section=post-data` would have built after all the data, in a
 * fraction of the time it leaves after the last row.
 *
 * @module
 */
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { copyDatabase, type CopySummary } from '../copy/copy-engine.js';
import type { MigrationError } from '../errors.js';
import { query } from '../pg/connect.js';
import { analyzeWhatLacksStatistics } from '../schema/statistics.js';
import { qualified } from '../pg/identifiers.js';
import type { PostDataPlan, PostDataStep } from '../schema/post-data-plan.js';
import type { DatabaseSchema } from '../schema/schema-sync.js';
import { Budget } from '../util/budget.js';
import type { DatabaseJob } from './strategy.js';

/**
 * A table smaller than this has its indexes built without parallel workers.
 * Other tables' copies keep the cores busy meanwhile, and starting workers
 * for a build costs more than splitting a small one saves: on "many" (64
 * tables of 14 MB, four indexes each; the server gave each build a worker),
 * four runs each way alternating, the dump took 8.0-9.2 s without them
 * against 9.1-9.5 s with them, against `pg_restore -j2`'s 11.8-12.3 s in the
 * same runs. A large table's primary key, built while little else runs, is
 * left to the server's choice: on "big" (1.3 GB) two workers build it in
 * 2-3 s.
 */
const PARALLEL_BUILD_BYTES = 256 * 1024 * 1024;

export interface DataCopyOptions {
  /** A snapshot exported on the source to read as of (a replication slot's); by default the copy exports its own. */
  readonly snapshot?: string;
  /**
   * The restore of the destination's pre-data schema, under way: the copy
   * reads the source meanwhile (its snapshot, its list of tables) and writes
   * nothing before it succeeded. Absent, the schema is taken as there.
   */
  readonly preData?: ResultAsync<void, MigrationError>;
  /**
   * Whether each table is analyzed once it is in (the default), so the
   * destination is ready for queries when the copy ends. A replication
   * leaves statistics to autovacuum while it streams, and brings them level
   * when it stops (schema/statistics.ts).
   */
  readonly analyze?: boolean;
}

export function copyDataAndIndexes(
  job: DatabaseJob,
  schema: DatabaseSchema,
  options: DataCopyOptions = {},
): ResultAsync<CopySummary, MigrationError> {
  const key = (schemaName: string, table: string): string => JSON.stringify([schemaName, table]);
  const analyzing = options.analyze ?? true;
  // What the destination needs before the first row: its pre-data schema (restored meanwhile, when the caller
  // passes it here), the post-data plan, and the plan's steps that come before any table's data.
  let ready: { plan: PostDataPlan; early: EarlyForeignKeys } | undefined;
  let readyFailure: MigrationError | undefined;
  const targetReady = (options.preData ?? okAsync<void, MigrationError>(undefined))
    .andThen(() => schema.planPostData())
    .andThen((plan) => schema.runPostData(job.target, plan.beforeTables, { jobs: job.jobs, signal: job.signal }).map(() => plan))
    .match(
      (plan) => {
        ready = { plan, early: new EarlyForeignKeys(plan) };
      },
      (error) => {
        readyFailure = error;
        throw new Error(error.message);
      },
    );
  const indexed = new Set<string>();
  // The engine reports a failure of its hook as a copy failure; the step's own error says more.
  let stepFailure: MigrationError | undefined;
  const copied = copyDatabase({
    dbname: job.dbname,
    source: job.source,
    target: job.target,
    sourceConfig: job.sourceConfig,
    jobs: job.jobs,
    budget: job.budget,
    signal: job.signal,
    tables: job.tables,
    redactor: job.redactor,
    emit: job.emit,
    targetReady,
    ...(options.snapshot !== undefined ? { snapshot: options.snapshot } : {}),
    onTablesCopied: async (tables) => {
      const { plan, early } = ready as NonNullable<typeof ready>;
      for (const table of tables) indexed.add(key(table.schema, table.name));
      const steps = tables.flatMap((table) => plan.forTable(table.schema, table.name));
      // Their indexes and constraints, then their statistics, in one round trip: on many small tables the round trips are the cost.
      const together = {
        ...(analyzing ? { then: tables.map((table) => `analyze ${qualified(table.schema, table.name)};`).join('\n') } : {}),
        serialBuilds: tables.every((table) => table.bytes < PARALLEL_BUILD_BYTES),
      };
      const built = await schema
        .runPostData(job.target, steps, { jobs: 1, signal: job.signal, together })
        .andThen(() => {
          const due = tables.flatMap((table) => early.afterTable(table, plan.forTable(table.schema, table.name)));
          return early.oneAtATime(() => schema.runPostData(job.target, due, { jobs: 1, signal: job.signal })).map(() => early.finished(due));
        });
      if (built.isErr()) {
        stepFailure ??= built.error;
        throw new Error(built.error.message);
      }
    },
  }).orElse((error) => {
    // A copy that failed while waiting for the destination failed because of it; one that failed on the source first
    // still waits for the restore under way, so that no tool outlives the call.
    const cause = readyFailure ?? stepFailure ?? error;
    return ResultAsync.fromSafePromise(targetReady.catch(() => undefined)).andThen(() => errAsync(cause));
  });
  return copied.andThen((summary) => {
    const { plan, early } = ready as NonNullable<typeof ready>;
    // Tables the copy had no rows to report for (none were listed) still get theirs.
    const leftover = plan.tables.filter((t) => !indexed.has(key(t.schema, t.name))).flatMap((t) => plan.forTable(t.schema, t.name));
    return schema
      .runPostData(job.target, leftover, { jobs: job.jobs, signal: job.signal })
      .andThen(() => schema.runPostData(job.target, early.remaining(), { jobs: job.jobs, signal: job.signal }))
      // Each copied table was analyzed by its worker; partitioned parents (over their partitions, now all in) and
      // materialized views (refreshed in the rest) are analyzed last.
      .andThen(() =>
        analyzing
          ? query(job.target, job.redactor, 'schema', `Analyzing the partitioned tables and materialized views of "${job.dbname}"`, (sql) =>
              analyzeWhatLacksStatistics(sql, { waitForLocks: true, jobs: job.jobs, slot: (work) => job.budget.run(work) }),
            )
          : okAsync(undefined),
      )
      .andThen(() => {
        job.emit({ type: 'schema', step: 'post-data', dbname: job.dbname, detail: 'applied, each table indexed as its rows arrived' });
        return okAsync(summary);
      });
  });
}

/**
 * The foreign keys that can be added before the last table is in: those of a
 * copied table whose every post-data dependency (the referenced key's
 * constraint or index, built with the referenced table's rows) has run. One
 * that depends on anything else — a partitioned table's key, a step of the
 * rest — waits for the rest, as pg_restore would have it.
 */
class EarlyForeignKeys {
  readonly #plan: PostDataPlan;
  readonly #planned: ReadonlySet<number>;
  readonly #done = new Set<number>();
  readonly #taken = new Set<number>();
  readonly #copied = new Set<string>();
  /** Two foreign keys between the same two tables, added at once from both ends, could deadlock. */
  readonly #serial = new Budget(1);

  constructor(plan: PostDataPlan) {
    this.#plan = plan;
    this.#planned = new Set(plan.steps.map((step) => step.id));
  }

  /** Records a table's rows and steps as in; returns the foreign keys that may be added now, taking them. */
  afterTable(table: { schema: string; name: string }, steps: readonly PostDataStep[]): PostDataStep[] {
    this.#copied.add(JSON.stringify([table.schema, table.name]));
    for (const step of steps) this.#done.add(step.id);
    const due = this.#plan.rest.filter((step) => {
      if (step.type !== 'FK CONSTRAINT' || this.#taken.has(step.id)) return false;
      // Both its tables in (a partitioned one's rows are in its partitions: it waits for the rest), and the key it references built.
      const { tables, partitioned } = this.#plan.tablesOf(step);
      return (
        !partitioned &&
        tables.length > 0 &&
        tables.every((t) => this.#copied.has(JSON.stringify([t.schema, t.name]))) &&
        step.dependsOn.every((id) => !this.#planned.has(id) || this.#done.has(id))
      );
    });
    for (const step of due) this.#taken.add(step.id);
    return due;
  }

  oneAtATime<T, E>(add: () => ResultAsync<T, E>): ResultAsync<T, E> {
    return new ResultAsync(this.#serial.run(() => Promise.resolve(add())));
  }

  finished(steps: readonly PostDataStep[]): void {
    for (const step of steps) this.#done.add(step.id);
  }

  /** The rest of post-data, without the foreign keys already added. */
  remaining(): PostDataStep[] {
    return this.#plan.rest.filter((step) => !this.#taken.has(step.id));
  }
}
