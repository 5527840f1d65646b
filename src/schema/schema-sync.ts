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
import { query, toCause, type Connection } from '../pg/connect.js';
import type { DatabaseInfo } from '../pg/queries/databases.js';
import { runTool, type PgTools } from '../pg/tools.js';
import type { ConnectionConfig } from '../options.js';
import type { Redactor } from '../redact.js';
import { createDatabase } from './database.js';
import { planRoleSync, roleFacts, type RoleSyncPlan } from './roles.js';
import { planPostData, type PostDataPlan, type PostDataStep } from './post-data-plan.js';
import { runSteps } from './post-data-runner.js';
import { dumpSchema, restoreSection, type SchemaDump } from './schema-dump.js';

export interface SchemaSyncContext {
  readonly tools: PgTools;
  readonly source: ConnectionConfig;
  readonly target: ConnectionConfig;
  readonly redactor: Redactor;
  readonly emit: Emit;
  /** Parallel jobs for post-data (index builds). */
  readonly jobs: number;
}

/** The outcome of the role copy. */
export interface RoleSyncResult extends Omit<RoleSyncPlan, 'statements'> {
  /** Source roles the destination still lacks: objects they own are restored owned by the migration user. */
  readonly missing: readonly string[];
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
  runPostData(target: Connection, steps: readonly PostDataStep[], options: { readonly jobs: number; readonly signal?: AbortSignal | undefined }): ResultAsync<void, MigrationError>;
  dispose(): Promise<void>;
}

export class SchemaSync {
  readonly #context: SchemaSyncContext;

  constructor(context: SchemaSyncContext) {
    this.#context = context;
  }

