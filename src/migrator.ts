/**
 * The Migrator: the public facade. It validates the options once, shares one
 * connection per cluster between its calls, and hands each call to its run
 * (`src/run/`), with typed events all the way.
 *
 * @module
 */
import { cancelledError } from './util/cancellation.js';
import { runCutover } from './run/cutover-run.js';
import { EventEmitter } from 'eventemitter3';
import { err, errAsync, okAsync, ResultAsync, type Result } from 'neverthrow';
import { migrationError, type MigrationError } from './errors.js';
import type { MigrationEvent, MigratorEvents } from './events.js';
import { normalizeOptions, secretsOf, type MigratorOptions, type NormalizedOptions } from './options.js';
import { messageOf } from './pg/connect.js';
import { findTools, type PgTools } from './pg/tools.js';
import type { PreflightReport } from './preflight/report.js';
import { Redactor } from './redact.js';
import { ClusterConnections } from './run/cluster-connections.js';
import type { RunContext } from './run/context.js';
import { runMigration } from './run/migrate-run.js';
import { runPreflight, type Preflighted } from './run/preflight-run.js';
import { readStatus } from './run/read-status.js';
import { runStop } from './run/stop-run.js';
import { withLock } from './run/with-lock.js';
import type { MigrationStatus } from './status.js';
import { Budget } from './util/budget.js';
import { DumpRestoreStrategy } from './strategies/dump-restore.js';
import { LogicalReplicationStrategy } from './strategies/logical-replication.js';
import type { VerifyOptions, VerifyReport } from './verify/report.js';
import { runVerify } from './verify/verify-run.js';

/**
 * Options of {@link Migrator.stop}.
 *
 * ### Examples
 * ```ts
 * const stopped = await migrator.stop({ timeoutMs: 10 * 60_000 });
 * if (stopped.isErr() && stopped.error.kind === 'unsafe-stop') logger.warn(stopped.error.hint);
 * ```
 */
export interface StopOptions {
  /**
   * Stop even when some database is not in a safe state (a dump not `done`, a
   * replication not `syncing`) or a destination has not caught up in time.
   * Such databases end `failed`, never `done`.
   */
  readonly force?: boolean;
  /** How long to wait for each replicated destination to catch up; default the `stopTimeoutMs` option. */
  readonly timeoutMs?: number;
  /** Cancels the stop: nothing more is dropped once it fires, and the call ends with kind `cancelled`. */
  readonly signal?: AbortSignal;
}

/** How cutover() switches the replicated databases over. */
export interface CutoverOptions extends CallOptions {
  /**
   * First make each source database read-only for new sessions
   * (`default_transaction_read_only`), so the application's writes stop
   * there; restored if that database's cutover fails. Default `false`.
   */
  readonly readOnlySource?: boolean;
  /** How long to wait for each destination to catch up; default the `stopTimeoutMs` option. */
  readonly timeoutMs?: number;
  /** Verify every table, sequence and large object before stopping (default `true`). */
  readonly verify?: boolean;
}

/** How migrate() runs. */
export interface MigrateOptions extends CallOptions {
  /**
   * A report this Migrator's `preflight()` just gave: the run goes by its
   * plan instead of checking everything again (no second round of `check`
   * events). Used when it is at most 10 minutes old and no run changed the
   * migration's state since; otherwise the run checks afresh.
   */
  readonly preflight?: PreflightReport;
}

/** What every public method but `close()` takes. */
export interface CallOptions {
  /**
   * Cancels the call. A cancelled `migrate()` ends its child processes and
   * queries, removes what it created and had not finished (the replication
   * objects on both clusters, the destination databases it created), releases
   * the lock, and ends with kind `cancelled`; finished databases stay.
   */
  readonly signal?: AbortSignal;
}

