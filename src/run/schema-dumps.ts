/**
 * Each database's schema dump, started as early as the run knows the database
 * will need one. A dump only reads the source, so the databases that start
 * first have theirs taken while the run copies roles and creates their
 * destination databases: on a 2,000-table database, `pg_dump --schema-only`
 * takes 0.3 s, and the steps before the restore needs it 0.08 s of that.
 *
 * @module
 */
import { okAsync, type Result, type ResultAsync } from 'neverthrow';
import type { MigrationError } from '../errors.js';
import { closeConnection, openConnection, query } from '../pg/connect.js';
import type { DumpExclusions, SchemaDump } from '../schema/schema-dump.js';
import type { SchemaSync } from '../schema/schema-sync.js';
import { selectsTables, tableFilterFor, type TableFilter } from '../selection/table-filter.js';
import { ancestryOf, sourceTables, tablesLeftOutOfDump } from '../selection/unselected-tables.js';
import type { RunContext } from './context.js';

/** The database a dump is for: its name on the source, and on the destination (its key in a run). */
export interface DumpedDatabase {
  readonly source: string;
  readonly target: string;
}

export class SchemaDumps {
  readonly #context: Pick<RunContext, 'options' | 'redactor'>;
  readonly #schemaSync: SchemaSync;
  /** Dumps started and not yet handed over, by destination database. */
  readonly #waiting = new Map<string, ResultAsync<SchemaDump, MigrationError>>();

  constructor(context: Pick<RunContext, 'options' | 'redactor'>, schemaSync: SchemaSync) {
    this.#context = context;
    this.#schemaSync = schemaSync;
  }

  /** Starts the dump `database` will need, unless it is under way. */
  start(database: DumpedDatabase): void {
    if (!this.#waiting.has(database.target)) this.#waiting.set(database.target, this.#dump(database));
  }

  /** The dump of `database`: the one under way, or one started now. Its taker disposes of it. */
  take(database: DumpedDatabase): ResultAsync<SchemaDump, MigrationError> {
    const started = this.#waiting.get(database.target) ?? this.#dump(database);
    this.#waiting.delete(database.target);
    return started;
  }

  /** Waits for the dumps no database took (its run ended first) and removes them. */
  async disposeUntaken(): Promise<void> {
    const left = [...this.#waiting.values()];
    this.#waiting.clear();
    const settled: Result<SchemaDump, MigrationError>[] = await Promise.all(left);
    await Promise.all(settled.map((dumped) => (dumped.isOk() ? dumped.value.dispose() : undefined)));
  }

  #dump(database: DumpedDatabase): ResultAsync<SchemaDump, MigrationError> {
    return this.#exclusions(database.source).andThen((exclusions) => this.#schemaSync.dumpDatabase(database.source, exclusions));
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
