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
  }, 120_000);

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
