import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, toServiceResponse } from '../src/index.js';
import { startClusters, type Cluster, type Major } from './support/cluster.js';
import { fingerprint } from './support/compare.js';
import { recordEvents } from './support/events.js';
import { seed } from './support/fixtures.js';
import { schemaOf } from './support/schema.js';

/** This process's schema dumps under way. */
const schemaDumpDirs = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith(`dlh-migrate-schema-${process.pid}-`));

describe.each<{ from: Major; to: Major }>([
  { from: 15, to: 15 },
  { from: 13, to: 15 },
])('dump and restore from PostgreSQL $from to $to', ({ from, to }) => {
  let source: Cluster;
  let target: Cluster;
  let migrator: Migrator;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: from }, { major: to }])) as [Cluster, Cluster];
    await seed(source, 'shop', 'shop');
    await seed(source, 'archive', 'archive');
    await seed(source, 'postdata', 'postdata');
    migrator = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: ['shop', 'archive'] });
  });

  afterAll(async () => {
    await migrator?.close();
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('copies every table, sequence and large object exactly', async () => {
    const events = recordEvents(migrator);
    // The databases that start first have their schemas dumped while the roles are copied.
    let dumpsAtRoles: string[] | undefined;
    migrator.on('schema', (event) => {
      if (event.step === 'roles') dumpsAtRoles = schemaDumpDirs();
    });
    const result = await migrator.migrate();
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(toServiceResponse(result._unsafeUnwrap())).toEqual({
      migration: { error: null, method: 'pg_dump', status: 'done' },
      migration_detail: [
        { dbname: 'archive', error: null, method: 'pg_dump', status: 'done' },
        { dbname: 'shop', error: null, method: 'pg_dump', status: 'done' },
      ],
    });
    for (const db of ['shop', 'archive']) {
      const [expected, actual] = await Promise.all([fingerprint(source.sql(db)), fingerprint(target.sql(db))]);
      expect(Object.keys(expected.tables).length).toBeGreaterThan(1);
      expect(actual).toEqual(expected);
    }
    const archive = await fingerprint(target.sql('archive'));
    expect(Object.keys(archive.largeObjects)).toHaveLength(3);
    expect(archive.sequences['public.invoice_numbers']).toEqual({ lastValue: '1036', isCalled: true });
    expect(archive.sequences['public.untouched']).toEqual({ lastValue: '1', isCalled: false });
    const copied = events.filter((e) => e.type === 'table:copied');
    expect(copied.find((e) => e.table === 'orders')).toMatchObject({ dbname: 'shop', rows: 10000, tablesTotal: 2 });
    // Databases move side by side: both start before either is done.
    const firstDone = events.findIndex((e) => e.type === 'database:done');
    const starts = events.flatMap((e, i) => (e.type === 'database:start' ? [i] : []));
    expect(starts).toHaveLength(2);
    expect(Math.max(...starts)).toBeLessThan(firstDone);
    expect(dumpsAtRoles?.length).toBeGreaterThan(0);
    expect(schemaDumpDirs()).toEqual([]);
  });

  it('restores the post-data schema after the data: indexes, foreign keys, triggers, views', async () => {
    const [row] = await target.sql('shop')<{ indexes: number; fks: number; triggers: number }[]>`
      select (select count(*)::int from pg_indexes where tablename = 'orders') as indexes,
             (select count(*)::int from pg_constraint where contype = 'f') as fks,
             (select count(*)::int from pg_trigger where not tgisinternal) as triggers`;
    expect(row).toEqual({ indexes: 2, fks: 1, triggers: 1 });
    const view = await target.sql('archive')`select count(*)::int as n from recent_events`;
    expect(view[0]?.n).toBe(3000);
    const totals = await target.sql('archive')`select events::int from event_totals`;
    expect(totals).toEqual([{ events: 3000 }]);
    const populated = await target.sql('archive')`select relname, relispopulated from pg_class where relkind = 'm' order by 1`;
    expect(populated).toEqual([
      { relname: 'event_totals', relispopulated: true },
      { relname: 'never_filled', relispopulated: false },
    ]);
  });

  it('copies roles and ownership, but no superuser', async () => {
    const [owner] = await target.sql('shop')<{ owner: string }[]>`select tableowner as owner from pg_tables where tablename = 'customers'`;
    expect(owner?.owner).toBe('shop_owner');
  });

  it('never copies a row twice when migrate() runs again', async () => {
    const events = recordEvents(migrator);
    const again = await migrator.migrate();
    expect(again._unsafeUnwrap().status).toBe('done');
    expect(events.filter((e) => e.type === 'table:copied')).toEqual([]);
    // The schema dumps preflight started for databases the run then kept are stopped and removed.
    expect(schemaDumpDirs()).toEqual([]);
    const [expected, actual] = await Promise.all([fingerprint(source.sql('shop')), fingerprint(target.sql('shop'))]);
    expect(actual).toEqual(expected);
  });

  // pg_dump of two majors words the same schema differently: compared within one major.
  if (from === to) it('builds, each table indexed as its rows arrive, the very schema the source has', async () => {
    const m = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: ['postdata'] });
    const status = (await m.migrate())._unsafeUnwrap();
    await m.close();
    expect(status.databases).toEqual([expect.objectContaining({ dbname: 'postdata', status: 'done' })]);
    const [expected, actual] = await Promise.all([schemaOf(source, 'postdata'), schemaOf(target, 'postdata')]);
    expect(actual).toEqual(expected);
  });
});
