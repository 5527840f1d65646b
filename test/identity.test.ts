import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { fingerprint } from './support/compare.js';
import { seed } from './support/fixtures.js';

/**
 * A migration's record is bound to the identity of what it copied: the source
 * cluster and database, and the destination database it created. A name alone
 * proves nothing, so nothing is dropped or called done on a name.
 */
describe('state bound to identity', () => {
  let source: Cluster;
  let otherSource: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, otherSource, target] = (await startClusters([{ major: 15 }, { major: 15 }, { major: 15 }])) as [Cluster, Cluster, Cluster];
    await seed(source, 'tw015', 'shop');
    await seed(source, 'bench', 'shop');
    await seed(source, 'moved', 'shop');
    await seed(otherSource, 'moved', 'archive');
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), otherSource?.stop(), target?.stop()]);
  });

  const run = async (options: Partial<ConstructorParameters<typeof Migrator>[0]>, prepare?: (migrator: Migrator) => void) => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), pollIntervalMs: 100, ...options });
    prepare?.(migrator);
    const result = await migrator.migrate();
    await migrator.close();
    return result;
  };

  it('never drops a database that someone recreated under a name this migration once created', async () => {
    // A change made during the copy streams only once the subscription runs: longer than the timeout.
    const failedRun = (
      await run({ databases: ['tw015'], method: 'replication', syncTimeoutMs: 1 }, (m) =>
        m.on('copy:start', () => void source.exec('update orders set amount = amount + 1 where id = 1', 'tw015')),
      )
    )._unsafeUnwrap();
    expect(failedRun.databases).toContainEqual(expect.objectContaining({ dbname: 'tw015', status: 'failed' }));

    // A person replaces the database with their own.
    await target.exec('drop database tw015');
    await target.exec('create database tw015');
    await target.exec(`create table mine (note text); insert into mine values ('keep me')`, 'tw015');

    const preflight = new Migrator({ source: source.uri(), target: target.uri(), databases: ['tw015'] });
    const report = (await preflight.preflight())._unsafeUnwrap();
    await preflight.close();
    expect(report.databases).toEqual([expect.objectContaining({ dbname: 'tw015', method: null })]);
    expect(report.checks).toContainEqual(
      expect.objectContaining({ id: 'target-database', database: 'tw015', status: 'fail', message: expect.stringMatching(/not the one this migration created/) }),
    );

    const again = (await run({ databases: ['tw015'] }))._unsafeUnwrap();
    expect(again.databases).toEqual([expect.objectContaining({ dbname: 'tw015', status: 'failed' })]);
    const rows = await target.sql('tw015')`select note from mine`;
    expect(rows.map((r) => r.note)).toEqual(['keep me']);
  });

  it('reports a finished database that vanished from the destination as failed, and redoes it on the next run', async () => {
    expect((await run({ databases: ['bench'], method: 'dump' }))._unsafeUnwrap().status).toBe('done');
    await target.exec('drop database bench');

    const observer = new Migrator({ source: source.uri(), target: target.uri(), databases: ['bench'] });
    const status = (await observer.status())._unsafeUnwrap();
    const stopped = await observer.stop();
    await observer.close();
    expect(status.databases).toEqual([
      expect.objectContaining({ dbname: 'bench', status: 'failed', error: expect.stringContaining('no longer exists on the destination') }),
    ]);
    expect(stopped.isErr() && stopped.error.kind).toBe('unsafe-stop');

    const redone = (await run({ databases: ['bench'], method: 'dump' }))._unsafeUnwrap();
    expect(redone.databases).toEqual([expect.objectContaining({ dbname: 'bench', status: 'done' })]);
    const [expected, actual] = await Promise.all([fingerprint(source.sql('bench')), fingerprint(target.sql('bench'))]);
    expect(actual).toEqual(expected);
  });

  it('never calls done a database that another source cluster filled, and leaves it as it is', async () => {
    expect((await run({ databases: ['moved'], method: 'dump' }))._unsafeUnwrap().status).toBe('done');
    const before = await fingerprint(target.sql('moved'));

    const other = new Migrator({ source: otherSource.uri(), target: target.uri(), databases: ['moved'], method: 'dump' });
    const observed = (await other.status())._unsafeUnwrap();
    const result = (await other.migrate())._unsafeUnwrap();
    await other.close();
    for (const status of [observed, result]) {
      expect(status.databases).toEqual([
        expect.objectContaining({ dbname: 'moved', status: 'failed', error: expect.stringContaining('another source') }),
      ]);
    }
    expect(await fingerprint(target.sql('moved'))).toEqual(before);
  });

  it('says a destination never migrated to has not started, listing the databases it would migrate', async () => {
    const fresh = (await startClusters([{ major: 15 }]))[0] as Cluster;
    try {
      const migrator = new Migrator({ source: source.uri(), target: fresh.uri(), databases: ['bench', 'moved'] });
      const status = (await migrator.status())._unsafeUnwrap();
      await migrator.close();
      expect(status.status).toBe('pending');
      expect(status.databases).toEqual([
        expect.objectContaining({ dbname: 'bench', status: 'pending' }),
        expect.objectContaining({ dbname: 'moved', status: 'pending' }),
      ]);
    } finally {
      await fresh.stop();
    }
  });

  it('reads the state an earlier version wrote, and drops nothing on its word alone', async () => {
    const fresh = (await startClusters([{ major: 15 }]))[0] as Cluster;
    try {
      // What version 0.1 kept: names only, and a claim to have created the database.
      await fresh.exec(`
        create schema datalakehouse_migrate;
        create table datalakehouse_migrate.database_state (
          dbname text primary key, method text not null, status text not null, error text,
          fallback_reasons text[] not null default '{}', created_database boolean not null default false,
          started_at timestamptz not null default now(), updated_at timestamptz not null default now());
        insert into datalakehouse_migrate.database_state (dbname, method, status, created_database)
        values ('bench', 'pg_dump', 'failed', true);`);
      await fresh.exec('create database bench');
      await fresh.exec(`create table mine (note text); insert into mine values ('keep me')`, 'bench');

      const migrator = new Migrator({ source: source.uri(), target: fresh.uri(), databases: ['bench'], method: 'dump' });
      const before = (await migrator.status())._unsafeUnwrap();
      const after = (await migrator.migrate())._unsafeUnwrap();
      await migrator.close();
      expect(before.databases).toEqual([expect.objectContaining({ dbname: 'bench', status: 'failed' })]);
      expect(after.databases).toEqual([expect.objectContaining({ dbname: 'bench', status: 'failed', error: expect.stringContaining('is not empty') })]);
      const rows = await fresh.sql('bench')`select note from mine`;
      expect(rows.map((r) => r.note)).toEqual(['keep me']);
    } finally {
      await fresh.stop();
    }
  });
});
