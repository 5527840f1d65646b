import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';

describe('a destination older than the source', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 17 }, { major: 15 }])) as [Cluster, Cluster];
    await source.exec('create database shop');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('is refused by preflight, with the fix', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop'] });
    const report = (await migrator.preflight())._unsafeUnwrap();
    await migrator.close();
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.id === 'server-versions')).toMatchObject({
      status: 'fail',
      blocks: 'migration',
      message: expect.stringContaining('The destination (15) is older than the source (17)'),
      hint: expect.stringContaining('allowOlderTarget'),
    });
  });

  it('is a warning when the caller allows it', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop'], allowOlderTarget: true });
    const report = (await migrator.preflight())._unsafeUnwrap();
    await migrator.close();
    expect(report.checks.find((c) => c.id === 'server-versions')).toMatchObject({ status: 'warn', message: expect.stringContaining('allowed by allowOlderTarget') });
    // What still blocks it here is only that this machine has no pg_dump 17, which is another check.
    expect(report.databases.find((d) => d.dbname === 'shop')?.blockers).not.toContainEqual(expect.stringContaining('older than the source'));
  });
});

describe('a migration the caller allowed into an older destination', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 13 }])) as [Cluster, Cluster];
    await source.exec('create database atomic');
    await source.exec('create table t (id int primary key); create function one() returns int language sql begin atomic select 1; end;', 'atomic');
    await source.exec('create database nulls');
    await source.exec('create table t (id int primary key, code text); create unique index t_code on t (code) nulls not distinct;', 'nulls');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it.each([
    ['pre-data', 'atomic'],
    ['post-data', 'nulls'],
  ])('fails a database whose %s schema the older destination cannot take, saying that is why', async (section, db) => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: [db], method: 'dump', allowOlderTarget: true });
    try {
      const [status] = (await migrator.migrate())._unsafeUnwrap().databases;
      expect(status).toMatchObject({ status: 'failed', errorKind: 'schema', error: expect.stringContaining(section) });
      const reported = (await migrator.status())._unsafeUnwrap().databases[0];
      expect(reported?.error).toMatch(/PostgreSQL 13.*older than the source.*15/);
    } finally {
      await migrator.close();
    }
  });

  it('leaves no slot or publication on the source when a replication\'s pre-data schema fails, made as they were while it restored', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['atomic'], method: 'replication', allowOlderTarget: true });
    try {
      const [status] = (await migrator.migrate())._unsafeUnwrap().databases;
      expect(status).toMatchObject({ status: 'failed', errorKind: 'schema', error: expect.stringContaining('pre-data') });
      const [left] = await source.sql('atomic')<{ slots: number; publications: number }[]>`
        select (select count(*)::int from pg_replication_slots) as slots, (select count(*)::int from pg_publication) as publications`;
      expect(left).toEqual({ slots: 0, publications: 0 });
    } finally {
      await migrator.close();
    }
  });
});