  /**
   * Copies the source's roles. A statement that fails is an error: a role the
   * schema needs would otherwise be missing later, far from the cause.
   */
  copyRoles(sourceCluster: Connection, targetCluster: Connection, superuser: boolean): ResultAsync<RoleSyncResult, MigrationError> {
    const { tools, source, redactor } = this.#context;
    // Without superuser, pg_authid (and so password hashes) cannot be read.
    const args = ['--roles-only', ...(superuser ? [] : ['--no-role-passwords']), `--database=${sourceCluster.database}`];
    return runTool(tools, 'pg_dumpall', args, { config: source, side: 'source', database: sourceCluster.database }, redactor)
      .andThen((dumped) =>
        query(sourceCluster, redactor, 'schema', 'Reading roles', () => roleFacts(sourceCluster.sql, targetCluster.sql)).map(
          (facts) => planRoleSync(dumped.stdout, facts),
        ),
      )
      .andThen((plan) => this.#applyRoles(targetCluster, plan).map(() => plan))
      .andThen((plan) => this.#missingRoles(sourceCluster, targetCluster).map((missing) => ({ plan, missing })))
      .map(({ plan, missing }) => {
        this.#context.emit({
          type: 'schema',
          step: 'roles',
          dbname: null,
          detail: `${plan.created.length} roles created, ${plan.existing.length} already present, ${plan.skipped.length} superuser or reserved roles skipped`,
        });
        if (missing.length > 0) {
          this.#context.emit({
            type: 'warning',
            dbname: null,
            message: `Roles not on the destination: ${missing.join(', ')}. Objects they own are restored owned by ${this.#context.target.username}, without their grants.`,
            hint: 'Create these roles on the destination first if ownership and privileges must be kept.',
          });
        }
        return { created: plan.created, existing: plan.existing, skipped: plan.skipped, missing };
      });
  }

  #applyRoles(targetCluster: Connection, plan: RoleSyncPlan): ResultAsync<void, MigrationError> {
    let failed = '';
    return ResultAsync.fromPromise(
      (async () => {
        for (const statement of plan.statements) {
          failed = statement.label;
          await targetCluster.sql.unsafe(statement.sql);
        }
      })(),
      (error) => {
        const cause = toCause(error, this.#context.redactor);
        return migrationError('schema', `Copying roles failed at "${failed}": ${cause.message}`, {
          side: 'target',
          cause,
          hint: 'Create or fix that role on the destination, then run the migration again.',
        });
      },
    );
  }

  #missingRoles(sourceCluster: Connection, targetCluster: Connection): ResultAsync<string[], MigrationError> {
    return query(targetCluster, this.#context.redactor, 'schema', 'Comparing roles', async () => {
      const sourceRoles = await sourceCluster.sql<{ name: string }[]>`
        select rolname as name from pg_roles where rolname !~ '^pg_' order by 1`;
      const targetRoles = await targetCluster.sql<{ name: string }[]>`select rolname as name from pg_roles`;
      const present = new Set(targetRoles.map((r) => r.name));
      return sourceRoles.map((r) => r.name).filter((name) => !present.has(name));
    });
  }

  /** Creates the database on the destination the way the source has it; returns its OID. */
  createDatabase(targetCluster: Connection, info: DatabaseInfo): ResultAsync<number, MigrationError> {
    const { redactor, emit } = this.#context;
    return query(targetCluster, redactor, 'schema', `Creating database "${info.name}"`, async (sql) => {
      const owner = await sql`select 1 from pg_roles where rolname = ${info.owner}`;
      return createDatabase(sql, info, owner.length > 0);
    }).map((oid) => {
      emit({ type: 'schema', step: 'database', dbname: info.name, detail: `created (${info.encoding}, ${info.collate})` });
      return oid;
    });
  }

  /** Dumps one database's schema, ready to restore in sections. */
  openDatabase(dbname: string, noOwner: boolean): ResultAsync<DatabaseSchema, MigrationError> {
    const { tools, source, target, redactor, emit, jobs } = this.#context;
    const sourceTool = { config: source, side: 'source' as const, database: dbname };
    const targetTool = { config: target, side: 'target' as const, database: dbname };
    return dumpSchema(tools, sourceTool, redactor).map((dump: SchemaDump): DatabaseSchema => {
      const applyPreData = (): ResultAsync<void, MigrationError> =>
        restoreSection(tools, dump, targetTool, { section: 'pre-data', noOwner, jobs }, redactor)
          .mapErr((error) =>
            migrationError('schema', `Restoring the pre-data schema of "${dbname}" failed: ${error.message}`, {
              side: 'target',
              database: dbname,
              ...(error.cause ? { cause: error.cause } : {}),
              hint: 'A schema statement failed on the destination; fix its cause (often a missing extension or role) and run again.',
            }),
          )
          .map(() => emit({ type: 'schema', step: 'pre-data', dbname, detail: 'applied' }));
      let plan: ResultAsync<PostDataPlan, MigrationError> | undefined;
      return {
        applyPreData,
        planPostData: () => {
          // A failed plan is not kept: asking again reads the dump again.
          plan ??= planPostData(tools, dump, redactor).mapErr((error) => {
            plan = undefined;
            return { ...error, database: dbname };
          });
          return plan;
        },
        runPostData: (targetDb, steps, options) => runSteps(targetDb, steps, { noOwner, redactor, jobs: options.jobs, signal: options.signal }),
        dispose: dump.dispose,
      };
    });
  }
}

/** Runs `use` with a database's schema and always removes the dump afterwards. */
export function withDatabaseSchema<T>(
  schemaSync: SchemaSync,
  dbname: string,
  noOwner: boolean,
  use: (schema: DatabaseSchema) => ResultAsync<T, MigrationError>,
): ResultAsync<T, MigrationError> {
  return schemaSync.openDatabase(dbname, noOwner).andThen((schema) =>
    use(schema)
      .andThen((value) => ResultAsync.fromSafePromise(schema.dispose()).andThen(() => okAsync(value)))
      .orElse((error) => ResultAsync.fromSafePromise(schema.dispose()).andThen(() => errAsync(error))),
  );
}
