import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';

// mv1 was created first (lower OID) but reads mv2 through the view v, redefined after both existed:
// refreshed by creation order, mv1 would read mv2 before mv2 holds anything.
const VIEWS_OVER_VIEWS = `
  create table t (x int primary key);
  insert into t select generate_series(1, 10);
  create view v as select x from t;
  create materialized view mv1 as select x from v;
  create materialized view mv2 as select x * 2 as x from t;
  create or replace view v as select x from mv2;
  refresh materialized view mv1;
  create function doubled_count() returns bigint language sql stable begin atomic select 0::bigint; end;
  create materialized view mv0 as select doubled_count() as n;
  create materialized view mv3 as select x from mv2 where x > 10;
  create or replace function doubled_count() returns bigint language sql stable begin atomic select count(*) * 2 from mv3; end;
  refresh materialized view mv3;
  refresh materialized view mv0;
  create materialized view never_filled as select x from mv2 with no data;
  create schema reports;
  create materialized view reports.totals as select count(*) as n from t;`;

describe('materialized views', () => {
  let source: Cluster;
  let target: Cluster;

  const contents = async (cluster: Cluster, db: string) => ({
    views: (
      await cluster.sql(db)<{ name: string; populated: boolean }[]>`
        select relname as name, relispopulated as populated from pg_class where relkind = 'm' order by 1`
    ).map((r) => `${r.name}:${r.populated ? 'populated' : 'empty'}`),
    rows: await cluster.sql(db).unsafe(
      `select (select string_agg(x::text, ',' order by x) from mv1) as mv1, (select count(*)::int from mv2) as mv2,
              (select n::int from mv0) as mv0, (select count(*)::int from mv3) as mv3`,
    ),
  });

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    await source.exec('create database chained');
    await source.exec(VIEWS_OVER_VIEWS, 'chained');
    await source.exec('create database reported');
    await source.exec(VIEWS_OVER_VIEWS, 'reported');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('are refreshed in the order they depend on each other, through views and functions, not in the order they were created', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: ['chained'] });
    const status = (await migrator.migrate())._unsafeUnwrap();
    await migrator.close();
    expect(status.databases[0], JSON.stringify(status)).toMatchObject({ dbname: 'chained', status: 'done' });
    const [before, after] = await Promise.all([contents(source, 'chained'), contents(target, 'chained')]);
    expect(after).toEqual(before);
  });

  it('leaves one never populated on the source unpopulated', async () => {
    const [row] = await target.sql('chained')<{ populated: boolean }[]>`select relispopulated as populated from pg_class where relname = 'never_filled'`;
    expect(row).toEqual({ populated: false });
  });

  it('refreshes only those the destination has, none in a schema left out, and verify() does not miss that one', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: ['reported'], excludeSchemas: ['reports'] });
    try {
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases[0], JSON.stringify(status)).toMatchObject({ dbname: 'reported', status: 'done' });
      expect((await contents(target, 'reported')).views).toEqual(['mv0:populated', 'mv1:populated', 'mv2:populated', 'mv3:populated', 'never_filled:empty']);
      const verified = (await migrator.verify())._unsafeUnwrap();
      expect(verified.databases[0]?.differences ?? [], JSON.stringify(verified)).toEqual([]);
      expect(verified.ok).toBe(true);
    } finally {
      await migrator.close();
    }
  });
});
