import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';

/**
 * A column's COMPRESSION is part of its definition in the schema dump; a
 * server built without lz4 refuses `COMPRESSION lz4`. Debian's 15 has lz4,
 * the embedded 16 has not.
 */
describe('a source column compressed with lz4, and a destination built without lz4', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 16 }])) as [Cluster, Cluster];
    await source.exec('create database lz');
    await source.exec(
      `create table t (id int primary key, body text compression lz4, note text compression pglz, plain text);
       create schema "Other";
       create table "Other"."Docs" ("Body" bytea compression lz4);
       insert into t select g, repeat('x', 5000), 'n', 'p' from generate_series(1, 10) g;`,
      'lz',
    );
    await source.exec('create database plain');
    await source.exec('create table t (id int primary key, note text compression pglz)', 'plain');
  }, 180_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('fails that database in preflight, naming each lz4 column and the fix, for every method', async () => {
    for (const method of ['dump', 'auto'] as const) {
      const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['lz', 'plain'], method });
      const report = (await migrator.preflight())._unsafeUnwrap();
      await migrator.close();
      const failed = report.checks.filter((c) => c.id === 'toast-compression' && c.status === 'fail');
      expect(failed).toEqual([
        expect.objectContaining({ database: 'lz', blocks: 'migration', side: 'target', message: expect.stringContaining('"Other"."Docs"."Body", public.t.body') }),
      ]);
      expect(failed[0]?.message).not.toContain('note');
      expect(failed[0]?.hint).toContain('ALTER TABLE public.t ALTER COLUMN body SET COMPRESSION pglz');
      expect(failed[0]?.hint).toContain('lz4');
      expect(report.databases.find((d) => d.dbname === 'lz')).toMatchObject({ method: null, blockers: [expect.stringContaining('lz4')] });
      expect(report.databases.find((d) => d.dbname === 'plain')).toMatchObject({ blockers: [] });
    }
  });

  it('migrates the database once its columns use pglz', async () => {
    await source.exec('alter table t alter column body set compression pglz; alter table "Other"."Docs" alter column "Body" set compression pglz', 'lz');
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['lz'], method: 'dump' });
    const report = (await migrator.preflight())._unsafeUnwrap();
    expect(report.checks.filter((c) => c.id === 'toast-compression').map((c) => c.status)).toEqual(['pass']);
    const status = (await migrator.migrate({ preflight: report }))._unsafeUnwrap();
    await migrator.close();
    expect(status.databases).toEqual([expect.objectContaining({ dbname: 'lz', status: 'done' })]);
    const [row] = await target.sql('lz')`select count(*)::int as n, sum(length(body))::int as len from t`;
    expect(row).toEqual({ n: 10, len: 50_000 });
  }, 120_000);
});
