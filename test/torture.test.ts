import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { expectObjectsCarried, REPLICATION_FIXES, TORTURE_FIXTURE } from './support/torture.js';

/** A database name with a quote, a space and non-ASCII letters. */
const DUMPED = 'tor"ture db ñ';
const REPLICATED = 'tor"ture repl ø';

/**
 * The torture fixture (test/fixtures/torture.sql) moved by both methods and
 * checked by verify(): every row of every table, sequences, large objects
 * and materialized views equal on both sides.
 */
describe('the torture fixture, by both methods', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 17 }])) as [Cluster, Cluster];
    for (const db of [DUMPED, REPLICATED]) {
      await source.exec(`create database "${db.replace(/"/g, '""')}"`);
      await source.exec(TORTURE_FIXTURE, db);
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('says, for replication, which objects it cannot carry and why', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: [DUMPED], method: 'replication' });
    const report = (await migrator.preflight())._unsafeUnwrap();
    await migrator.close();
    const blockers = report.databases[0]?.blockers.join('\n') ?? '';
    expect(blockers).toMatch(/keyless/);
    expect(blockers).toMatch(/no_columns/);
    expect(blockers).toMatch(/public\.dog/);
    expect(blockers).toMatch(/unlogged tables.*scratch/);
    expect(report.checks.find((c) => c.id === 'large-objects' && c.database === DUMPED)?.status).toBe('warn');
  });

  it('dumps it, and verify() finds every row, sequence, large object and materialized view equal', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: [DUMPED], method: 'dump' });
    const status = (await migrator.migrate())._unsafeUnwrap();
    expect(status.databases[0], JSON.stringify(status)).toMatchObject({ status: 'done', method: 'pg_dump' });
    const verified = (await migrator.verify())._unsafeUnwrap();
    await migrator.close();
    expect(verified.databases[0]?.differences).toEqual([]);
    expect(verified.ok).toBe(true);
    expect(verified.databases[0]?.tables.length).toBe(18);
    await expectObjectsCarried(target, DUMPED);
  });

  it('replicates it once what replication cannot carry is made carriable, and verify() finds it equal', async () => {
    // The fixes preflight asked for.
    await source.exec(REPLICATION_FIXES, REPLICATED);
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: [REPLICATED], method: 'replication', pollIntervalMs: 100 });
    const status = (await migrator.migrate())._unsafeUnwrap();
    expect(status.databases[0], JSON.stringify(status)).toMatchObject({ status: 'syncing', method: 'replication' });
    await source.exec(
      `insert into typed (id, t, f, dt) values (4, 'after the copy', 'Infinity', '0044-03-15 BC');
       insert into event select g, date '2024-06-01', 'click', null from generate_series(5001, 5100) g;
       update "MixedCase Ünïcode"."Order" set "Group" = 'changed' where "select" <= 10;
       delete from keyless where note is null;
       insert into no_columns default values;`,
      REPLICATED,
    );
    const verified = (await migrator.verify())._unsafeUnwrap();
    const db = verified.databases[0];
    // Sequences, large objects and materialized views are brought level at stop(): differences there are expected ones.
    expect(db?.differences.filter((d) => !d.expected)).toEqual([]);
    expect(db?.status).toBe('equal');
    const stopped = (await migrator.stop())._unsafeUnwrap();
    expect(stopped.databases[0]?.status).toBe('done');
    // The source's materialized view still holds what it computed before the writes; the destination's was recomputed at stop().
    const stale = (await migrator.verify())._unsafeUnwrap();
    expect(stale.databases[0]?.differences).toEqual([expect.objectContaining({ kind: 'materialized-view', object: 'public.event_counts', expected: true })]);
    await source.exec('refresh materialized view event_counts', REPLICATED);
    const after = (await migrator.verify())._unsafeUnwrap();
    await migrator.close();
    expect(after.databases[0]?.differences).toEqual([]);
  });
});
