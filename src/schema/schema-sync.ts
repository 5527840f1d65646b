/**
 * SchemaSync: everything that must exist on the destination before data can
 * arrive, so the copy can never fail on a schema difference: roles once per
 * run, then per database the database itself, its pre-data schema before the
 * data and its post-data schema after.
 *
 * @module
 */
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { migrationError, type MigrationError } from '../errors.js';
import type { Emit } from '../events.js';
import { closeConnection, isConnectionLoss, messageOf, openConnection, query, toCause, type Connection } from '../pg/connect.js';
import { readableIdent } from '../pg/identifiers.js';
import type { DatabaseInfo } from '../pg/queries/databases.js';
import { runTool, type PgTools } from '../pg/tools.js';
import type { ConnectionConfig } from '../options.js';
import type { Redactor } from '../redact.js';
import { createDatabase } from './database.js';
import { applyDatabaseProperties, readDatabaseProperties } from './database-properties.js';
import { planRoleSync, roleFacts, withoutSuperuserAttributes, type RoleSyncPlan } from './roles.js';
import { planPostData, type PostDataPlan, type PostDataStep } from './post-data-plan.js';
import { runSteps, type Together } from './post-data-runner.js';
import { dumpSchema, readSectionScript, restoreSection, type DumpExclusions, type SchemaDump } from './schema-dump.js';

export interface SchemaSyncContext {
  readonly tools: PgTools;
  readonly source: ConnectionConfig;
  readonly target: ConnectionConfig;
  readonly redactor: Redactor;
  readonly emit: Emit;
  /** Parallel jobs for post-data (index builds). */
  readonly jobs: number;
  /** Ends the tools the schema work runs when it fires. */
  readonly signal?: AbortSignal | undefined;
  /** Extensions never created on the destination: replication plumbing and what the caller excluded. */
  readonly leaveOutExtensions: readonly string[];
  /** Both servers' major versions, when known: a destination older than the source explains a refused statement. */
  readonly majors?: { readonly source: number; readonly target: number } | undefined;
}

/** The outcome of the role copy. */
export interface RoleSyncResult extends Omit<RoleSyncPlan, 'statements'> {
  /** Source roles the destination still lacks: objects they own are restored owned by the migration user. */
  readonly missing: readonly string[];
  /** Roles the destination has but its user may not give ownership to: objects are restored owned by that user. */
  readonly unreachable: readonly string[];
  /** Login roles created without a password, which the source user could not read. */
  readonly withoutPassword: readonly string[];
}

export interface RoleCopyOptions {
  readonly sourceSuperuser: boolean;
  readonly targetSuperuser: boolean;
  readonly excludeRoles: readonly string[];
}

interface RoleRefusal {
  readonly message: string;
  readonly hint: string;
}

/** One database's schema, dumped once: pre-data restored whole, post-data as steps run around the data. */
export interface DatabaseSchema {
  applyPreData(): ResultAsync<void, MigrationError>;
  /**
   * The post-data section as steps, so each table's indexes can be built as
   * soon as its rows are in (see {@link PostDataPlan}). Read once from the dump.
   */
  planPostData(): ResultAsync<PostDataPlan, MigrationError>;
  /** Runs some of the plan's steps on the destination database, keeping or leaving out owners as the migration does. */
  runPostData(
    target: Connection,
    steps: readonly PostDataStep[],
    options: { readonly jobs: number; readonly signal?: AbortSignal | undefined; readonly together?: Together },
  ): ResultAsync<void, MigrationError>;
  /**
   * Gives the destination database the source database's own settings,
   * connection limit, comment, grants and publications (database-properties.ts),
   * once its content is in: whether the migration created it or filled one
   * that was there (a service may create the database beforehand; the
   * application still needs its search_path and its grants). A statement the
   * destination refuses is a warning, not a failure.
   */
  applyDatabaseProperties(): ResultAsync<void, MigrationError>;
  dispose(): Promise<void>;
}

export class SchemaSync {
  readonly #context: SchemaSyncContext;

  constructor(context: SchemaSyncContext) {
    this.#context = context;
  }

