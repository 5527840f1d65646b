import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';

/**
 * A table's indexes are built as soon as its rows are in, while other tables
 * still copy: a small table's builds start no parallel workers, whose start
 * costs more than they save while every core is busy.
 */
describe('index builds during the copy', () => {
  let source: Cluster;
  let target: Cluster;
  /** How the destination built each index of the tables `t1`..`t8` since `from`, by its log: serially or with workers. */
  const builds = (from: number): string[] =>
    [...readFileSync(target.logFile, 'utf8').slice(from).matchAll(/building index "(t\d+_\w+)" on table "t\d+" (serially|with request for \d+ parallel workers)/g)].map(
      (m) => `${m[1]}: ${m[2]}`,
    );

  beforeAll(async () => {
    // This destination gives even the smallest index build parallel workers, and logs how it builds each index.
    [source, target] = (await startClusters([
      {},
      { settings: { log_min_messages: 'debug1', min_parallel_table_scan_size: '0', max_parallel_maintenance_workers: '2' } },
    ])) as [Cluster, Cluster];
    await source.exec('create database shop');
    await source.exec(
      `do $$ begin
         for i in 1..8 loop
           execute format('create table t%s (id int primary key, note text)', i);
           execute format('create index on t%s (note)', i);
           execute format('insert into t%s select g, md5(g::text) from generate_series(1, 2000) g', i);
         end loop;
       end $$;`,
      'shop',
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('builds a small table\'s indexes and primary key without parallel workers, where the server would start them', async () => {
    const before = readFileSync(target.logFile, 'utf8').length;
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop'], method: 'dump', jobs: 2 });
    try {
      expect((await migrator.migrate())._unsafeUnwrap().databases[0]).toMatchObject({ dbname: 'shop', status: 'done' });
    } finally {
      await migrator.close();
    }
    const migrated = builds(before);
    expect(migrated).toHaveLength(16);
    expect(migrated.filter((build) => !build.endsWith('serially'))).toEqual([]);
    const [indexes] = await target.sql('shop')<{ n: number }[]>`select count(*)::int as n from pg_index i join pg_class c on c.oid = i.indrelid where c.relname like 't%'`;
    expect(indexes?.n).toBe(16);

    // The same build, asked for plainly, gets workers on this destination.
    const asked = readFileSync(target.logFile, 'utf8').length;
    await target.exec('create index on t1 (id, note)', 'shop');
    expect(builds(asked)).toEqual([expect.stringMatching(/^t1_id_note_idx: with request for [1-9]\d* parallel workers$/)]);
  });
});
