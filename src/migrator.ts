/**
 * The Migrator: options → preflight → a plan per database → roles and
 * schema → a strategy per database → status, with typed events all the way.
 *
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { errAsync, okAsync, ResultAsync, type Result } from 'neverthrow';
import { forEachLimited } from './util/for-each-limited.js';
import { failBlockedDatabase, migrateDatabase, withJob, type DatabaseMigrationContext, type DatabaseWork } from './database-migration.js';
import { describeError, migrationError, type MigrationError } from './errors.js';
import type { MigrationEvent, MigratorEvents } from './events.js';
import { normalizeOptions, type MigratorOptions, type NormalizedOptions } from './options.js';
import { closeConnection, openConnection, query, type Connection, type Side } from './pg/connect.js';
import { findSubscription } from './pg/queries/replication.js';
import { findTools, type PgTools } from './pg/tools.js';
import { gatherFacts, judge } from './preflight/preflight.js';
import type { PreflightFacts } from './preflight/facts.js';
import type { PreflightReport } from './preflight/report.js';
import { Redactor } from './redact.js';
import { SchemaSync } from './schema/schema-sync.js';
import {
  ensureStateTable,
  isLocked,
  readStates,
  recordStatus,
  tryLock,
  unlock,
  type DatabaseRecord,
} from './state/state-store.js';
import { summarize, type DatabaseMethod, type DatabaseStatus, type MigrationStatus } from './status.js';
import { DumpRestoreStrategy } from './strategies/dump-restore.js';
import { LogicalReplicationStrategy } from './strategies/logical-replication.js';
import { replicationName } from './strategies/replication/names.js';
import type { MigrationStrategy } from './strategies/strategy.js';

/** Options of {@link Migrator.stop}. */
export interface StopOptions {
  /** Stop even when some database is not in a safe state (a dump not `done`, a replication not `syncing`). */
  readonly force?: boolean;
}

