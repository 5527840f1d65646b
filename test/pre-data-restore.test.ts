import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { normalizeConnection } from '../src/options.js';
import { findTools } from '../src/pg/tools.js';
import { Redactor } from '../src/redact.js';
import { dumpSchema, restoreSection } from '../src/schema/schema-dump.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { fingerprint } from './support/compare.js';

/**
 * The pre-data schema (schemas, types, functions, tables) goes to the
 * destination as one query, in one transaction; a statement the destination
 * refuses is still named, and nothing of the section stays.
 */
describe('restoring the pre-data schema', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    // Every statement the destination runs is in its log.
    [source, target] = (await startClusters([{}, { settings: { log_statement: "'all'" } }])) as [Cluster, Cluster];
    for (const db of ['many_tables', 'refused']) {
      await source.exec(`create database ${db}`);
      await source.exec(
        `create type mood as enum ('ok', 'meh');
         create function double(x int) returns int language sql immutable as $$ select x * 2 $$;
         do $$ begin
           for i in 1..40 loop
             execute format('create table t%s (id int primary key, m mood, d int generated always as (double(id)) stored)', i);
             execute format('insert into t%s (id, m) values (1, ''ok''), (2, ''meh'')', i);
           end loop;
         end $$;`,
        db,
      );
    }
    await source.exec('create table refused_here (id int)', 'refused');
    // A destination database, made beforehand, that refuses one table by name.
    await target.exec('create database refused');
    await target.exec(
      `create function refuse_table() returns event_trigger language plpgsql as $$
         begin
           if exists (select 1 from pg_event_trigger_ddl_commands() where object_identity = 'public.refused_here') then
             raise exception 'this destination takes no table named refused_here';
           end if;
         end $$;
       create event trigger refuse_table on ddl_command_end when tag in ('CREATE TABLE') execute function refuse_table();`,
      'refused',
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('sends every pre-data statement in one query, and the copy finds every table it made', async () => {
    const logStart = readFileSync(target.logFile, 'utf8').length;
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['many_tables'], method: 'dump' });
    try {
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases[0]).toMatchObject({ dbname: 'many_tables', status: 'done' });
    } finally {
      await migrator.close();
    }
    const statements = readFileSync(target.logFile, 'utf8').slice(logStart).split(/\n(?=\S)/).filter((entry) => entry.includes('statement: '));
    const creating = statements.filter((entry) => entry.includes('CREATE TABLE public.t'));
    expect(creating).toHaveLength(1);
    expect(creating[0]?.match(/CREATE TABLE public\.t\d+ /g)).toHaveLength(40);
    const [expected, actual] = await Promise.all([fingerprint(source.sql('many_tables')), fingerprint(target.sql('many_tables'))]);
    expect(actual.tables).toEqual(expected.tables);
  });

  it('names the statement the destination refuses, keeping nothing of the section', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['refused'], method: 'dump', allowNonEmptyTarget: true });
    try {
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases[0]).toMatchObject({
        dbname: 'refused',
        status: 'failed',
        errorKind: 'schema',
        error: expect.stringMatching(/pre-data[\s\S]*this destination takes no table named refused_here[\s\S]*CREATE TABLE public\.refused_here/),
      });
    } finally {
      await migrator.close();
    }
    const left = await target.sql('refused')`
      select (select count(*)::int from pg_tables where schemaname = 'public') as tables,
             (select count(*)::int from pg_type where typname = 'mood') as types`;
    expect(left).toEqual([{ tables: 0, types: 0 }]);
  });

  it('is cancelled, keeping nothing, when its signal fires while pg_restore still writes the script', async () => {
    const redactor = new Redactor([source.password, target.password]);
    const tools = (await findTools(undefined))._unsafeUnwrap();
    const dump = (await dumpSchema(tools, { config: normalizeConnection(source.uri(), 'source')._unsafeUnwrap(), side: 'source', database: 'many_tables' }, redactor))._unsafeUnwrap();
    await target.exec('create database cancelled_early');
    try {
      const controller = new AbortController();
      const targetTool = { config: normalizeConnection(target.uri(), 'target')._unsafeUnwrap(), side: 'target' as const, database: 'cancelled_early', signal: controller.signal };
      const restoring = restoreSection(tools, dump, targetTool, { section: 'pre-data', noOwner: false, jobs: 1, leaveOutExtensions: ['pglogical'] }, redactor);
      // The script is still being read: nothing has reached the destination yet.
      controller.abort();
      const restored = await restoring;
      expect(restored._unsafeUnwrapErr()).toMatchObject({ kind: 'cancelled', database: 'cancelled_early' });
      const [left] = await target.sql('cancelled_early')<{ tables: number }[]>`select count(*)::int as tables from pg_tables where schemaname = 'public'`;
      expect(left?.tables).toBe(0);
    } finally {
      await dump.dispose();
    }
  });
});