/**
 * Migrates the databases of a source PostgreSQL cluster into a destination
 * cluster. Every method returns a `ResultAsync` and never throws or rejects;
 * failures are {@link MigrationError} values. Progress is reported through
 * typed events ({@link MigratorEvents}).
 *
 * ### Examples
 * ```ts
 * const migrator = new Migrator({ source: 'postgres://admin:secret@old:5432/postgres', target: 'postgres://avnadmin:secret@new:5432/defaultdb?sslmode=require' });
 * migrator.on('progress', (event) => logger.info(event));
 * const result = await migrator.migrate();
 * if (result.isErr()) logger.error(result.error); // kind, message, hint: no secrets
 * await migrator.close();
 * ```
 */
export class Migrator {
  /** Private: only the library emits; callers listen through {@link on}, {@link once} and {@link off}. */
  readonly #events = new EventEmitter<MigratorEvents>();
  readonly #context: RunContext | MigrationError;
  readonly #redactor: Redactor;
  #tools: PgTools | undefined;
  #running = false;
  /** The facts behind each report this Migrator's preflight() gave, for migrate({ preflight }). */
  readonly #preflighted = new WeakMap<PreflightReport, Preflighted>();
  #closed = false;

  /** Validates the options, whatever is passed; an invalid option surfaces as an `options` error from every method. */
  constructor(options: MigratorOptions) {
    this.#redactor = new Redactor(secretsOf(options));
    const normalized = normalizeOptions(options);
    this.#context = normalized.isOk() ? this.#contextFor(Object.freeze(normalized.value)) : normalized.error;
  }

