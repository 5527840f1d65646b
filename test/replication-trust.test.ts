import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { eventually } from './support/compare.js';
import { recordEvents } from './support/events.js';

/**
 * A replication is `syncing` only while it really follows the source, and a
 * stop is `done` only once the destination has everything the source had.
 */
describe('replication that is trusted only while it holds', () => {
  let source: Cluster;
  let target: Cluster;
  const migrator = (databases: string[], extra: Partial<ConstructorParameters<typeof Migrator>[0]> = {}): Migrator =>
    new Migrator({ source: source.uri(), target: target.uri(), method: 'replication', databases, pollIntervalMs: 100, ...extra });

  beforeAll(async () => {
    // A failing apply worker is restarted after wal_retrieve_retry_interval: 5 s by default.
    [source, target] = (await startClusters([{ major: 15 }, { major: 15, settings: { wal_retrieve_retry_interval: "'500ms'" } }])) as [Cluster, Cluster];
    for (const db of ['conflicted', 'behind', 'forced', 'altered', 'resumed']) {
      await source.exec(`create database ${db}`);
      await source.exec('create table items (id int primary key, note text); insert into items select g, md5(g::text) from generate_series(1, 1000) g', db);
    }
    const m = migrator(['conflicted', 'behind', 'forced', 'altered', 'resumed']);
    const status = (await m.migrate())._unsafeUnwrap();
    await m.close();
    expect(status.databases.map((d) => d.status)).toEqual(['syncing', 'syncing', 'syncing', 'syncing', 'syncing']);
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('reports a replication whose apply worker keeps failing as failed, with the cause, and stop() refuses to call it done', async () => {
    await target.exec(`insert into items values (5000, 'written on the destination')`, 'conflicted');
    await source.exec(`insert into items values (5000, 'from the source'), (5001, 'from the source')`, 'conflicted');

    const observer = migrator(['conflicted']);
    await eventually('status reports the conflict', async () => {
      const status = (await observer.status())._unsafeUnwrap();
      return status.databases[0]?.status === 'failed';
    });
    const status = (await observer.status())._unsafeUnwrap();
    expect(status.databases[0]).toMatchObject({ dbname: 'conflicted', status: 'failed', errorKind: 'replication' });
    expect(status.status).toBe('failed');

    const stopped = await observer.stop();
    await observer.close();
    expect(stopped.isErr() && stopped.error.kind).toBe('unsafe-stop');
    const subscriptions = await target.sql()`select subname from pg_subscription where subname like 'dlh\\_mig\\_conflicted\\_%'`;
    expect(subscriptions).toHaveLength(1);
  });

  it('marks a failing replication that stop() ends by force so that no re-run drops its destination database', async () => {
    const m = migrator(['conflicted']);
    const forced = await m.stop({ force: true, timeoutMs: 1000 });
    expect(forced.isOk(), JSON.stringify(forced)).toBe(true);
    expect(forced._unsafeUnwrap().databases).toEqual([
      expect.objectContaining({ dbname: 'conflicted', status: 'failed', errorKind: 'unsafe-stop', error: expect.stringContaining('Stopped by force') }),
    ]);
    expect(await target.sql()`select subname from pg_subscription where subname like 'dlh\\_mig\\_conflicted\\_%'`).toEqual([]);
    expect(await source.sql()`select slot_name from pg_replication_slots where slot_name like 'dlh\\_mig\\_conflicted\\_%'`).toEqual([]);

    // The user kept what the destination holds, and may have switched to it: however often migrate() runs, it is left as it is.
    for (const run of [1, 2]) {
      const again = (await m.migrate())._unsafeUnwrap();
      expect(again.databases, `run ${run}`).toEqual([
        expect.objectContaining({ dbname: 'conflicted', status: 'failed', errorKind: 'unsafe-stop', error: expect.stringContaining('stopped by force') }),
      ]);
    }
    await m.close();
    expect(await target.sql('conflicted')`select note from items where id = 5000`).toEqual([{ note: 'written on the destination' }]);
  });

  it('stop() waits for a destination that is behind, and is done only with every row there', async () => {
    const blocker = await target.sql('behind').reserve();
    await blocker`begin`;
    await blocker`lock table items in access exclusive mode`;
    await source.exec(`insert into items select g, 'late' from generate_series(1001, 1100) g`, 'behind');
    setTimeout(() => void blocker`commit`.then(() => blocker.release()), 1500);

    const m = migrator(['behind']);
    const events = recordEvents(m);
    const stopped = await m.stop();
    await m.close();
    expect(events.filter((e) => e.type === 'catch-up').map((e) => e.type === 'catch-up' && e.phase)).toEqual(['waiting', 'caught-up']);
    expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
    expect(stopped._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'behind', status: 'done' })]);
    const [count] = await target.sql('behind')<{ n: number }[]>`select count(*)::int as n from items`;
    expect(count?.n).toBe(1100);
  });

  it('stop() refuses, dropping nothing, when the destination cannot catch up in time; forced, it marks the database failed', async () => {
    const blocker = await target.sql('forced').reserve();
    await blocker`begin`;
    await blocker`lock table items in access exclusive mode`;
    try {
      await source.exec(`insert into items select g, 'late' from generate_series(1001, 1100) g`, 'forced');
      const m = migrator(['forced']);
      const refused = await m.stop({ timeoutMs: 1500 });
      expect(refused.isErr() && refused.error).toMatchObject({ kind: 'unsafe-stop', message: expect.stringContaining('did not catch up') });
      const subscriptions = await target.sql()`select subname from pg_subscription where subname like 'dlh\\_mig\\_forced\\_%'`;
      expect(subscriptions).toHaveLength(1);

      const forced = await m.stop({ timeoutMs: 1500, force: true });
      await m.close();
      expect(forced._unsafeUnwrap().databases).toEqual([
        expect.objectContaining({ dbname: 'forced', status: 'failed', errorKind: 'unsafe-stop', error: expect.stringContaining('before the destination caught up') }),
      ]);
    } finally {
      await blocker`rollback`;
      blocker.release();
    }
    const slots = await source.sql()`select slot_name from pg_replication_slots where slot_name like 'dlh\\_mig\\_forced\\_%'`;
    expect(slots).toEqual([]);
  });

  it('keeps a database stopped by force before it caught up from being dropped, however often migrate() runs again', async () => {
    const m = migrator(['forced']);
    for (const run of [1, 2]) {
      const again = (await m.migrate())._unsafeUnwrap();
      expect(again.databases, `run ${run}`).toEqual([
        expect.objectContaining({ dbname: 'forced', status: 'failed', errorKind: 'unsafe-stop', error: expect.stringContaining('stopped by force') }),
      ]);
    }
    await m.close();
    const [count] = await target.sql('forced')<{ n: number }[]>`select count(*)::int as n from items`;
    expect(count?.n).toBeGreaterThanOrEqual(1000);
  });

  it('keeps a synced database whose resuming run died, then stopped by force, from being dropped by a re-run', async () => {
    // A re-run resumes the replication, recording it running again, and waits for it to catch up: here it cannot.
    const blocker = await target.sql('resumed').reserve();
    await blocker`begin`;
    await blocker`lock table items in access exclusive mode`;
    await source.exec(`insert into items select g, 'late' from generate_series(1001, 1100) g`, 'resumed');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./support/migrate-child.ts', import.meta.url))], {
      env: { ...process.env, SOURCE_URI: source.uri(), TARGET_URI: target.uri(), DATABASE: 'resumed' },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await eventually('the re-run records the replication running', async () => {
        const [row] = await target.sql()<{ status: string }[]>`select status from datalakehouse_migrate.database_state where dbname = 'resumed'`;
        return row?.status === 'running';
      });
    } finally {
      child.kill('SIGKILL');
      await exited;
      await blocker`rollback`;
      blocker.release();
    }

    const m = migrator(['resumed']);
    const forced = await m.stop({ force: true, timeoutMs: 1000 });
    expect(forced.isOk(), JSON.stringify(forced)).toBe(true);
    expect(forced._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'resumed', status: 'failed', errorKind: 'unsafe-stop' })]);
    await target.exec(`insert into items values (9000, 'written after the switch')`, 'resumed');
    const again = (await m.migrate())._unsafeUnwrap();
    await m.close();
    expect(again.databases).toEqual([expect.objectContaining({ dbname: 'resumed', status: 'failed', errorKind: 'unsafe-stop' })]);
    expect(await target.sql('resumed')`select note from items where id = 9000`).toEqual([{ note: 'written after the switch' }]);
  });

  it('reports a schema change on the source that the destination cannot apply, rather than staying syncing', async () => {
    await source.exec(`alter table items add column added text; insert into items values (2000, 'new', 'only on the source')`, 'altered');
    const observer = migrator(['altered']);
    await eventually('status reports the failing apply', async () => (await observer.status())._unsafeUnwrap().databases[0]?.status === 'failed');
    const status = (await observer.status())._unsafeUnwrap();
    await observer.close();
    expect(status.databases[0]).toMatchObject({ dbname: 'altered', status: 'failed', errorKind: 'replication', error: expect.stringContaining('dlh_mig_altered') });
  });
});
