import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { fingerprint } from './support/compare.js';

/** PostgreSQL does not replicate large objects; the migration copies them, and brings them level when it stops. */
describe('large objects under replication', () => {
  let source: Cluster;
  let target: Cluster;
  let migrator: Migrator;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    await source.exec('create database docs');
    await source.exec(
      `create table document (id int primary key, body oid not null);
       insert into document select g, lo_from_bytea(0, convert_to(repeat('page ' || g, 1000), 'UTF8')) from generate_series(1, 5) g;`,
      'docs',
    );
    migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['docs'], method: 'replication', pollIntervalMs: 100 });
  }, 120_000);

  afterAll(async () => {
    await migrator?.close();
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('replicates a database with large objects, warning that they arrive with the initial copy and at stop()', async () => {
    const report = (await migrator.preflight())._unsafeUnwrap();
    expect(report.checks.find((c) => c.id === 'large-objects')).toMatchObject({ status: 'warn', message: expect.stringContaining('stop() or cutover()') });
    const status = (await migrator.migrate())._unsafeUnwrap();
    expect(status.databases[0]).toMatchObject({ method: 'replication', status: 'syncing' });
    expect((await fingerprint(target.sql('docs'))).largeObjects).toEqual((await fingerprint(source.sql('docs'))).largeObjects);
  });

  it('brings large objects written, changed and removed on the source since then over at stop()', async () => {
    await source.exec(
      `insert into document values (6, lo_from_bytea(0, 'a new one'));
       select lo_put(body, 0, convert_to('CHANGED', 'UTF8')) from document where id = 1;
       select lo_unlink(body) from document where id = 2;
       delete from document where id = 2;`,
      'docs',
    );
    const before = await fingerprint(target.sql('docs'));
    expect(before.largeObjects).not.toEqual((await fingerprint(source.sql('docs'))).largeObjects);
    const stopped = (await migrator.stop())._unsafeUnwrap();
    expect(stopped.databases[0]?.status).toBe('done');
    expect(await fingerprint(target.sql('docs'))).toEqual(await fingerprint(source.sql('docs')));
  });
});
