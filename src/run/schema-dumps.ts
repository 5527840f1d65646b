/**
 * Each database's schema dump, started as soon as the run knows the database.
 * A dump only reads the source, so the databases that start first have
 * theirs taken while preflight reads the rest of both clusters, roles are
 * copied and their destination databases created: on a 2,000-table database
 * `pg_dump --schema-only` takes 0.3 s, and the steps before its restore
 * 0.25 s of that. A dump started for a database the plan then leaves alone
 * (refused, kept, or resumed without one) is stopped.
 *
 * @module
 */
import { okAsync, type Result, type ResultAsync } from 'neverthrow';
import type { MigrationError } from '../errors.js';
import { closeConnection, openConnection, query } from '../pg/connect.js';
import { dumpSchema, type DumpExclusions, type SchemaDump } from '../schema/schema-dump.js';
import { selectsTables, tableFilterFor, type TableFilter } from '../selection/table-filter.js';
import { ancestryOf, sourceTables, tablesLeftOutOfDump } from '../selection/unselected-tables.js';
import type { RunContext } from './context.js';

interface Started {
  readonly dump: ResultAsync<SchemaDump, MigrationError>;
  readonly stop: AbortController;
}

export class SchemaDumps {
  readonly #context: Pick<RunContext, 'options' | 'redactor' | 'tools' | 'signal'>;
  /** Dumps started and not yet handed over, by source database. */
  readonly #waiting = new Map<string, Started>();

  constructor(context: Pick<RunContext, 'options' | 'redactor' | 'tools' | 'signal'>) {
    this.#context = context;
  }

  /** Starts the dump of source database `database`, unless it is under way. */
  start(database: string): void {
    if (!this.#waiting.has(database)) this.#waiting.set(database, this.#dump(database));
  }

  /** The dump of source database `database`: the one under way, or one started now. Its taker disposes of it. */
  take(database: string): ResultAsync<SchemaDump, MigrationError> {
    const started = this.#waiting.get(database) ?? this.#dump(database);
    this.#waiting.delete(database);
    return started.dump;
  }

  /** Stops the dumps of every database but `databases`: the run has nothing for them to do. */
  keepOnly(databases: ReadonlySet<string>): void {
    for (const [database, started] of this.#waiting) {
      if (databases.has(database)) continue;
      started.stop.abort();
    }
  }

  /** Stops the dumps no database took (its run ended first), waits for them, and removes them. */
  async disposeUntaken(): Promise<void> {
    const left = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const started of left) started.stop.abort();
    const settled: Result<SchemaDump, MigrationError>[] = await Promise.all(left.map((started) => started.dump));
    await Promise.all(settled.map((dumped) => (dumped.isOk() ? dumped.value.dispose() : undefined)));
  }

  #dump(database: string): Started {
    const { options, redactor, signal } = this.#context;
    const stop = new AbortController();
    const stopped = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    const dump = this.#context
      .tools()
      .andThen((tools) =>
        this.#exclusions(database).andThen((exclusions) =>
          dumpSchema(tools, { config: options.source, side: 'source', database, signal: stopped }, redactor, exclusions),
        ),
      );
    return { dump, stop };
  }

  /**
   * What the dump of `sourceDbname` leaves out under the run's table
   * selection, read on a session of its own; nothing is asked of the source
   * when every table goes.
   */
  #exclusions(sourceDbname: string): ResultAsync<DumpExclusions | undefined, MigrationError> {
    const { options, redactor } = this.#context;
    if (!selectsTables(options, sourceDbname)) return okAsync(undefined);
    return openConnection(options.source, 'source', sourceDbname, redactor, { max: 1 }).andThen((source) =>
      query(source, redactor, 'schema', `Listing the tables "${sourceDbname}" leaves out`, async (sql) => {
        const tables = await sourceTables(sql);
        const filter = tableFilterFor(options, sourceDbname, ancestryOf(tables)) as TableFilter;
        return { tables: tablesLeftOutOfDump(tables, filter), schemas: options.excludeSchemas };
      })
        .andTee(() => closeConnection(source))
        .orTee(() => closeConnection(source)),
    );
  }
}