  /**
   * Checks both clusters and plans every database, changing nothing. Fails
   * only when a cluster cannot be reached (kinds `connection`, `auth`, `tls`,
   * `database-missing`); problems found are checks in the report.
   */
  preflight(options: CallOptions = {}): ResultAsync<PreflightReport, MigrationError> {
    return this.#call(
      (context) =>
        runPreflight(context).map((preflighted) => {
          this.#preflighted.set(preflighted.report, preflighted);
          return preflighted.report;
        }),
      options.signal,
      'preflight()',
      true,
    );
  }

  /**
   * Migrates every selected database. Resolves once every dump is `done` and
   * every replication `syncing` (or failed: per-database failures are in the
   * status, not an error). Errors when nothing can start — unreachable
   * clusters, a failed cluster-wide check (`preflight`), roles that cannot be
   * copied (`schema`), another migration running on the destination cluster
   * (`busy`) — and with `connection` when a cluster goes away mid-run.
   * Running it again never copies a database twice: finished ones are kept,
   * replicating ones resumed, unfinished ones this migration created redone.
   */
  migrate(options: MigrateOptions = {}): ResultAsync<MigrationStatus, MigrationError> {
    if (this.#running) return errAsync(migrationError('busy', 'migrate() is already running on this Migrator'));
    const prepared = options.preflight === undefined ? undefined : this.#preflighted.get(options.preflight);
    if (options.preflight !== undefined && !prepared) {
      return errAsync(
        migrationError('options', 'migrate({ preflight }) takes a report this Migrator made', { hint: 'Pass the value of this Migrator\'s own preflight(), or leave preflight out.' }),
      );
    }
    return this.#call((context) => {
      this.#running = true;
      return context.clusters
        .of('target')
        .andThen((target) => withLock(context, target, () => runMigration(context, target, prepared)))
        .andThen(() => readStatus(context, { live: false }))
        .andTee(() => (this.#running = false))
        .orTee(() => (this.#running = false));
    }, options.signal, 'migrate()');
  }

  /**
   * The migration's status, read from the destination and checked against
   * both clusters: works from a process that never ran `migrate()`. Keeps to
   * the `databases`/`ignoreDatabases` options, and lists the databases they
   * select that no run has started as `pending`.
   */
  status(options: CallOptions = {}): ResultAsync<MigrationStatus, MigrationError> {
    return this.#call((context) => readStatus(context, this.#running ? { live: true } : {}), options.signal, 'status()', true);
  }

  /**
   * Ends the migration of the selected databases: waits until each replicated
   * destination has applied what its source had written when the stop began,
   * syncs sequences, then removes the subscription, the replication slot and
   * the publication on both clusters. Refuses with `unsafe-stop` unless every
   * dump is `done`, every replication `syncing` and caught up in time, or
   * `force` is set. Safe to call twice.
   */
  stop(options: StopOptions = {}): ResultAsync<MigrationStatus, MigrationError> {
    if (this.#running) {
      return errAsync(migrationError('unsafe-stop', 'The migration is still running in this process', { hint: 'Wait for migrate() to resolve.' }));
    }
    return this.#call((context) => {
      const timeoutMs = options.timeoutMs ?? context.options.stopTimeoutMs;
      if (!(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
        return errAsync(migrationError('options', `stop({ timeoutMs }) must be a number of milliseconds, got ${String(timeoutMs)}`));
      }
      return context.clusters
        .of('target')
        .andThen((target) => withLock(context, target, () => runStop(context, target, { force: options.force === true, timeoutMs })))
        .andThen(() => readStatus(context, { live: false }));
    }, options.signal, 'stop()');
  }

  /**
   * Proves that every row is there: for each selected database the state
   * records as `done` or `syncing`, compares every table (row count and a
   * content checksum, under session settings pinned alike on both sides, a
   * big table in primary-key ranges read in parallel), materialized view,
   * sequence and large object on both clusters. A replicating database is
   * compared once the destination has applied what the source had written
   * when verify began; one that does not catch up within `catchUpTimeoutMs`
   * is `unverifiable`. Other databases are `skipped`, with why. Only reads;
   * takes no lock, so it runs next to a migration in another process.
   * Errors only when a cluster cannot be reached or a connection is lost
   * (`connection`, `auth`, `tls`) or the options are wrong (`options`):
   * differences, and objects that could not be read, are in the report.
   *
   * ### Examples
   * ```ts
   * const report = await migrator.verify({ catchUpTimeoutMs: 120_000 });
   * if (report.isOk() && !report.value.ok) {
   *   for (const db of report.value.databases) for (const d of db.differences) if (!d.expected) logger.warn(`${db.dbname} ${d.object}: ${d.detail}`);
   * }
   * ```
   */
  verify(options: VerifyOptions & CallOptions = {}): ResultAsync<VerifyReport, MigrationError> {
    const { signal, ...verifyOptions } = options;
    return this.#call((context) => runVerify(context, verifyOptions), signal, 'verify()', true);
  }

  /**
   * Switches the replicated databases over to the destination, one at a
   * time: optionally makes the source read-only, waits until the
   * destination has applied everything, syncs sequences and large objects,
   * verifies, then stops the replication. Each step is a `cutover` event. A
   * failure leaves that database replicating and its source writable, with
   * kind `unsafe-stop` (not caught up) or `verification` (a difference).
   * Refuses unless every dump is `done` and every replication `syncing`.
   */
  cutover(options: CutoverOptions = {}): ResultAsync<MigrationStatus, MigrationError> {
    if (this.#running) {
      return errAsync(migrationError('unsafe-stop', 'The migration is still running in this process', { hint: 'Wait for migrate() to resolve.' }));
    }
    return this.#call((context) => {
      const timeoutMs = options.timeoutMs ?? context.options.stopTimeoutMs;
      if (!(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
        return errAsync(migrationError('options', `cutover({ timeoutMs }) must be a number of milliseconds, got ${String(timeoutMs)}`));
      }
      const request = { readOnlySource: options.readOnlySource === true, timeoutMs, verify: options.verify !== false, rangeRows: 1_000_000 };
      return context.clusters
        .of('target')
        .andThen((target) => withLock(context, target, () => runCutover(context, target, request)))
        .andThen(() => readStatus(context, { live: false }));
    }, options.signal, 'cutover()');
  }

  /**
   * Listens to one event type (or `progress`, every event); see
   * {@link MigratorEvents}. A listener that throws cannot break the migration.
   *
   * ### Examples
   * ```ts
   * migrator.on('copy:progress', (e) => bar.update(e.fraction, { eta: e.etaMs }));
   * ```
   */
  on<E extends keyof MigratorEvents>(event: E, listener: MigratorEvents[E]): this {
    this.#events.on(event, listener as never);
    return this;
  }

  /** Like {@link on}, for the next event of that type only. */
  once<E extends keyof MigratorEvents>(event: E, listener: MigratorEvents[E]): this {
    this.#events.once(event, listener as never);
    return this;
  }

  /** Stops a listener given to {@link on} or {@link once}; without one, every listener of that event. */
  off<E extends keyof MigratorEvents>(event: E, listener?: MigratorEvents[E]): this {
    this.#events.off(event, listener as never);
    return this;
  }

  /** Closes every connection. The Migrator cannot be used afterwards. */
  close(): ResultAsync<void, MigrationError> {
    this.#closed = true;
    const context = this.#context;
    return 'kind' in context ? okAsync(undefined) : ResultAsync.fromSafePromise(context.clusters.closeAll());
  }

  /**
   * Runs one public call: refuses on a closed Migrator or invalid options, and
   * turns anything that escapes as a rejection into an `internal` error, so
   * no call ever rejects.
   */
  #call<T>(
    run: (context: RunContext) => ResultAsync<T, MigrationError>,
    signal: AbortSignal | undefined,
    what: string,
    readOnly = false,
  ): ResultAsync<T, MigrationError> {
    if (this.#closed) return errAsync(migrationError('options', 'This Migrator was closed', { hint: 'Create a new Migrator.' }));
    const shared = this.#context;
    if ('kind' in shared) return errAsync(shared);
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return errAsync(migrationError('options', `${what}: signal must be an AbortSignal`, { hint: 'Pass { signal: controller.signal } from an AbortController.' }));
    }
    if (signal?.aborted) return errAsync(cancelledError(what));
    const context: RunContext = { ...shared, signal };
    let started: ResultAsync<T, MigrationError>;
    try {
      started = run(context);
    } catch (error) {
      return errAsync(this.#unexpected(error));
    }
    const settled = Promise.resolve(started)
      .catch((error: unknown) => err<T, MigrationError>(this.#unexpected(error)))
      // Whatever failed after the signal fired failed because of it.
      .then((result) => (result.isErr() && signal?.aborted && result.error.kind !== 'cancelled' ? err<T, MigrationError>(cancelledError(what)) : result));
    if (!readOnly || !signal) return new ResultAsync(settled);
    // A call that only reads has nothing to undo: it answers at once, and what it waited on (a lock, say) is left to finish unheard.
    const cancelled = new Promise<Result<T, MigrationError>>((resolve) => signal.addEventListener('abort', () => resolve(err(cancelledError(what))), { once: true }));
    return new ResultAsync(Promise.race([settled, cancelled]));
  }

  #unexpected(error: unknown): MigrationError {
    this.#running = false;
    return migrationError('internal', `Unexpected failure: ${this.#redactor.scrub(messageOf(error))}`, {
      hint: 'This is a defect of the library; please report it with this message.',
    });
  }

  #contextFor(options: NormalizedOptions): RunContext {
    return {
      options,
      redactor: this.#redactor,
      emit: (event) => this.#emit(event),
      clusters: new ClusterConnections(options, this.#redactor),
      strategies: Object.freeze({ replication: new LogicalReplicationStrategy(), pg_dump: new DumpRestoreStrategy() }),
      tools: () => this.#findTools(options),
      budget: new Budget(options.jobs),
    };
  }

  #findTools(options: NormalizedOptions): ResultAsync<PgTools, MigrationError> {
    if (this.#tools) return okAsync(this.#tools);
    return findTools(options.pgBinDir).map((tools) => {
      this.#tools = tools;
      return tools;
    });
  }

  /** Emits an event under its own name and as `progress`. A throwing listener cannot break the migration. */
  #emit(event: MigrationEvent): void {
    try {
      (this.#events.emit as (name: string, event: MigrationEvent) => boolean)(event.type, event);
      this.#events.emit('progress', event);
    } catch {
      // Listener errors belong to the host.
    }
  }
}