/**
 * Migrates the databases of a source PostgreSQL cluster into a destination
 * cluster. Every method returns a `ResultAsync` and never throws; failures
 * are {@link MigrationError} values. Progress is reported through typed
 * events ({@link MigratorEvents}).
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
export class Migrator extends EventEmitter<MigratorEvents> {
  readonly #options: NormalizedOptions | MigrationError;
  readonly #redactor: Redactor;
  readonly #strategies: Readonly<Record<DatabaseMethod, MigrationStrategy>>;
  /** One opening per side, shared by concurrent callers; a failed opening is forgotten so a later call retries. */
  readonly #connections: Partial<Record<Side, Promise<Result<Connection, MigrationError>>>> = {};
  #tools: PgTools | undefined;
  #running = false;
  #closed = false;

  /** Validates the options; an invalid option surfaces as an `options` error from every method. */
  constructor(options: MigratorOptions) {
    super();
    const normalized = normalizeOptions(options);
    this.#options = normalized.isOk() ? Object.freeze(normalized.value) : normalized.error;
    this.#redactor = new Redactor(
      normalized.isOk() ? [normalized.value.source.password, normalized.value.target.password] : passwordsOf(options),
    );
    this.#strategies = Object.freeze({
      replication: new LogicalReplicationStrategy(),
      pg_dump: new DumpRestoreStrategy(),
    });
  }

  /**
   * Checks both clusters and plans every database, changing nothing. Fails
   * only when a cluster cannot be reached (kinds `connection`, `auth`, `tls`,
   * `database-missing`); problems found are checks in the report.
   */
  preflight(): ResultAsync<PreflightReport, MigrationError> {
    return this.#ready()
      .andThen((options) => this.#preflight(options))
      .map(({ report }) => report);
  }

  /**
   * Migrates every selected database. Resolves once every dump is `done` and
   * every replication `syncing` (or failed: per-database failures are in the
   * status, not an error). Errors only when nothing can start: unreachable
   * clusters, a failed cluster-wide check (`preflight`), roles that cannot be
   * copied (`schema`), or another migration running on the destination (`busy`).
   * Running it again never copies a database twice: finished ones are kept,
   * replicating ones resumed, unfinished ones this migration created redone.
   */
  migrate(): ResultAsync<MigrationStatus, MigrationError> {
    if (this.#running) return errAsync(migrationError('busy', 'migrate() is already running on this Migrator'));
    this.#running = true;
    return this.#ready()
      .andThen((options) =>
        this.#connection('target').andThen((target) =>
          this.#locked(target, () => this.#migrate(options, target)),
        ),
      )
      .andThen(() => this.status())
      .andTee(() => {
        this.#running = false;
      })
      .orTee(() => {
        this.#running = false;
      });
  }

  /**
   * The migration's status, read from the destination: works from a process
   * that never ran `migrate()`. A replication whose subscription vanished,
   * and a database left `running` by a process that died, show as `failed`.
   */
  status(): ResultAsync<MigrationStatus, MigrationError> {
    return this.#ready().andThen((options) =>
      this.#connection('target').andThen((target) =>
        query(target, this.#redactor, 'internal', 'Reading the migration state', async (sql) => ({
          records: await readStates(sql),
          live: this.#running || (await isLocked(sql)),
        })).andThen(({ records, live }) =>
          ResultAsync.combine(records.map((record) => this.#observe(options, record, live))).map(summarize),
        ),
      ),
    );
  }

  /**
   * Ends the migration: syncs sequences, then removes the subscription, the
   * replication slot and the publication of every replicated database, on
   * both clusters. Refuses with `unsafe-stop` unless every dump is `done` and
   * every replication `syncing`, or `force` is set. Safe to call twice.
   */
  stop(options: StopOptions = {}): ResultAsync<MigrationStatus, MigrationError> {
    return this.status().andThen((status) => {
      const unsafe = status.databases.filter(
        (db) => !(db.status === 'done' || (db.method === 'replication' && db.status === 'syncing')),
      );
      if ((unsafe.length > 0 || this.#running) && !options.force) {
        return errAsync(
          migrationError(
            'unsafe-stop',
            this.#running
              ? 'The migration is still running in this process'
              : `Not every database is in a safe state: ${unsafe.map((db) => `${db.dbname} (${db.method} ${db.status})`).join(', ')}`,
            {
              hint: 'Wait for every dump to be done and every replication to be syncing, or call stop({ force: true }) to clean up anyway.',
              reasons: unsafe.map((db) => `${db.dbname}: ${db.status}${db.error ? ` (${db.error})` : ''}`),
            },
          ),
        );
      }
      return this.#stopAll(status).andThen(() => this.status());
    });
  }

  /** Closes every connection. The Migrator cannot be used afterwards. */
  close(): ResultAsync<void, MigrationError> {
    this.#closed = true;
    const pending = Object.values(this.#connections);
    for (const side of Object.keys(this.#connections) as Side[]) delete this.#connections[side];
    return ResultAsync.fromSafePromise(
      Promise.all(pending.map((p) => p.then((result) => (result.isOk() ? closeConnection(result.value) : undefined)))).then(
        () => undefined,
      ),
    );
  }

  #ready(): ResultAsync<NormalizedOptions, MigrationError> {
    if (this.#closed) return errAsync(migrationError('options', 'This Migrator was closed', { hint: 'Create a new Migrator.' }));
    const options = this.#options;
    return 'kind' in options ? errAsync(options) : okAsync(options);
  }

  /** The cluster-level connection of one side, opened once and shared. */
  #connection(side: Side): ResultAsync<Connection, MigrationError> {
    const options = this.#options as NormalizedOptions;
    const config = options[side];
    const opening =
      this.#connections[side] ??
      Promise.resolve(openConnection(config, side, config.database, this.#redactor, { max: 3 })).then((result) => {
        if (result.isErr()) delete this.#connections[side];
        return result;
      });
    this.#connections[side] = opening;
    return new ResultAsync(opening);
  }

  #findTools(options: NormalizedOptions): ResultAsync<PgTools, MigrationError> {
    if (this.#tools) return okAsync(this.#tools);
    return findTools(options.pgBinDir).map((tools) => {
      this.#tools = tools;
      return tools;
    });
  }

  #preflight(options: NormalizedOptions): ResultAsync<{ report: PreflightReport; facts: PreflightFacts }, MigrationError> {
    return this.#connection('source').andThen((source) =>
      this.#connection('target').andThen((target) =>
        this.#findTools(options)
          .orElse((error) => okAsync(error))
          .andThen((tools) =>
            query(target, this.#redactor, 'internal', 'Reading the migration state', readStates).andThen((previous) =>
              gatherFacts({ options, redactor: this.#redactor, source, target, tools, previous }),
            ),
          )
          .map((facts) => {
            const report = judge(facts);
            for (const check of report.checks) this.#emit({ type: 'check', check });
            return { report, facts };
          }),
      ),
    );
  }

  /** Runs `work` holding the destination's migration lock, so two migrations never interleave. */
  #locked<T>(target: Connection, work: () => ResultAsync<T, MigrationError>): ResultAsync<T, MigrationError> {
    return ResultAsync.fromPromise(
      (async () => {
        const session = await target.sql.reserve();
        try {
          if (!(await tryLock(session))) {
            session.release();
            return undefined;
          }
          // Under the lock: two runs creating the state table at once would collide.
          await ensureStateTable(session);
          return session;
        } catch (error) {
          await unlock(session).catch(() => undefined);
          session.release();
          throw error;
        }
      })(),
      (error) => migrationError('internal', `Cannot prepare the migration state on the destination: ${this.#redactor.scrub(String(error))}`, { side: 'target' }),
    ).andThen((session) => {
      if (!session) {
        return errAsync(
          migrationError('busy', 'Another migration is running against this destination', {
            side: 'target',
            hint: 'Wait for it to finish, or check status() for its progress.',
          }),
        );
      }
      const release = (): Promise<void> => unlock(session).catch(() => undefined).finally(() => session.release());
      return work().andTee(release).orTee(release);
    });
  }

  #migrate(options: NormalizedOptions, target: Connection): ResultAsync<void, MigrationError> {
    return this.#preflight(options).andThen(({ report, facts }) => {
      // What blocks only replication fails the databases that need it, each with its reasons, below.
      const clusterFailures = report.checks.filter((c) => c.status === 'fail' && c.database === undefined && c.blocks === 'migration');
      if (clusterFailures.length > 0) {
        return errAsync(
          migrationError('preflight', `Preflight failed: ${clusterFailures.map((c) => c.message).join('; ')}`, {
            reasons: clusterFailures.map((c) => (c.hint ? `${c.message} (${c.hint})` : c.message)),
            ...(clusterFailures[0]?.hint ? { hint: clusterFailures[0].hint } : {}),
          }),
        );
      }
      this.#emit({ type: 'plan', databases: report.databases });
      const work: DatabaseWork[] = report.databases.map((plan) => {
        const db = facts.databases.find((d) => d.info.name === plan.dbname);
        return {
          info: db!.info,
          method: plan.method ?? (options.method === 'dump' || plan.replicationBlockers.length > 0 ? 'pg_dump' : 'replication'),
          fallbackReasons: plan.replicationBlockers,
          blockers: plan.blockers,
          previous: db?.previous,
        };
      });
      // A database an earlier run finished stays as it is, whatever has changed since.
      const open = work.filter((w) => w.previous?.status !== 'done');
      const blocked = open.filter((w) => w.blockers.length > 0);
      const pending = open.filter((w) => w.blockers.length === 0);
      const emit = (event: MigrationEvent): void => this.#emit(event);
      const recorded = ResultAsync.fromSafePromise(
        forEachLimited(blocked, 1, (item) => failBlockedDatabase({ targetCluster: target, redactor: this.#redactor, emit }, item)),
      );
      if (pending.length === 0) return recorded;
      return recorded
        .andThen(() => this.#connection('source'))
        .andThen((source) =>
          this.#findTools(options).andThen((tools) => {
            const schemaSync = this.#schemaSync(options, tools);
            return schemaSync.copyRoles(source, target, facts.source.rights.superuser).map((roles) => ({ roles, schemaSync }));
          }),
        )
        .andThen(({ roles, schemaSync }) => {
          const context: DatabaseMigrationContext = {
            options,
            redactor: this.#redactor,
            emit,
            targetCluster: target,
            schemaSync,
            strategies: this.#strategies,
            noOwner: roles.missing.length > 0,
          };
          // One database at a time: each already copies `jobs` tables at once.
          return ResultAsync.fromSafePromise(forEachLimited(pending, 1, (item) => migrateDatabase(context, item)));
        });
    });
  }

  #schemaSync(options: NormalizedOptions, tools: PgTools): SchemaSync {
    return new SchemaSync({
      tools,
      source: options.source,
      target: options.target,
      redactor: this.#redactor,
      emit: (event) => this.#emit(event),
      jobs: options.jobs,
    });
  }

  /** A recorded state checked against the clusters: a `syncing` database must still have its subscription. */
  #observe(options: NormalizedOptions, record: DatabaseRecord, live: boolean): ResultAsync<DatabaseStatus, MigrationError> {
    const base: DatabaseStatus = {
      dbname: record.dbname,
      method: record.method,
      status: record.status,
      error: record.error,
      fallbackReasons: record.fallbackReasons,
      startedAt: record.startedAt,
      updatedAt: record.updatedAt,
    };
    if (record.status === 'running' && !live) {
      return okAsync({ ...base, status: 'failed', error: 'Interrupted before it finished; run migrate() again to redo or resume it' });
    }
    if (record.method !== 'replication' || record.status !== 'syncing') return okAsync(base);
    return openConnection(options.target, 'target', record.dbname, this.#redactor, { max: 1 })
      .andThen((db) =>
        query(db, this.#redactor, 'internal', 'Checking the subscription', (sql) => findSubscription(sql, replicationName(record.dbname)))
          .andTee(() => closeConnection(db))
          .orTee(() => closeConnection(db)),
      )
      .map((subscription): DatabaseStatus => {
        if (!subscription) return { ...base, status: 'failed', error: 'The subscription is missing on the destination' };
        if (!subscription.enabled) return { ...base, status: 'failed', error: 'The subscription is disabled on the destination' };
        return base;
      })
      .orElse((error) => okAsync<DatabaseStatus, MigrationError>({ ...base, status: 'failed', error: describeError(error) }));
  }

  #stopAll(status: MigrationStatus): ResultAsync<void, MigrationError> {
    const options = this.#options as NormalizedOptions;
    const context = { options, redactor: this.#redactor, emit: (event: MigrationEvent) => this.#emit(event) };
    return this.#connection('target').andThen((target) => {
      const stopOne = (db: DatabaseStatus): ResultAsync<void, MigrationError> =>
        withJob(context, db.dbname, (job) => this.#strategies[db.method].stop(job))
          // A database never created on the destination holds no subscription; its source side was cleaned when it failed.
          .orElse((error) => (error.kind === 'database-missing' && error.side === 'target' ? okAsync(undefined) : errAsync(error)))
          .andThen(() =>
          query(target, this.#redactor, 'internal', 'Recording the stop', () =>
            recordStatus(
              target.sql,
              db.dbname,
              db.status === 'syncing' || db.status === 'done' ? 'done' : 'failed',
              db.status === 'syncing' || db.status === 'done' ? null : db.error ?? 'Stopped before it finished',
            ),
          ),
        );
      const replicated = status.databases.filter((db) => db.method === 'replication');
      return ResultAsync.fromSafePromise(
        (async () => {
          const errors: MigrationError[] = [];
          for (const db of replicated) {
            const result = await stopOne(db);
            if (result.isErr()) errors.push(result.error);
          }
          return errors;
        })(),
      ).andThen((errors) => {
        const [first] = errors;
        if (!first) return okAsync(undefined);
        return errAsync(
          migrationError('replication', `Stopping failed for ${errors.length} database(s): ${errors.map((e) => e.message).join('; ')}`, {
            reasons: errors.map(describeError),
            ...(first.hint ? { hint: first.hint } : {}),
          }),
        );
      });
    });
  }

  /** Emits an event under its own name and as `progress`. A throwing listener cannot break the migration. */
  #emit(event: MigrationEvent): void {
    try {
      (this.emit as (name: string, event: MigrationEvent) => boolean)(event.type, event);
      this.emit('progress', event);
    } catch {
      // Listener errors belong to the host.
    }
  }
}

function passwordsOf(options: MigratorOptions): (string | undefined)[] {
  const fromInput = (input: MigratorOptions['source']): string | undefined => {
    if (typeof input === 'object' && input !== null) return input.password;
    const match = typeof input === 'string' ? /^[^:]+:\/\/[^:@/]*:([^@]*)@/.exec(input) : null;
    if (!match?.[1]) return undefined;
    try {
      return decodeURIComponent(match[1]);
    } catch {
      return match[1];
    }
  };
  return [fromInput(options.source), fromInput(options.target)];
}
