import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, uriAs, type Cluster } from './support/cluster.js';
import { eventually, fingerprint } from './support/compare.js';
import { recordEvents } from './support/events.js';

/**
 * The oldest source the library replicates from, PostgreSQL 12, through
 * datalakehouse_extras and without superuser on either side: the source role
 * has LOGIN and REPLICATION and owns the database, one of whose tables
 * belongs to another role. PostgreSQL 12 has no trusted extensions, so there
 * a superuser creates the extension in the database, once; everything after
 * that runs as the database's owner.
 */
describe('replication through datalakehouse_extras from a PostgreSQL 12 source, without superuser', () => {
  let source: Cluster;
  let target: Cluster;
  let options: ConstructorParameters<typeof Migrator>[0];

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 12, extras: true }, { major: 15, extras: true }])) as [Cluster, Cluster];
    await source.exec(`create role app login replication password 'app-secret'; create role auditor nologin;`);
    await source.exec('create database legacy owner app');
    await source.exec(
      `set role app;
       create table accounts (id int primary key, balance numeric not null);
       insert into accounts select g, g * 10 from generate_series(1, 500) g;
       reset role;
       create extension datalakehouse_extras cascade;
       create table audit_log (id int primary key, note text);
       insert into audit_log select g, 'n' || g from generate_series(1, 50) g;
       alter table audit_log owner to auditor;
       grant select on audit_log to app;`,
      'legacy',
    );
    await target.exec(`create role dlh_admin login createdb createrole password 'admin-secret'`);
    await target.exec('create database admin_home owner dlh_admin');
    options = {
      source: uriAs(source, 'app', 'app-secret', 'postgres'),
      target: uriAs(target, 'dlh_admin', 'admin-secret', 'admin_home'),
      databases: ['legacy'],
      method: 'replication',
      pollIntervalMs: 100,
    };
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('refuses the extension to a database owner who is not a superuser, and preflight says a superuser installs it', async () => {
    await source.exec('create database other owner app');
    await source.exec('create table audit_log (id int primary key); alter table audit_log owner to auditor; grant select on audit_log to app;', 'other');
    const migrator = new Migrator({ ...options, databases: ['other'] });
    const report = (await migrator.preflight())._unsafeUnwrap();
    await migrator.close();
    expect(report.checks.find((c) => c.id === 'source-privileges' && c.database === 'other')?.hint).toContain(
      'CREATE EXTENSION datalakehouse_extras CASCADE; in "other" on the source (as a superuser: it is not trusted on PostgreSQL 12)',
    );
    const app = postgres(uriAs(source, 'app', 'app-secret', 'other'), { max: 1, onnotice: () => undefined });
    try {
      await expect(app.unsafe('create extension datalakehouse_extras cascade')).rejects.toMatchObject({
        code: '42501',
        message: expect.stringContaining('permission denied to create extension'),
      });
    } finally {
      await app.end();
    }
  });

  it('publishes through the extension, reaches syncing with every row there, carries changes, and stops leaving nothing', async () => {
    const migrator = new Migrator(options);
    try {
      const events = recordEvents(migrator);
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases).toEqual([expect.objectContaining({ dbname: 'legacy', method: 'replication', status: 'syncing' })]);
      expect(events).toContainEqual(expect.objectContaining({ type: 'replication:rights', dbname: 'legacy', source: 'extension', target: 'extension' }));
      const [expected, actual] = await Promise.all([fingerprint(source.sql('legacy')), fingerprint(target.sql('legacy'))]);
      expect(actual.tables).toEqual(expected.tables);

      await source.sql('legacy')`update audit_log set note = 'changed' where id <= 5`;
      await eventually('the change to a table app does not own is on the destination', async () => {
        const [row] = await target.sql('legacy')<{ n: number }[]>`select count(*)::int as n from audit_log where note = 'changed'`;
        return row?.n === 5;
      });

      const stopped = await migrator.stop();
      expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
      expect(await source.sql('legacy')`select slot_name from pg_replication_slots`).toEqual([]);
      expect(await source.sql('legacy')`select pubname from pg_publication`).toEqual([]);
      expect(await target.sql('legacy')`select subname from pg_subscription`).toEqual([]);
    } finally {
      await migrator.close();
    }
  });
});
