import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { Migrator, toServiceResponse, type CutoverEvent } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { eventually, fingerprint } from './support/compare.js';
import { seed } from './support/fixtures.js';

/** A database copied into a destination database of another name, as a test harness clones `shop` into `shop_test_42`. */
describe('copying a database under another name', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    await seed(source, 'shop', 'shop');
    await seed(source, 'archive', 'archive');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('dumps it into the new name next to a database keeping its own, and names it so everywhere', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: ['archive', { source: 'shop', target: 'shop_test_42' }] });
    const report = (await migrator.preflight())._unsafeUnwrap();
    expect(report.databases.find((d) => d.dbname === 'shop_test_42')).toMatchObject({ source: 'shop', action: 'create' });
    const status = (await migrator.migrate())._unsafeUnwrap();
    expect(toServiceResponse(status).migration_detail).toEqual(
      expect.arrayContaining([
        { dbname: 'archive', error: null, method: 'pg_dump', status: 'done' },
        { dbname: 'shop_test_42', error: null, method: 'pg_dump', status: 'done' },
      ]),
    );
    expect(status.databases.find((d) => d.dbname === 'shop_test_42')?.source).toBe('shop');
    expect(await target.sql()`select 1 from pg_database where datname = 'shop'`).toEqual([]);
    expect(await fingerprint(target.sql('shop_test_42'))).toEqual(await fingerprint(source.sql('shop')));
    const verified = (await migrator.verify())._unsafeUnwrap();
    expect(verified.ok).toBe(true);
    // Run again: kept, not copied twice.
    expect((await migrator.migrate())._unsafeUnwrap().databases.find((d) => d.dbname === 'shop_test_42')?.status).toBe('done');
    await migrator.close();
  });

  it('replicates the same source database into another name, and stop() removes its replication objects only', async () => {
    const options = { source: source.uri(), target: target.uri(), method: 'replication' as const, databases: [{ source: 'shop', target: 'shop_live' }], pollIntervalMs: 100 };
    const migrator = new Migrator(options);
    const status = (await migrator.migrate())._unsafeUnwrap();
    expect(status.databases[0]).toMatchObject({ dbname: 'shop_live', source: 'shop', method: 'replication', status: 'syncing' });
    await source.sql('shop')`update customers set name = 'renamed on the way' where id = 1`;
    await eventually('the change reaches shop_live', async () => {
      const [row] = await target.sql('shop_live')<{ name: string }[]>`select name from customers where id = 1`;
      return row?.name === 'renamed on the way';
    });
    // Another process with the same options reads and stops it.
    const other = new Migrator(options);
    expect((await other.status())._unsafeUnwrap().databases[0]).toMatchObject({ dbname: 'shop_live', status: 'syncing' });
    expect((await other.stop())._unsafeUnwrap().databases[0]?.status).toBe('done');
    await Promise.all([migrator.close(), other.close()]);
    expect(await source.sql('shop')`select slot_name from pg_replication_slots`).toEqual([]);
    expect(await source.sql('shop')`select pubname from pg_publication`).toEqual([]);
    expect(await fingerprint(target.sql('shop_live'))).toEqual(await fingerprint(source.sql('shop')));
  });

  it('reports a database refused under its new name as failed, to this run and to another process alike', async () => {
    await target.exec('create database shop_occupied');
    await target.exec('create table someone_elses (id int)', 'shop_occupied');
    const options = { source: source.uri(), target: target.uri(), method: 'dump' as const, databases: [{ source: 'shop', target: 'shop_occupied' }] };
    const migrator = new Migrator(options);
    const expected = { dbname: 'shop_occupied', source: 'shop', status: 'failed', errorKind: 'target-not-empty' };
    try {
      expect((await migrator.migrate())._unsafeUnwrap().databases).toEqual([expect.objectContaining(expected)]);
    } finally {
      await migrator.close();
    }
    const another = new Migrator(options);
    try {
      expect((await another.status())._unsafeUnwrap().databases).toEqual([expect.objectContaining(expected)]);
    } finally {
      await another.close();
    }
  });

  it('cuts over a database replicated under another name, making its source read-only and not a source database of the new name', async () => {
    // A source database that happens to bear the destination's name: nothing of the migration's.
    await source.exec('create database shop_cut');
    await source.exec('create table note (body text)', 'shop_cut');
    const options = { source: source.uri(), target: target.uri(), method: 'replication' as const, databases: [{ source: 'shop', target: 'shop_cut' }], pollIntervalMs: 100 };
    const migrator = new Migrator(options);
    expect((await migrator.migrate())._unsafeUnwrap().databases[0]).toMatchObject({ dbname: 'shop_cut', source: 'shop', status: 'syncing' });
    const events: CutoverEvent[] = [];
    migrator.on('cutover', (event) => events.push(event));
    const result = await migrator.cutover({ readOnlySource: true });
    await migrator.close();
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(result._unsafeUnwrap().databases[0]).toMatchObject({ dbname: 'shop_cut', status: 'done' });
    expect(events.map((e) => e.dbname)).toEqual(['shop_cut', 'shop_cut', 'shop_cut', 'shop_cut', 'shop_cut']);
    expect(events.find((e) => e.step === 'read-only')?.detail).toContain('new sessions of "shop" on the source are read-only');
    expect(events.find((e) => e.step === 'stopped')?.detail).toContain('"shop" on the source stays read-only');
    const onNewSession = async (database: string, statement: string): Promise<unknown> => {
      const sql = postgres(source.uri(database), { max: 1, onnotice: () => undefined });
      try {
        return await sql.unsafe(statement);
      } finally {
        await sql.end({ timeout: 1 });
      }
    };
    await expect(onNewSession('shop', `update customers set name = 'after the cutover' where id = 1`)).rejects.toThrow(/read-only transaction/);
    await onNewSession('shop_cut', `insert into note values ('still mine')`);
    await source.exec('alter database shop reset default_transaction_read_only');
  });

  it('refuses two databases copied into one name', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['archive', { source: 'shop', target: 'archive' }] });
    const result = await migrator.preflight();
    await migrator.close();
    expect(result.isErr() && result.error).toMatchObject({ kind: 'options', message: expect.stringContaining('copies into "archive"') });
  });
});
