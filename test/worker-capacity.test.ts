import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, type PreflightReport } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';

/**
 * Every logical replication worker is a background worker process, and so is
 * the launcher that starts them: max_worker_processes bounds them all, however
 * high max_logical_replication_workers is set.
 */
describe('a destination whose max_worker_processes leaves fewer workers than max_logical_replication_workers', () => {
  let source: Cluster;
  let target: Cluster;
  const names = Array.from({ length: 8 }, (_, i) => `w_${i}`);

  beforeAll(async () => {
    [source, target] = (await startClusters([
      { major: 15 },
      { major: 16, settings: { max_worker_processes: 8, max_logical_replication_workers: 8 } },
    ])) as [Cluster, Cluster];
    for (const name of [...names, 'late']) {
      await source.exec(`create database ${name}`);
      await source.exec('create table t (id int primary key); insert into t select generate_series(1, 10);', name);
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('plans replication only for as many databases as can get an apply worker, and names the setting for the rest', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: names });
    const report = (await migrator.preflight())._unsafeUnwrap();
    await migrator.close();
    // The launcher holds one of the eight processes.
    expect(report.databases.map((d) => d.method)).toEqual([...Array<string>(7).fill('replication'), 'pg_dump']);
    expect(report.databases[7]?.replicationBlockers).toEqual([expect.stringContaining('max_worker_processes')]);
    const capacity = report.checks.find((c) => c.id === 'replication-capacity' && c.database === 'w_7');
    expect(capacity).toMatchObject({ status: 'warn', blocks: 'replication', hint: expect.stringContaining('max_worker_processes') });
  });

  // Planned while there was room, started after the other databases took it.
  let late: { migrator: Migrator; report: PreflightReport } | undefined;

  it('brings every database to syncing or done, the planned way', async () => {
    const planner = new Migrator({ source: source.uri(), target: target.uri(), databases: ['late'], method: 'replication', pollIntervalMs: 200, syncTimeoutMs: 60_000 });
    late = { migrator: planner, report: (await planner.preflight())._unsafeUnwrap() };
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: names, pollIntervalMs: 200, syncTimeoutMs: 60_000 });
    const status = (await migrator.migrate())._unsafeUnwrap();
    await migrator.close();
    expect(status.databases.map((d) => [d.dbname, d.status])).toEqual(names.map((n, i) => [n, i < 7 ? 'syncing' : 'done']));
  }, 240_000);

  it('fails a database planned while there was room once the room is gone, at once and naming the setting', async () => {
    const { migrator, report } = late!;
    expect(report.databases[0]).toMatchObject({ dbname: 'late', method: 'replication', blockers: [] });
    const started = Date.now();
    const status = (await migrator.migrate({ preflight: report }))._unsafeUnwrap();
    // Not after syncTimeoutMs, waiting for an apply worker that cannot start.
    expect(Date.now() - started).toBeLessThan(30_000);
    await migrator.stop({ force: true });
    await migrator.close();
    expect(status.databases[0]).toMatchObject({
      dbname: 'late',
      status: 'failed',
      error: expect.stringMatching(/0 worker processes \(max_worker_processes 8, less 1 background workers .* and 7 enabled subscriptions\)/),
    });
  }, 120_000);
});
