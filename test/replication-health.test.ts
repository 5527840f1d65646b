import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replicationName } from '../src/index.js';
import { Budget } from '../src/util/budget.js';
import { Redactor } from '../src/redact.js';
import { waitForCatchUp } from '../src/strategies/replication/catch-up.js';
import { checkReplicationHealth, type ReplicationHealth } from '../src/strategies/replication/health.js';
import { ReplicationFailing, waitUntilSyncing } from '../src/strategies/replication/sync-wait.js';
import type { DatabaseJob } from '../src/strategies/strategy.js';
import { binariesFor, startClusters, type Cluster } from './support/cluster.js';
import { eventually } from './support/compare.js';

const run = promisify(execFile);

const OPTIONS = { baselineErrors: 0, maxLagBytes: 1024 ** 3, probeMs: 3000 };

describe('replication health from PostgreSQL 15 to 17', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([
      { major: 15 },
      // Workers that failed come back after half a second rather than five.
      { major: 17, logCollector: true, settings: { wal_retrieve_retry_interval: "'500ms'" } },
    ])) as [Cluster, Cluster];
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  /** A database with `t (id int primary key)` holding ids 1..1000 on both sides, replicated and level. */
  async function replicated(db: string): Promise<string> {
    const name = replicationName(db);
    await Promise.all([source.exec(`create database ${db}`), target.exec(`create database ${db}`)]);
    await source.exec('create table t (id int primary key); insert into t select generate_series(1, 1000)', db);
    await target.exec('create table t (id int primary key)', db);
    await source.exec(`create publication ${name} for all tables`, db);
    await subscribe(db);
    await eventually(`${db} is replicated`, async () => (await count(target, db)) === 1000);
    return name;
  }

  async function subscribe(db: string): Promise<void> {
    const name = replicationName(db);
    const conninfo = `host=${source.host} port=${source.port} dbname=${db} user=postgres password=${source.password}`;
    await target.exec(`create subscription ${name} connection '${conninfo}' publication ${name} with (slot_name = ${name})`, db);
  }

  async function count(cluster: Cluster, db: string): Promise<number> {
    const [row] = await cluster.sql(db)<{ n: number }[]>`select count(*)::int as n from t`;
    return row?.n ?? -1;
  }

  async function health(db: string, options: Partial<typeof OPTIONS> = {}): Promise<ReplicationHealth> {
    return checkReplicationHealth(source.sql(db), target.sql(db), replicationName(db), { ...OPTIONS, ...options });
  }

  /** Polls the health check until it reports a problem. */
  async function problemOf(db: string, options: Partial<typeof OPTIONS> = {}, timeoutMs = 20_000): Promise<ReplicationHealth> {
    let last: ReplicationHealth | undefined;
    await eventually(`a problem is reported for ${db}`, async () => (last = await health(db, options)).problem !== null, timeoutMs);
    return last as ReplicationHealth;
  }

  /** Inserts id 5000 on the destination, then ids 5000 and 5001 in one transaction on the source. */
  async function conflict(db: string): Promise<void> {
    await target.exec('insert into t values (5000)', db);
    await source.sql(db).begin((tx) => tx`insert into t values (5000), (5001)`);
  }

  async function restart(cluster: Cluster, serverOptions: string[] = []): Promise<void> {
    const pgCtl = join(binariesFor(cluster.major), 'pg_ctl');
    const args = ['restart', '-D', cluster.dataDir, '-l', cluster.logFile, '-m', 'fast', '-w', '-t', '60'];
    if (serverOptions.length > 0) args.push('-o', serverOptions.join(' '));
    const [file, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', pgCtl, ...args]] : [pgCtl, args];
    await run(file, argv);
  }

  async function dropReplication(db: string): Promise<void> {
    const name = replicationName(db);
    await target.exec(`alter subscription ${name} disable; alter subscription ${name} set (slot_name = none); drop subscription ${name}`, db);
    await eventually(`the slot ${name} is idle`, async () =>
      (await source.sql()`select 1 from pg_replication_slots where slot_name = ${name} and active`).length === 0,
    );
    await source.sql()`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = ${name}`;
  }

  function job(db: string): DatabaseJob {
    return {
      dbname: db,
      sourceDbname: db,
      replicationName: replicationName(db),
      tables: null,
      source: { sql: source.sql(db), side: 'source', database: db },
      target: { sql: target.sql(db), side: 'target', database: db },
      sourceConfig: { ...source.fields(db), sslmode: 'disable' } as unknown as DatabaseJob['sourceConfig'],
      redactor: new Redactor([source.password]),
      emit: () => undefined,
      jobs: 1,
      budget: new Budget(1),
      pollIntervalMs: 100,
      maxLagBytes: 1024 ** 3,
      syncTimeoutMs: 120_000,
    };
  }

  describe('an apply conflict', () => {
    it('is reported within seconds, naming the duplicate key and the SKIP that would pass it', async () => {
      const name = await replicated('clash');
      expect((await health('clash')).problem).toBeNull();
      const started = Date.now();
      await conflict('clash');
      const report = await problemOf('clash');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(report.errorCount).toBeGreaterThan(0);
      expect(report.problem?.message).toContain(name);
      expect(report.problem?.message).toContain('duplicate key value violates unique constraint "t_pkey"');
      expect(report.problem?.message).toContain('Key (id)=(5000) already exists');
      expect(report.problem?.hint).toMatch(/Remove the conflicting row from public\.t on the destination/);
      expect(report.problem?.hint).toMatch(new RegExp(`ALTER SUBSCRIPTION "${name}" SKIP \\(lsn = '[0-9A-F]+/[0-9A-F]+'\\)`));
    });

    it('is still reported without a readable server log, with a hint that says where to look', async () => {
      await restart(target, ['-c logging_collector=off']);
      const [logfile] = await target.sql('clash')<{ path: string | null }[]>`select pg_current_logfile() as path`;
      expect(logfile?.path).toBeNull();
      const report = await problemOf('clash');
      expect(report.problem?.message).toMatch(/dlh_mig_clash keeps failing to apply changes/);
      expect(report.problem?.hint).toMatch(/destination server's log/);
      expect(report.problem?.hint).toMatch(/remove it and the subscription resumes by itself/);
      expect(report.problem?.hint).toMatch(/ALTER SUBSCRIPTION "dlh_mig_clash" SKIP \(lsn = '<that LSN>'\)/);
    });

    it('is no problem any more once the conflicting row is removed, though the errors stay counted', async () => {
      await target.exec('delete from t where id = 5000', 'clash');
      await eventually('the destination caught up', async () => (await count(target, 'clash')) === 1002);
      const report = await health('clash');
      expect(report.errorCount).toBeGreaterThan(0);
      expect(report.problem).toBeNull();
      await restart(target, ['-c logging_collector=on']); // back to the configuration the other tests expect
      await dropReplication('clash');
    });
  });

  it('says of a change the destination\'s table has no column for that the schema changed on the source, not that a row conflicts', async () => {
    await replicated('drift');
    await source.exec(`alter table t add column note text; insert into t values (6000, 'after the change')`, 'drift');
    const report = await problemOf('drift');
    expect(report.problem?.message).toMatch(/missing replicated column/);
    expect(report.problem?.hint).toMatch(/schema changed on the source/);
    expect(report.problem?.hint).toMatch(/ALTER TABLE/);
    expect(report.problem?.hint).not.toMatch(/conflicting row/);
    await target.exec('alter table t add column note text', 'drift');
    await eventually('the change arrives once the destination has the column', async () => (await count(target, 'drift')) === 1001);
  });

  it('tolerates the errors of a source restart once the destination has caught up', async () => {
    await replicated('restart');
    const baselineErrors = (await health('restart')).errorCount;
    await restart(source);
    await eventually('the source takes writes again', async () => {
      try {
        await source.exec('insert into t select generate_series(1001, 1100)', 'restart');
        return true;
      } catch {
        return false;
      }
    });
    await eventually('the apply worker counted the lost connection', async () => (await health('restart', { baselineErrors })).errorCount > baselineErrors);
    await eventually('the destination caught up', async () => (await count(target, 'restart')) === 1100);
    const report = await health('restart', { baselineErrors });
    expect(report.errorCount).toBeGreaterThan(baselineErrors);
    expect(report.problem).toBeNull();
    expect(report.lagBytes).toBe(0);
    expect(report.lagSeconds).toBe(0);
    await dropReplication('restart');
  });

  describe('a broken link', () => {
    it('reports a slot missing on the source', async () => {
      const name = await replicated('broken');
      await target.exec(`alter subscription ${name} disable`, 'broken');
      await eventually('the walsender left', async () =>
        (await source.sql()`select 1 from pg_replication_slots where slot_name = ${name} and not active`).length === 1,
      );
      await source.sql()`select pg_drop_replication_slot(${name})`;
      await target.exec(`alter subscription ${name} enable`, 'broken');
      const report = await health('broken');
      expect(report.problem?.message).toBe(
        'The replication slot dlh_mig_broken is missing on the source: the subscription dlh_mig_broken cannot follow the source any more',
      );
      expect(report.problem?.hint).toMatch(/migrate it again/);
      expect(report.lagBytes).toBeNull();
    });

    it('reports a disabled subscription', async () => {
      await target.exec('alter subscription dlh_mig_broken disable', 'broken');
      const report = await health('broken');
      expect(report.problem?.message).toMatch(/subscription dlh_mig_broken is disabled on the destination/);
      expect(report.problem?.hint).toMatch(/ALTER SUBSCRIPTION "dlh_mig_broken" ENABLE/);
      await target.exec('alter subscription dlh_mig_broken set (slot_name = none); drop subscription dlh_mig_broken', 'broken');
    });

    it('reports a subscription missing on the destination', async () => {
      const report = await health('broken');
      expect(report.problem?.message).toMatch(/subscription dlh_mig_broken is missing on the destination/);
    });
  });

  describe('a destination held back by a lock', () => {
    let release: (() => Promise<void>) | undefined;

    afterAll(async () => {
      await release?.();
    });

    async function block(db: string): Promise<void> {
      const session = await target.sql(db).reserve();
      await session`begin`;
      await session`lock table t in access exclusive mode`;
      release = async () => {
        await session`commit`;
        session.release();
        release = undefined;
      };
    }

    it('is reported as lag beyond maxLagBytes, in bytes and seconds', async () => {
      await replicated('held');
      await block('held');
      await source.exec('insert into t select generate_series(1001, 1100)', 'held');
      const report = await problemOf('held', { maxLagBytes: 100 });
      expect(report.problem?.message).toMatch(/The destination is .* behind the source on subscription dlh_mig_held \(more than 100 bytes\)/);
      expect(report.problem?.hint).toMatch(/locks/);
      expect(report.lagBytes).toBeGreaterThan(100);
      expect(typeof report.lagSeconds).toBe('number');
      expect(report.lagSeconds).toBeGreaterThan(0);
      expect((await health('held')).problem).toBeNull();
    });

    it('makes waitForCatchUp give up after its timeout, and succeed once released with every row there', async () => {
      const name = replicationName('held');
      const blocked = await waitForCatchUp(source.sql('held'), target.sql('held'), name, { timeoutMs: 2000, pollMs: 100 });
      expect(blocked.caughtUp).toBe(false);
      expect(blocked.waitedMs).toBeGreaterThanOrEqual(2000);
      expect(blocked.appliedLsn).not.toBeNull();
      expect(blocked.appliedLsn).not.toBe(blocked.sourceLsn);

      await release?.();
      const done = await waitForCatchUp(source.sql('held'), target.sql('held'), name, { timeoutMs: 10_000, pollMs: 100 });
      expect(done.caughtUp).toBe(true);
      expect(done.waitedMs).toBeLessThan(5000);
      expect(await count(target, 'held')).toBe(1100);
    });

    it('counts a transaction committed asynchronously just before the wait', async () => {
      const name = replicationName('held');
      for (let id = 2001; id <= 2005; id++) {
        await source.exec(`set synchronous_commit = off; insert into t values (${id})`, 'held');
        const done = await waitForCatchUp(source.sql('held'), target.sql('held'), name, { timeoutMs: 10_000, pollMs: 20 });
        expect(done.caughtUp).toBe(true);
        expect(await count(target, 'held')).toBe(1100 + id - 2000);
      }
      await dropReplication('held');
    });
  });

  describe('waiting for syncing', () => {
    it('fails, rather than waits out its timeout, when an apply conflict persists', async () => {
      const name = await replicated('waiting');
      await conflict('waiting');
      const started = Date.now();
      const failure = await waitUntilSyncing(job('waiting'), name).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ReplicationFailing);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect((failure as Error).message).toContain('duplicate key value violates unique constraint "t_pkey"');

      // The SKIP the hint names lets replication go on without the conflicting transaction.
      const skip = /ALTER SUBSCRIPTION "\w+" SKIP \(lsn = '[0-9A-F]+\/[0-9A-F]+'\)/.exec((failure as ReplicationFailing).problem.hint)?.[0];
      expect(skip).toBeDefined();
      await target.exec(skip as string, 'waiting');
      await source.exec('insert into t values (6000)', 'waiting');
      await eventually('replication goes on', async () => (await count(target, 'waiting')) === 1002);
      const ids = await target.sql('waiting')<{ id: number }[]>`select id from t where id > 1000 order by id`;
      expect(ids.map((r) => r.id)).toEqual([5000, 6000]);
      await dropReplication('waiting');
    });

    it('fails when copying a table keeps failing, naming the table', async () => {
      const db = 'precopied';
      const name = replicationName(db);
      await Promise.all([source.exec(`create database ${db}`), target.exec(`create database ${db}`)]);
      await source.exec('create table t (id int primary key); insert into t select generate_series(1, 1000)', db);
      await target.exec('create table t (id int primary key); insert into t values (7)', db);
      await source.exec(`create publication ${name} for all tables`, db);
      await subscribe(db);
      const started = Date.now();
      const failure = await waitUntilSyncing(job(db), name).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ReplicationFailing);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect((failure as Error).message).toMatch(/Copying the initial rows of subscription dlh_mig_precopied \(t\) failed \d+ times in a row/);
      await dropReplication(db);
    });
  });
});
