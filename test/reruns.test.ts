import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { fingerprint } from './support/compare.js';
import { seed } from './support/fixtures.js';

describe('running against a destination that is not fresh', () => {
  let source: Cluster;
  let target: Cluster;
  const migrator = (databases: string[]): Migrator =>
    new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases });

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    await seed(source, 'shop', 'shop');
    await seed(source, 'occupied', 'shop');
    await target.exec('create database occupied');
    await target.exec('create table precious (id int primary key); insert into precious values (1), (2)', 'occupied');
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('refuses to fill a database that holds tables this migration did not create, and leaves them be', async () => {
    const m = migrator(['occupied']);
    const status = (await m.migrate())._unsafeUnwrap();
    await m.close();
    expect(status.databases).toEqual([
      expect.objectContaining({ dbname: 'occupied', status: 'failed', error: expect.stringContaining('is not empty: it holds table public.precious') }),
    ]);
    const rows = await target.sql('occupied')`select id from precious order by id`;
    expect(rows.map((r) => r.id)).toEqual([1, 2]);
    const tables = await target.sql('occupied')`select tablename from pg_tables where schemaname = 'public'`;
    expect(tables.map((t) => t.tablename)).toEqual(['precious']);
  });

  it('lets one migration at a time run against a destination', async () => {
    const [first, second] = [migrator(['shop']), migrator(['shop'])];
    const results = await Promise.all([first.migrate(), second.migrate()]);
    await Promise.all([first.close(), second.close()]);
    const kinds = results.map((r) => (r.isErr() ? r.error.kind : r.value.databases.find((d) => d.dbname === 'shop')?.status));
    expect(kinds.sort()).toEqual(['busy', 'done']);
  });

  it('shows a run that died mid-copy as failed, and redoes it without duplicating a row', async () => {
    // What a crash leaves: the state says running and the copy is partial.
    await target.exec(`update datalakehouse_migrate.database_state set status = 'running' where dbname = 'shop'`);
    await target.exec('delete from orders where id > 5000', 'shop');

    const observer = migrator(['shop']);
    const interrupted = (await observer.status())._unsafeUnwrap();
    await observer.close();
    expect(interrupted.databases).toContainEqual(
      expect.objectContaining({ dbname: 'shop', status: 'failed', error: expect.stringContaining('Interrupted') }),
    );

    const m = migrator(['shop']);
    const status = (await m.migrate())._unsafeUnwrap();
    await m.close();
    expect(status.databases).toContainEqual(expect.objectContaining({ dbname: 'shop', status: 'done' }));
    const [expected, actual] = await Promise.all([fingerprint(source.sql('shop')), fingerprint(target.sql('shop'))]);
    expect(actual).toEqual(expected);
  });
});
