import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { eventually } from './support/compare.js';

describe('choosing the tables to migrate', () => {
  let source: Cluster;
  let target: Cluster;

  const tablesOf = async (cluster: Cluster, db: string): Promise<string[]> =>
    (
      await cluster.sql(db)<{ name: string }[]>`
        select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'datalakehouse_migrate') and n.nspname !~ '^pg_'
        order by 1`
    ).map((r) => r.name);

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    await source.exec('create database store');
    await source.exec(
      `create table customers (id int primary key, name text);
       create table orders (id serial primary key, customer int not null references customers, total numeric);
       create table audit_log (id serial primary key, note text);
       create table "Mixed Case" (id int primary key);
       create schema staging;
       create table staging.scratch (id int primary key);
       create function staging.helper() returns int language sql as 'select 1';
       create table events (id int, at date, primary key (id, at)) partition by range (at);
       create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01');
       create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');
       insert into customers select g, 'c' || g from generate_series(1, 50) g;
       insert into orders (customer, total) select 1 + g % 50, g from generate_series(1, 500) g;
       insert into audit_log (note) select 'n' || g from generate_series(1, 20) g;
       insert into "Mixed Case" values (1);
       insert into staging.scratch values (1);
       insert into events select g, date '2024-06-01' + g from generate_series(1, 300) g;`,
      'store',
    );
    await source.exec('create database tree');
    await source.exec(
      `create schema side;
       create table pt (id int not null, k int not null, primary key (id, k)) partition by list (k);
       create table pt1 partition of pt for values in (1);
       create table side.pt2 partition of pt for values in (2);
       create table pt3 partition of pt for values in (3) partition by list (id);
       create table side.pt3a partition of pt3 for values in (1);
       create table pt3b partition of pt3 default;
       insert into pt values (1, 1), (2, 2), (1, 3), (5, 3);
       create table refs (id int primary key, pid int, pk int, foreign key (pid, pk) references pt);
       insert into refs values (1, 1, 1), (2, 2, 2), (3, 1, 3);
       create table cats (id int primary key);
       create table items (id int, cat int references cats, primary key (id, cat)) partition by list (cat);
       create table items_1 partition of items for values in (1);
       insert into cats values (1); insert into items values (1, 1);
       create table h (id int primary key, v text);
       create table h_child (extra int) inherits (h);
       insert into h values (1, 'parent'); insert into h_child values (2, 'child', 3);`,
      'tree',
    );
    await source.exec('create database readers');
    await source.exec(
      `create table t (x int primary key);
       create table other (id int primary key);
       create view v as select x from t;
       create materialized view mv as select x from t;
       create schema types;
       create type types.mood as enum ('a', 'b');
       create table uses_type (id int primary key, m types.mood);
       insert into t values (1); insert into other values (1); insert into uses_type values (1, 'a');`,
      'readers',
    );
  }, 120_000);

  type Selection = { tables?: { include?: string[]; exclude?: string[] }; excludeSchemas?: string[] };
  const refusals = async (database: string, selection: Selection): Promise<{ message: string; hint: string | undefined }[]> => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: [database], ...selection });
    const report = (await migrator.preflight())._unsafeUnwrap();
    await migrator.close();
    return report.checks.filter((c) => c.id === 'table-selection' && c.status === 'fail').map((c) => ({ message: c.message, hint: c.hint }));
  };

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('refuses a name that matches no table, and a selected table whose foreign key points at one left out', async () => {
    const preflight = async (tables: { include?: string[]; exclude?: string[] }) => {
      const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['store'], tables });
      const report = (await migrator.preflight())._unsafeUnwrap();
      await migrator.close();
      return report.checks.filter((c) => c.id === 'table-selection' && c.status === 'fail').map((c) => c.message);
    };
    expect(await preflight({ exclude: ['audit_logs'] })).toEqual([expect.stringContaining('audit_logs')]);
    // Unquoted names fold to lower case, as in SQL; quoted ones are taken as written.
    expect(await preflight({ exclude: ['Audit_Log', '"Mixed Case"'] })).toEqual([]);
    expect(await preflight({ exclude: ['"Audit_Log"'] })).toEqual([expect.stringContaining('Audit_Log')]);
    expect(await preflight({ include: ['orders'] })).toEqual([expect.stringContaining('orders_customer_fkey on public.orders references public.customers')]);
  });

  it('refuses a foreign key into a partitioned table whose partitions, at any depth, the selection leaves out, however it leaves them out', async () => {
    const bySchema = await refusals('tree', { excludeSchemas: ['side'] });
    expect(bySchema).toEqual([
      {
        message: expect.stringContaining('refs_pid_pk_fkey on public.refs references public.pt, whose partitions side.pt2, side.pt3a the selection leaves out'),
        hint: expect.stringContaining('Select the referenced tables too'),
      },
    ]);
    expect(await refusals('tree', { tables: { exclude: ['pt3b'] } })).toEqual([
      { message: expect.stringContaining('refs_pid_pk_fkey on public.refs references public.pt, whose partition public.pt3b the selection leaves out'), hint: expect.any(String) },
    ]);
    // The referencing side partitioned: a selected partition brings its parent's definition, and with it the parent's foreign key.
    expect(await refusals('tree', { tables: { include: ['items_1'] } })).toEqual([
      { message: expect.stringContaining('items_cat_fkey on public.items references public.cats, which the selection leaves out'), hint: expect.any(String) },
    ]);
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: ['tree'], excludeSchemas: ['side'] });
    const status = (await migrator.migrate())._unsafeUnwrap();
    await migrator.close();
    expect(status.databases[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('refs_pid_pk_fkey') });
    expect(await target.sql()`select 1 from pg_database where datname = 'tree'`).toEqual([]);
  });

  it('refuses a selection that leaves out what a selected object needs: an inheritance parent, a table a view reads, a type in an excluded schema', async () => {
    const needs = (message: string) => [{ message: expect.stringContaining(message), hint: expect.stringContaining('Keep what they need') }];
    expect(await refusals('tree', { tables: { exclude: ['h'] } })).toEqual(needs('table public.h_child needs table public.h'));
    expect(await refusals('tree', { tables: { include: ['h_child', 'cats'] } })).toEqual(needs('table public.h_child needs table public.h'));
    expect(await refusals('readers', { tables: { exclude: ['t'] } })).toEqual(needs('materialized view public.mv needs table public.t; view public.v needs table public.t'));
    expect(await refusals('readers', { excludeSchemas: ['types'] })).toEqual(needs('table column public.uses_type.m needs type types.mood'));
    // Leaving out the dependent objects too, or what holds them, is a selection that works.
    expect(await refusals('tree', { tables: { exclude: ['h', 'h_child'] } })).toEqual([]);
    expect(await refusals('readers', { tables: { exclude: ['uses_type'] }, excludeSchemas: ['types'] })).toEqual([]);
  });

  it('migrates a selected partition, at any depth, under its partitioned ancestors, without their other partitions', async () => {
    const migrateTree = async (target_: string, include: string[]) => {
      const migrator = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: [{ source: 'tree', target: target_ }], tables: { include } });
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases[0], JSON.stringify(status)).toMatchObject({ status: 'done' });
      const verified = (await migrator.verify())._unsafeUnwrap();
      await migrator.close();
      expect(verified.databases[0]?.differences).toEqual([]);
    };
    await migrateTree('tree_leaf', ['pt1']);
    expect(await tablesOf(target, 'tree_leaf')).toEqual(['public.pt', 'public.pt1']);
    expect(await target.sql('tree_leaf')`select id, k from pt`).toEqual([{ id: 1, k: 1 }]);
    await migrateTree('tree_mid', ['pt3']);
    expect(await tablesOf(target, 'tree_mid')).toEqual(['public.pt', 'public.pt3', 'public.pt3b', 'side.pt3a']);
    expect(await target.sql('tree_mid')`select id, k from pt order by 1, 2`).toEqual([{ id: 1, k: 3 }, { id: 5, k: 3 }]);
  });

  it('dumps all but the excluded tables and schemas, and verify() compares what was selected', async () => {
    const migrator = new Migrator({
      source: source.uri(),
      target: target.uri(),
      method: 'dump',
      databases: [{ source: 'store', target: 'store_dump' }],
      tables: { exclude: ['audit_log', 'public."Mixed Case"'] },
      excludeSchemas: ['staging'],
    });
    const status = (await migrator.migrate())._unsafeUnwrap();
    expect(status.databases[0], JSON.stringify(status)).toMatchObject({ dbname: 'store_dump', status: 'done' });
    expect(await tablesOf(target, 'store_dump')).toEqual(['public.customers', 'public.events', 'public.events_2024', 'public.events_2025', 'public.orders']);
    expect(await target.sql('store_dump')`select 1 from pg_namespace where nspname = 'staging'`).toEqual([]);
    const verified = (await migrator.verify())._unsafeUnwrap();
    await migrator.close();
    expect(verified.databases[0]?.differences).toEqual([]);
    expect(verified.databases[0]?.tables.map((t) => t.table).sort()).toEqual(['customers', 'events_2024', 'events_2025', 'orders']);
  });

  it('replicates only the included tables, a partitioned table with its partitions, and is healthy while the rest changes', async () => {
    const options = {
      source: source.uri(),
      target: target.uri(),
      method: 'replication' as const,
      databases: [{ source: 'store', target: 'store_some' }],
      tables: { include: ['store.public.orders', 'customers', 'events'] },
      pollIntervalMs: 100,
    };
    const migrator = new Migrator(options);
    const status = (await migrator.migrate())._unsafeUnwrap();
    expect(status.databases[0], JSON.stringify(status)).toMatchObject({ dbname: 'store_some', status: 'syncing' });
    expect(await tablesOf(target, 'store_some')).toEqual(['public.customers', 'public.events', 'public.events_2024', 'public.events_2025', 'public.orders']);
    await source.exec(`insert into orders (customer, total) values (3, 999); insert into audit_log (note) values ('not selected');`, 'store');
    await eventually('the new order arrives', async () => (await target.sql('store_some')`select 1 from orders where total = 999`).length === 1);
    const again = new Migrator(options);
    expect((await again.status())._unsafeUnwrap().databases[0]).toMatchObject({ status: 'syncing', error: null });
    const verified = (await again.verify())._unsafeUnwrap();
    expect(verified.databases[0]?.differences.filter((d) => !d.expected)).toEqual([]);
    expect((await again.stop())._unsafeUnwrap().databases[0]?.status).toBe('done');
    await Promise.all([migrator.close(), again.close()]);
    expect(await source.sql('store')`select pubname from pg_publication`).toEqual([]);
  });
});
