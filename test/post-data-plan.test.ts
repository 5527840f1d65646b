import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeConnection, openConnection, type Connection } from '../src/pg/connect.js';
import { qualified, quoteIdent } from '../src/pg/identifiers.js';
import { listTables, type TableInfo } from '../src/pg/queries/tables.js';
import { findTools, type PgTools } from '../src/pg/tools.js';
import { normalizeConnection, type ConnectionConfig } from '../src/options.js';
import { Redactor } from '../src/redact.js';
import { planPostData, type PostDataPlan } from '../src/schema/post-data-plan.js';
import { inRunOrder, runSteps, togetherScript } from '../src/schema/post-data-runner.js';
import { dumpSchema, restoreSection, type SchemaDump } from '../src/schema/schema-dump.js';
import { SchemaSync, withDatabaseSchema } from '../src/schema/schema-sync.js';
import { forEachLimited } from '../src/util/for-each-limited.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { schemaOf as schemaOfDatabase } from './support/schema.js';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('./fixtures/postdata.sql', import.meta.url));

describe('post-data plan', () => {
  let source: Cluster;
  let target: Cluster;
  let tools: PgTools;
  let redactor: Redactor;
  let sourceConfig: ConnectionConfig;
  let targetConfig: ConnectionConfig;
  let dump: SchemaDump;
  let plan: PostDataPlan;
  let planWithoutOwner: PostDataPlan;
  let tables: TableInfo[];
  const connections: Connection[] = [];

  beforeAll(async () => {
    [source, target] = (await startClusters([{}, {}])) as [Cluster, Cluster];
    redactor = new Redactor([source.password, target.password]);
    sourceConfig = normalizeConnection(source.uri(), 'source')._unsafeUnwrap();
    targetConfig = normalizeConnection(target.uri(), 'target')._unsafeUnwrap();
    await source.exec('create database postdata');
    await source.exec(readFileSync(FIXTURE, 'utf8'), 'postdata');
    await source.exec('create publication postdata_pub for table accounts', 'postdata');
    await target.exec('create role postdata_owner nologin');
    tools = (await findTools(undefined))._unsafeUnwrap();
    dump = (await dumpSchema(tools, { config: sourceConfig, side: 'source', database: 'postdata' }, redactor))._unsafeUnwrap();
    plan = (await planPostData(tools, dump, redactor, { noOwner: false }))._unsafeUnwrap();
    planWithoutOwner = (await planPostData(tools, dump, redactor, { noOwner: true }))._unsafeUnwrap();
    tables = await listTables(source.sql('postdata'));
  });

  afterAll(async () => {
    await Promise.all(connections.map((c) => closeConnection(c)));
    await dump?.dispose();
    await Promise.all([source?.stop(), target?.stop()]);
  });

  /** A destination database holding the pre-data schema and, unless `empty`, every row. */
  async function prepare(database: string, noOwner: boolean): Promise<Connection> {
    await target.exec(`create database ${quoteIdent(database)}`);
    const restored = await restoreSection(tools, dump, { config: targetConfig, side: 'target', database }, { section: 'pre-data', noOwner, jobs: 1 }, redactor);
    expect(restored.isOk(), JSON.stringify(restored)).toBe(true);
    const connection = (await openConnection(targetConfig, 'target', database, redactor, { max: 4 }))._unsafeUnwrap();
    connections.push(connection);
    return connection;
  }

  /** Streams one table's rows with two psql processes: the test's copy must not share the engine's code. */
  async function copyRows(table: TableInfo, database: string): Promise<void> {
    const columns = table.columns.map(quoteIdent).join(', ');
    const psql = (cluster: Cluster, db: string, command: string, stdin: 'ignore' | 'pipe'): ChildProcess =>
      spawn(join(tools.binDir, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', cluster.host, '-p', String(cluster.port), '-U', cluster.username, '-d', db, '-c', command], {
        env: { ...process.env, PGPASSWORD: cluster.password },
        stdio: [stdin, 'pipe', 'inherit'],
      });
    const exited = (child: ChildProcess): Promise<void> =>
      new Promise((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited with ${code}`)))));
    const reader = psql(source, 'postdata', `copy ${qualified(table.schema, table.name)} (${columns}) to stdout`, 'ignore');
    const writer = psql(target, database, `copy ${qualified(table.schema, table.name)} (${columns}) from stdin`, 'pipe');
    reader.stdout?.pipe(writer.stdin as NodeJS.WritableStream);
    await Promise.all([exited(reader), exited(writer)]);
  }

  const schemaOf = (cluster: Cluster, database: string): Promise<string> => schemaOfDatabase(cluster, database, tools.binDir);

  /** Builds post-data the way the dump strategy will: each table's steps right after its rows, two at a time. */
  async function restoreByPlan(connection: Connection, noOwner: boolean): Promise<void> {
    const options = { jobs: 2, redactor };
    const planned = noOwner ? planWithoutOwner : plan;
    expect((await runSteps(connection, planned.beforeTables, options)).isOk()).toBe(true);
    await forEachLimited(tables, 2, async (table) => {
      await copyRows(table, connection.database);
      // As the migration builds a copied table: its steps and its ANALYZE as one script.
      const built = await runSteps(connection, planned.forTable(table.schema, table.name), { ...options, jobs: 1, together: { then: `analyze ${qualified(table.schema, table.name)}` } });
      if (built.isErr()) throw new Error(built.error.message);
    });
    const rest = await runSteps(connection, planned.rest, options);
    expect(rest.isOk(), JSON.stringify(rest)).toBe(true);
  }

  async function restoreByPgRestore(connection: Connection, noOwner: boolean): Promise<void> {
    for (const table of tables) await copyRows(table, connection.database);
    const restored = await restoreSection(
      tools,
      dump,
      { config: targetConfig, side: 'target', database: connection.database },
      { section: 'post-data', noOwner, jobs: 2 },
      redactor,
    );
    expect(restored.isOk(), JSON.stringify(restored)).toBe(true);
  }

  it('holds every post-data item of the dump exactly once, but the publications, made last with the database\'s own properties', async () => {
    const { stdout } = await run(join(tools.binDir, 'pg_restore'), ['--list', '--section=post-data', dump.file]);
    const listed = stdout
      .split('\n')
      .filter((line) => /^\d+;/.test(line) && !/^\d+; \d+ \d+ PUBLICATION /.test(line))
      .map((line) => Number(line.split(';')[0]));
    const planned = [...plan.beforeTables, ...plan.tables.flatMap((t) => plan.forTable(t.schema, t.name)), ...plan.rest].map((s) => s.id);
    expect([...planned].sort()).toEqual([...listed].sort());
    expect(plan.steps.map((s) => s.id)).toEqual(listed);
    expect(plan.steps.some((s) => s.type === 'PUBLICATION')).toBe(false);
  });

  it('gives a table its indexes and non-foreign-key constraints, in the order pg_restore applies them', () => {
    const labels = (schema: string, table: string): string[] => plan.forTable(schema, table).map((s) => s.label);
    expect(labels('public', 'accounts')).toEqual([
      'CHECK CONSTRAINT "public.accounts accounts_email_shape"',
      'CONSTRAINT "public.accounts accounts_pkey"',
      'INDEX "public.accounts_active"',
      'INDEX "public.accounts_email_exact"',
      'INDEX "public.accounts_email_key"',
      'INDEX "public.accounts_tags"',
      'COMMENT "public.INDEX accounts_tags"',
    ]);
    expect(plan.forTable('public', 'accounts').find((s) => s.label.includes('accounts_pkey'))?.sql).toContain('CLUSTER ON accounts_pkey');
    expect(plan.forTable('public', 'accounts').find((s) => s.label.includes('accounts_email_exact'))?.sql).toContain(
      'REPLICA IDENTITY USING INDEX accounts_email_exact',
    );
    expect(labels('public', 'bookings')).toEqual([
      'CONSTRAINT "public.bookings bookings_no_overlap"',
      'CONSTRAINT "public.bookings bookings_pkey"',
      'INDEX "public.bookings_room"',
      'COMMENT "public.INDEX bookings_room"',
    ]);
    expect(labels('Sales Data', 'regions')).toEqual([
      'CONSTRAINT "Sales Data.regions regions_name_key"',
      'CONSTRAINT "Sales Data.regions regions_pkey"',
      'COMMENT "Sales Data.INDEX regions_name_key"',
    ]);
    expect(labels('public', 'measurements_2024_h1')).toHaveLength(3);
    expect(plan.forTable('public', 'measurements')).toEqual([]);
    // Only tables the copy engine copies have steps of their own.
    const copied = new Set(tables.map((t) => `${t.schema}.${t.name}`));
    for (const table of plan.tables) expect(copied.has(`${table.schema}.${table.name}`)).toBe(true);
  });

  it('says each setting once in a script of several tables\' steps, and again only where one changes, as pg_restore does', () => {
    const steps = [...plan.forTable('public', 'accounts'), ...plan.forTable('public', 'bookings')];
    const script = togetherScript(inRunOrder(steps), { then: 'analyze public.accounts;' });
    const said = (setting: string): number => script.split('\n').filter((line) => line.startsWith(setting)).length;
    expect(steps.length).toBeGreaterThan(5);
    expect(steps.every((step) => step.settings.some((s) => s.startsWith('SET LOCAL statement_timeout')))).toBe(true);
    expect(said('SET LOCAL statement_timeout')).toBe(1);
    expect(said("SELECT pg_catalog.set_config('search_path'")).toBe(1);
    // Every step's statement is there, in run order, and the ANALYZE last.
    let at = 0;
    for (const { sql } of inRunOrder(steps)) {
      const found = script.indexOf(sql, at);
      expect(found).toBeGreaterThanOrEqual(at);
      at = found + sql.length;
    }
    expect(script.endsWith('analyze public.accounts;')).toBe(true);
    // A setting whose value changes between steps is said again.
    const [first, second] = steps as [typeof steps[0], typeof steps[0]];
    const moved = { ...second, settings: second.settings.map((s) => (s.startsWith('SET LOCAL default_tablespace') ? "SET LOCAL default_tablespace = 'elsewhere';" : s)) };
    const changed = togetherScript([{ step: first, sql: first.sql as string }, { step: moved, sql: moved.sql as string }], {});
    expect(changed.split('\n').filter((line) => line.startsWith('SET LOCAL default_tablespace'))).toEqual(["SET LOCAL default_tablespace = '';", "SET LOCAL default_tablespace = 'elsewhere';"]);
  });

  it('names the two tables of a foreign key, so it can be added once both are in', () => {
    const fk = plan.rest.find((step) => step.type === 'FK CONSTRAINT' && step.label.includes('accounts_region_fk'));
    expect(fk).toBeDefined();
    const { tables: both, partitioned } = plan.tablesOf(fk!);
    expect(both).toEqual(expect.arrayContaining([{ schema: 'public', name: 'accounts' }, { schema: 'Sales Data', name: 'regions' }]));
    expect(both).toHaveLength(2);
    expect(partitioned).toBe(false);
  });

  it('creates partitioned tables\' indexes ON ONLY the parent first, and attaches the partitions\' after', () => {
    expect(plan.beforeTables.map((s) => s.label)).toEqual([
      'CONSTRAINT "public.measurements measurements_device_uniq"',
      'CONSTRAINT "public.measurements measurements_pkey"',
      'CONSTRAINT "public.measurements_2024 measurements_2024_device_id_taken_key"',
      'CONSTRAINT "public.measurements_2024 measurements_2024_pkey"',
      'INDEX "public.measurements_device"',
      'INDEX "public.measurements_2024_device_taken_idx"',
    ]);
    const restTypes = plan.rest.map((s) => s.type);
    expect(restTypes.filter((t) => t === 'INDEX ATTACH')).toHaveLength(12);
    expect(plan.rest.find((s) => s.type === 'INDEX')?.label).toBe('INDEX "public.account_counts_region"');
    expect(restTypes.filter((t) => t === 'FK CONSTRAINT')).toHaveLength(3);
    expect(restTypes).toEqual(expect.arrayContaining(['STATISTICS', 'RULE', 'TRIGGER', 'ROW SECURITY', 'POLICY']));
    expect(plan.rest.at(-1)).toMatchObject({ type: 'EVENT TRIGGER', pass: 'post-acl' });
  });

  it('rebuilds the source\'s schema, as pg_restore does, when each table is indexed as soon as its rows are in', async () => {
    const planned = await prepare('planned', false);
    await restoreByPlan(planned, false);
    const restored = await prepare('restored', false);
    await restoreByPgRestore(restored, false);
    const expected = await schemaOf(source, 'postdata');
    expect(expected).toContain('CLUSTER ON accounts_pkey');
    expect(await schemaOf(target, 'planned')).toEqual(expected);
    expect(await schemaOf(target, 'restored')).toEqual(expected);
    const [parent] = await planned.sql<{ valid: boolean }[]>`
      select indisvalid as valid from pg_index where indexrelid = 'public.measurements_device'::regclass`;
    expect(parent?.valid).toBe(true);
  });

  it('restores without owners and privileges what pg_restore --no-owner --no-privileges restores', async () => {
    const planned = await prepare('planned_no_owner', true);
    await restoreByPlan(planned, true);
    const restored = await prepare('restored_no_owner', true);
    await restoreByPgRestore(restored, true);
    expect(await schemaOf(target, 'planned_no_owner')).toEqual(await schemaOf(target, 'restored_no_owner'));
    const [owner] = await planned.sql<{ owner: string }[]>`
      select stxowner::regrole::text as owner from pg_statistic_ext where stxname = 'accounts_region_email'`;
    expect(owner?.owner).toBe(target.username);
  });

  it.each([
    { how: 'one statement at a time', together: undefined },
    { how: 'as one script with the table\'s ANALYZE', together: { then: 'analyze public.accounts' } },
  ])('fails as a schema error naming the object when a step fails, and starts nothing after it, run $how', async ({ together }) => {
    const broken = await prepare(`broken_${together ? 'script' : 'steps'}`, false);
    await broken.sql`create index accounts_tags on public.accounts (id)`;
    const steps = plan.forTable('public', 'accounts');
    const result = await runSteps(broken, steps, { jobs: 1, redactor, together });
    expect(result.isErr()).toBe(true);
    const error = result._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'schema', side: 'target', database: broken.database });
    expect(error.message).toContain('INDEX "public.accounts_tags"');
    expect(error.message).toContain('already exists');
    const [comment] = await broken.sql<{ text: string | null }[]>`select obj_description('public.accounts_tags'::regclass, 'pg_class') as text`;
    expect(comment?.text).toBeNull();
  });

  it.each([
    { how: 'one statement at a time', together: undefined },
    { how: 'as one script', together: { then: 'analyze public.accounts' } },
  ])('starts no step once cancelled, and says so, run $how', async ({ together }) => {
    const connection = await prepare(`cancelled_${together ? 'script' : 'steps'}`, false);
    const controller = new AbortController();
    controller.abort();
    const result = await runSteps(connection, plan.forTable('public', 'accounts'), { jobs: together ? 1 : 2, redactor, signal: controller.signal, together });
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'cancelled', database: connection.database });
    const [row] = await connection.sql<{ indexes: number }[]>`select count(*)::int as indexes from pg_indexes where tablename = 'accounts'`;
    expect(row?.indexes).toBe(0);
  });

  it('is planned once per database schema, and run with the migration\'s owner handling', async () => {
    const schemaSync = new SchemaSync({ tools, source: sourceConfig, target: targetConfig, redactor, emit: () => undefined, jobs: 2, leaveOutExtensions: [] });
    await target.exec('create database postdata');
    const connection = (await openConnection(targetConfig, 'target', 'postdata', redactor))._unsafeUnwrap();
    connections.push(connection);
    const result = await withDatabaseSchema(schemaSync, { source: 'postdata', target: 'postdata' }, true, (schema) =>
      schema.applyPreData().andThen(() =>
        schema.planPostData().andThen((first) =>
          schema.planPostData().andThen((second) => {
            expect(second).toBe(first);
            const steps = [...first.beforeTables, ...first.tables.flatMap((t) => first.forTable(t.schema, t.name)), ...first.rest];
            return schema.runPostData(connection, steps, { jobs: 2 });
          }),
        ),
      ),
    );
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    const [owner] = await connection.sql<{ owner: string }[]>`
      select stxowner::regrole::text as owner from pg_statistic_ext where stxname = 'accounts_region_email'`;
    expect(owner?.owner).toBe(target.username);
    expect(await schemaOf(target, 'postdata')).toEqual(await schemaOf(target, 'restored_no_owner'));
  });
});