  /**
   * Copies the source's roles. A statement the destination refuses (a
   * non-superuser administrator may not grant every attribute or
   * membership) is a warning naming the role and what to run, never a
   * failure of every database; the role, if it could not be created, is
   * then missing, and what it owns is restored owned by the destination user.
   */
  copyRoles(sourceCluster: Connection, targetCluster: Connection, options: RoleCopyOptions): ResultAsync<RoleSyncResult, MigrationError> {
    const { tools, source, redactor } = this.#context;
    // Without superuser, pg_authid (and so password hashes) cannot be read.
    const args = ['--roles-only', ...(options.sourceSuperuser ? [] : ['--no-role-passwords']), `--database=${sourceCluster.database}`];
    return runTool(tools, 'pg_dumpall', args, { config: source, side: 'source', database: sourceCluster.database, signal: this.#context.signal }, redactor)
      .andThen((dumped) =>
        query(sourceCluster, redactor, 'schema', 'Reading roles', () => roleFacts(sourceCluster.sql, targetCluster.sql)).map(
          (facts) => planRoleSync(dumped.stdout, { ...facts, excluded: new Set(options.excludeRoles) }),
        ),
      )
      .andThen((plan) => this.#applyRoles(targetCluster, plan, options.targetSuperuser).map((refused) => ({ plan, refused })))
      .andThen(({ plan, refused }) =>
        this.#missingRoles(sourceCluster, targetCluster).map((roles) => ({ plan, refused, ...roles })),
      )
      .map(({ plan, refused, missing, unreachable, loginRoles, superusers }) => {
        const { emit } = this.#context;
        const created = plan.created.filter((name) => !missing.includes(name));
        emit({
          type: 'schema',
          step: 'roles',
          dbname: null,
          detail: `${created.length} roles created, ${plan.existing.length} already present, ${plan.skipped.length} superuser, reserved or excluded roles skipped${refused.length > 0 ? `, ${refused.length} statements refused` : ''}`,
        });
        for (const refusal of refused) emit({ type: 'warning', dbname: null, message: refusal.message, hint: refusal.hint });
        const withoutPassword = options.sourceSuperuser ? [] : loginRoles.filter((name) => created.includes(name));
        if (withoutPassword.length > 0) {
          emit({
            type: 'warning',
            dbname: null,
            message: `Login roles created without a password (the source user may not read them): ${withoutPassword.join(', ')}`,
            hint: `Set each one on the destination: ${withoutPassword.map((name) => `ALTER ROLE ${readableIdent(name)} PASSWORD '…';`).join(' ')}`,
          });
        }
        if (missing.length > 0) {
          emit({
            type: 'warning',
            dbname: null,
            message: `Roles not on the destination: ${missing.join(', ')}. Objects they own are restored owned by ${this.#context.target.username}, without their grants.`,
            hint: 'Create these roles on the destination first if ownership and privileges must be kept.',
          });
        } else if (unreachable.length > 0) {
          const user = this.#context.target.username;
          const grantable = unreachable.filter((name) => !superusers.includes(name));
          emit({
            type: 'warning',
            dbname: null,
            message: `${user} is not a superuser on the destination and may not act as ${unreachable.join(', ')}, so it cannot give them ownership: objects are restored owned by ${user}, without their grants.`,
            hint:
              grantable.length > 0 && grantable.length === unreachable.length
                ? `To keep owners and grants, run as a superuser of the destination: ${grantable.map((name) => `GRANT ${readableIdent(name)} TO ${readableIdent(user)};`).join(' ')}`
                : 'Objects owned by a superuser can keep their owner only when the destination user is a superuser; reassign them on the source (REASSIGN OWNED) if that matters.',
          });
        }
        return { created, existing: plan.existing, skipped: plan.skipped, missing, unreachable, withoutPassword };
      });
  }

  /** Runs the plan's statements one by one; returns the refusals, worded for the report. */
  #applyRoles(targetCluster: Connection, plan: RoleSyncPlan, targetSuperuser: boolean): ResultAsync<RoleRefusal[], MigrationError> {
    const refused: RoleRefusal[] = [];
    const run = async (): Promise<RoleRefusal[]> => {
      for (const statement of plan.statements) {
        let sql = statement.sql;
        let dropped: string[] = [];
        if (!targetSuperuser) {
          // Named at all, these fail for a non-superuser, and the failed statement (password hash included) would reach the server log.
          const stripped = withoutSuperuserAttributes(sql);
          if (stripped) ({ sql, dropped } = stripped);
        }
        const role = readableIdent(statement.role);
        if (dropped.length > 0) {
          refused.push({
            message: `Role ${statement.role}: ${dropped.join(', ')} not granted, which only a superuser may do on the destination`,
            hint: `Run as a superuser of the destination: ALTER ROLE ${role} ${dropped.join(' ')};`,
          });
        }
        if (sql === '') continue;
        try {
          await targetCluster.sql.unsafe(sql);
        } catch (error) {
          if (isConnectionLoss(error)) throw error;
          const cause = toCause(error, this.#context.redactor);
          refused.push({
            message: `Role ${statement.role}: the destination refused "${statement.label}": ${cause.message}`,
            hint: `Run "${statement.label}" on the destination as a role that may (a superuser, or the role's admin), or exclude the role with excludeRoles.`,
          });
        }
      }
      return refused;
    };
    return ResultAsync.fromPromise(run(), (error) => {
      const cause = toCause(error, this.#context.redactor);
      return migrationError('schema', `Copying roles failed: ${cause.message}`, { side: 'target', cause, hint: 'Check the destination is reachable, then run the migration again.' });
    });
  }

  /**
   * Source roles the destination still lacks; those it has but the
   * destination user cannot give ownership to (it is not a superuser nor
   * their member); and the source's login roles.
   */
  #missingRoles(
    sourceCluster: Connection,
    targetCluster: Connection,
  ): ResultAsync<{ missing: string[]; unreachable: string[]; loginRoles: string[]; superusers: string[] }, MigrationError> {
    return query(targetCluster, this.#context.redactor, 'schema', 'Comparing roles', async () => {
      const sourceRoles = await sourceCluster.sql<{ name: string; login: boolean; superuser: boolean }[]>`
        select rolname as name, rolcanlogin as login, rolsuper as superuser from pg_roles where rolname !~ '^pg_' order by 1`;
      const names = sourceRoles.map((r) => r.name);
      const targetRoles = await targetCluster.sql<{ name: string; reachable: boolean }[]>`
        select rolname as name, pg_has_role(current_user, oid, case when current_setting('server_version_num')::int >= 160000 then 'SET' else 'MEMBER' end) as reachable
        from pg_roles where rolname = any(${targetCluster.sql.array(names)}::text[])`;
      const present = new Map(targetRoles.map((r) => [r.name, r.reachable]));
      return {
        missing: names.filter((name) => !present.has(name)),
        unreachable: names.filter((name) => present.get(name) === false),
        loginRoles: sourceRoles.filter((r) => r.login).map((r) => r.name),
        superusers: sourceRoles.filter((r) => r.superuser).map((r) => r.name),
      };
    });
  }

  /** Creates the database on the destination the way the source has it; returns its OID. */
  createDatabase(targetCluster: Connection, info: DatabaseInfo): ResultAsync<number, MigrationError> {
    const { redactor, emit } = this.#context;
    return query(targetCluster, redactor, 'schema', `Creating database "${info.name}"`, async (sql) => {
      // Only a role the destination user may act as (SET ROLE, on 16+) can be given the database.
      const owner = await sql`select 1 from pg_roles where rolname = ${info.owner} and pg_has_role(current_user, oid, case when current_setting('server_version_num')::int >= 160000 then 'SET' else 'MEMBER' end)`;
      return createDatabase(sql, info, owner.length > 0);
    }).map((oid) => {
      emit({ type: 'schema', step: 'database', dbname: info.name, detail: `created (${info.encoding}, ${info.collate})` });
      return oid;
    });
  }

  /** Dumps the schema of `sourceDbname` on the source, leaving out what `exclusions` name. */
  dumpDatabase(sourceDbname: string, exclusions?: DumpExclusions): ResultAsync<SchemaDump, MigrationError> {
    const { tools, source, redactor } = this.#context;
    return dumpSchema(tools, { config: source, side: 'source', database: sourceDbname, signal: this.#context.signal }, redactor, exclusions);
  }

  /**
   * One database's schema, ready to restore in sections into `dbname`: from
   * `dumped`, a dump of `sourceDbname` already under way, or else from one
   * taken now.
   */
  openDatabase(
    dbname: string,
    noOwner: boolean,
    sourceDbname: string = dbname,
    dumped: ResultAsync<SchemaDump, MigrationError> = this.dumpDatabase(sourceDbname),
  ): ResultAsync<DatabaseSchema, MigrationError> {
    const { tools, target, redactor, emit, jobs } = this.#context;
    const targetTool = { config: target, side: 'target' as const, database: dbname, signal: this.#context.signal };
    return dumped.map((dump: SchemaDump): DatabaseSchema => {
      // The pre-data section's script, read once: restored, and read for the plan's tables.
      let preDataScript: Promise<string> | undefined;
      const readPreData = (): Promise<string> => {
        if (!preDataScript) {
          preDataScript = readSectionScript(tools, dump, 'pre-data', noOwner);
          preDataScript.catch(() => undefined);
        }
        return preDataScript;
      };
      let plan: ResultAsync<PostDataPlan, MigrationError> | undefined;
      const planned = (): ResultAsync<PostDataPlan, MigrationError> => {
        // A failed plan is not kept: asking again reads the dump again.
        plan ??= planPostData(tools, dump, redactor, { noOwner, preData: readPreData() }).mapErr((error) => {
          preDataScript = undefined;
          plan = undefined;
          return { ...error, database: dbname };
        });
        return plan;
      };
      // Read from the dump while the data is copied: the statements are ready when the data is in.
      let properties: Promise<string[]> | undefined;
      const readProperties = (): Promise<string[]> => {
        if (!properties) {
          properties = readDatabaseProperties(tools, dump.file, { source: sourceDbname, target: dbname }, noOwner);
          properties.catch(() => undefined);
        }
        return properties;
      };
      const applyPreData = (): ResultAsync<void, MigrationError> => {
        // The post-data plan reads the same dump while pre-data restores: it is ready when the first table is copied.
        const script = readPreData();
        const planning = planned();
        return restoreSection(tools, dump, targetTool, { section: 'pre-data', noOwner, jobs, leaveOutExtensions: this.#context.leaveOutExtensions, script }, redactor)
          .mapErr((error) =>
            migrationError('schema', `Restoring the pre-data schema of "${dbname}" failed: ${error.message}`, {
              side: 'target',
              database: dbname,
              ...(error.cause ? { cause: error.cause } : {}),
              hint: olderTargetHint(this.#context) ?? 'A schema statement failed on the destination; fix its cause (often a missing extension or role) and run again.',
            }),
          )
          // A failed restore still waits for the plan's pg_restore, so that no tool outlives the call.
          .orElse((error) => planning.orElse(() => okAsync(undefined)).andThen(() => errAsync<void, MigrationError>(error)))
          .map(() => {
            emit({ type: 'schema', step: 'pre-data', dbname, detail: 'applied' });
            void readProperties();
          });
      };
      const applyProperties = (): ResultAsync<void, MigrationError> =>
        ResultAsync.fromPromise(readProperties(), (error) =>
          migrationError('schema', `Reading the properties of database "${sourceDbname}" from its schema dump failed: ${redactor.scrub(messageOf(error))}`, {
            database: dbname,
            hint: 'pg_restore could not read the dump it was given; check the temporary directory and the client tools.',
          }),
        ).andThen((statements) => {
          if (statements.length === 0) return okAsync(undefined);
          return openConnection(target, 'target', dbname, redactor, { max: 1, single: true, readWrite: true }).andThen((connection) =>
            query(connection, redactor, 'schema', 'Setting the database\'s properties', (sql) => applyDatabaseProperties(sql, statements))
              .andThen((outcome) => ResultAsync.fromSafePromise(closeConnection(connection)).map(() => outcome))
              .orElse((error) => ResultAsync.fromSafePromise(closeConnection(connection)).andThen(() => errAsync(error)))
              .map(({ applied, refused }) => {
                for (const { statement, message } of refused) {
                  emit({
                    type: 'warning',
                    dbname,
                    message: `The destination refused a property of database "${dbname}": ${redactor.scrub(message)} (${firstLine(statement)})`,
                    hint: 'Run the statement on the destination as the database owner or a superuser, once any role it names exists there.',
                  });
                }
                emit({ type: 'schema', step: 'properties', dbname, detail: `${applied} of ${statements.length} applied (settings, connection limit, comment, grants, publications)` });
              }),
          );
        });
      return {
        applyPreData,
        applyDatabaseProperties: applyProperties,
        planPostData: planned,
        runPostData: (targetDb, steps, options) =>
          runSteps(targetDb, steps, { redactor, jobs: options.jobs, signal: options.signal, together: options.together, refusedHint: olderTargetHint(this.#context) }),
        // No pg_restore still reads the dump when it is removed.
        dispose: async () => {
          await Promise.all([properties?.catch(() => undefined), preDataScript?.catch(() => undefined)]);
          await dump.dispose();
        },
      };
    });
  }
}

/** Runs `use` with a database's schema and always removes the dump afterwards. */
export function withDatabaseSchema<T>(
  schemaSync: SchemaSync,
  names: { readonly source: string; readonly target: string },
  noOwner: boolean,
  use: (schema: DatabaseSchema) => ResultAsync<T, MigrationError>,
  dumped?: ResultAsync<SchemaDump, MigrationError>,
): ResultAsync<T, MigrationError> {
  return schemaSync.openDatabase(names.target, noOwner, names.source, dumped).andThen((schema) =>
    use(schema)
      .andThen((value) => ResultAsync.fromSafePromise(schema.dispose()).andThen(() => okAsync(value)))
      .orElse((error) => ResultAsync.fromSafePromise(schema.dispose()).andThen(() => errAsync(error))),
  );
}

function firstLine(statement: string): string {
  const line = statement.split('\n')[0] as string;
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/**
 * Into a destination older than the source (allowOlderTarget), a refused
 * schema statement most likely uses what the older server lacks
 * (`BEGIN ATOMIC` into 13, `NULLS NOT DISTINCT` into 14): the usual causes
 * would send the reader the wrong way.
 */
function olderTargetHint(context: SchemaSyncContext): string | undefined {
  const majors = context.majors;
  if (!majors || majors.target >= majors.source) return undefined;
  return (
    `The destination runs PostgreSQL ${majors.target}, older than the source's ${majors.source} (allowed by allowOlderTarget): ` +
    `the statement likely uses what ${majors.target} lacks. Change that object on the source into a form ${majors.target} takes, ` +
    `or migrate into PostgreSQL ${majors.source} or later.`
  );
}
