import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, toServiceResponse } from '../src/index.js';
import { startClusters, uriAs, type Cluster } from './support/cluster.js';
import { eventually, fingerprint } from './support/compare.js';
import { recordEvents } from './support/events.js';


/**
 * The migration guide's own example: the source database that has the
 * extension replicates, the one that has not falls back to a dump. Neither
 * side's role is a superuser: the source role has LOGIN and REPLICATION and
 * owns its databases, the destination admin has CREATEDB and CREATEROLE on
 * PostgreSQL 15, where pg_create_subscription does not exist.
 */
describe('replication through datalakehouse_extras, without superuser on either side', () => {
  let source: Cluster;
  let target: Cluster;
  let options: ConstructorParameters<typeof Migrator>[0];

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15, extras: true }, { major: 15, extras: true }])) as [Cluster, Cluster];
    await source.exec(`create role app login replication password 'app-secret'; create role auditor nologin;`);
    for (const db of ['has_datalakehouse_extras', 'defaultdb']) await source.exec(`create database ${db} owner app`);
    // In both databases one table belongs to another role, so app cannot publish them by name.
    for (const db of ['has_datalakehouse_extras', 'defaultdb']) {
      await source.exec(
        `set role app;
         create table accounts (id int primary key, balance numeric not null);
         insert into accounts select g, g * 10 from generate_series(1, 500) g;
         reset role;
         create table audit_log (id int primary key, note text);
         insert into audit_log select g, 'n' || g from generate_series(1, 50) g;
         alter table audit_log owner to auditor;
         grant select on audit_log to app;`,
        db,
      );
    }
    await source.exec('set role app; create extension datalakehouse_extras cascade; reset role;', 'has_datalakehouse_extras');
    await target.exec(`create role dlh_admin login createdb createrole password 'admin-secret'`);
    await target.exec('create database admin_home owner dlh_admin');
    options = {
      source: uriAs(source, 'app', 'app-secret', 'postgres'),
      target: uriAs(target, 'dlh_admin', 'admin-secret', 'admin_home'),
      databases: ['has_datalakehouse_extras', 'defaultdb'],
      pollIntervalMs: 100,
    };
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('replicates the database that has the extension and dumps the one that has not, as the migration guide shows', async () => {
    const migrator = new Migrator(options);
    const events = recordEvents(migrator);
    const status = (await migrator.migrate())._unsafeUnwrap();
    await migrator.close();
    expect(toServiceResponse(status)).toEqual({
      migration: { error: null, method: '', status: 'done' },
      migration_detail: expect.arrayContaining([
        { dbname: 'has_datalakehouse_extras', error: null, method: 'replication', status: 'syncing' },
        { dbname: 'defaultdb', error: null, method: 'pg_dump', status: 'done' },
      ]),
    });
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'replication:rights', dbname: 'has_datalakehouse_extras', source: 'extension', target: 'extension' }),
    );
    expect(events).toContainEqual(expect.objectContaining({ type: 'schema', step: 'extension', dbname: 'has_datalakehouse_extras' }));
    // The source's copy of the extension is plumbing: not restored as schema, and its bookkeeping not copied as rows.
    const [restored] = await target.sql('defaultdb')<{ n: number }[]>`select count(*)::int as n from pg_extension where extname = 'datalakehouse_extras'`;
    expect(restored?.n).toBe(0);
    for (const db of ['has_datalakehouse_extras', 'defaultdb']) {
      const [expected, actual] = await Promise.all([fingerprint(source.sql(db)), fingerprint(target.sql(db))]);
      expect(actual.tables).toEqual(expected.tables);
    }
  });

  it('carries changes, and stop() removes the subscription, slot and publication without superuser', async () => {
    await source.sql('has_datalakehouse_extras')`update accounts set balance = balance + 1 where id <= 10`;
    await eventually('the update is on the destination', async () => {
      const [row] = await target.sql('has_datalakehouse_extras')<{ total: string }[]>`select sum(balance)::text as total from accounts where id <= 10`;
      return row?.total === '560';
    });
    const migrator = new Migrator(options);
    const status = (await migrator.status())._unsafeUnwrap();
    expect(status.databases.find((d) => d.dbname === 'has_datalakehouse_extras')).toMatchObject({ status: 'syncing', rights: { source: 'extension', target: 'extension' } });
    const stopped = await migrator.stop();
    await migrator.close();
    expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
    expect(await source.sql('has_datalakehouse_extras')`select slot_name from pg_replication_slots`).toEqual([]);
    expect(await source.sql('has_datalakehouse_extras')`select pubname from pg_publication`).toEqual([]);
    expect(await target.sql('has_datalakehouse_extras')`select subname from pg_subscription`).toEqual([]);
  });
});
