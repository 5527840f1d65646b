import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { fingerprint } from './support/compare.js';
import { seed } from './support/fixtures.js';

/** Any user object in a destination database means it is not empty, not only a table. */
const OCCUPANTS: Record<string, string> = {
  has_large_object: `select lo_create(4242)`,
  has_sequence: `create sequence counter`,
  has_function: `create function answer() returns int language sql as 'select 42'`,
  has_type: `create type mood as enum ('ok', 'not ok')`,
  has_schema: `create schema app`,
  has_extension: `create extension citext`,
  has_view: `create view v as select 1 as one`,
};

describe('a destination database is empty only when it holds no user object', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    for (const [name, statement] of Object.entries(OCCUPANTS)) {
      await seed(source, name, 'shop');
      await target.exec(`create database ${name}`);
      await target.exec(statement, name);
    }
    await seed(source, 'empty_but_created', 'shop');
    await target.exec('create database empty_but_created');
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('refuses each database that holds a large object, a sequence, a function, a type, a schema, an extension or a view', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: Object.keys(OCCUPANTS) });
    const report = (await migrator.preflight())._unsafeUnwrap();
    const status = (await migrator.migrate())._unsafeUnwrap();
    await migrator.close();
    for (const name of Object.keys(OCCUPANTS)) {
      expect(report.checks).toContainEqual(expect.objectContaining({ id: 'target-database', database: name, status: 'fail' }));
      expect(status.databases).toContainEqual(
        expect.objectContaining({ dbname: name, status: 'failed', error: expect.stringContaining('is not empty') }),
      );
    }
    const [tables] = await target.sql('has_sequence')`select count(*)::int as n from pg_tables where schemaname = 'public'`;
    expect(tables?.n).toBe(0);
  });

  it('fills an existing database that holds nothing, and one that holds something when the caller opts in', async () => {
    const migrator = new Migrator({
      source: source.uri(),
      target: target.uri(),
      method: 'dump',
      databases: ['empty_but_created', 'has_function'],
      allowNonEmptyTarget: true,
    });
    const status = (await migrator.migrate())._unsafeUnwrap();
    await migrator.close();
    expect(status.databases).toEqual([
      expect.objectContaining({ dbname: 'empty_but_created', status: 'done' }),
      expect.objectContaining({ dbname: 'has_function', status: 'done' }),
    ]);
    const [expected, actual] = await Promise.all([fingerprint(source.sql('empty_but_created')), fingerprint(target.sql('empty_but_created'))]);
    expect(actual).toEqual(expected);
    const [answer] = await target.sql('has_function')`select answer() as a`;
    expect(answer?.a).toBe(42);
  });
});
