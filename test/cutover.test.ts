import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { Migrator, type CutoverEvent } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { abortOnceSubscriptionGoes } from './support/subscription-watch.js';
import { eventually, fingerprint } from './support/compare.js';

describe('cutover()', () => {
  let source: Cluster;
  let target: Cluster;
  const options = (databases: string[]) => ({ source: source.uri(), target: target.uri(), databases, method: 'replication' as const, pollIntervalMs: 100 });

  /** A fresh session on the source database, as an application reconnecting would open. */
  async function onNewSession<T>(run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    const sql = postgres(source.uri('shop'), { max: 1, onnotice: () => undefined });
    try {
      return await run(sql);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    await source.exec('create database shop');
    await source.exec('create database later');
    await source.exec(
      `create table item (id serial primary key, name text not null, picture oid);
       insert into item (name) select 'i' || g from generate_series(1, 2000) g;
       update item set picture = lo_from_bytea(0, 'pic') where id = 1;`,
      'shop',
    );
    const migrator = new Migrator(options(['shop']));
    expect((await migrator.migrate())._unsafeUnwrap().databases[0]?.status).toBe('syncing');
    await migrator.close();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('refuses, as stop() does, a database name neither the source nor the migration has, changing nothing', async () => {
    const migrator = new Migrator(options(['shop', 'nosuch']));
    try {
      for (const result of [await migrator.cutover({ readOnlySource: true }), await migrator.stop()]) {
        expect(result.isErr() && result.error).toMatchObject({ kind: 'options', message: expect.stringContaining('"nosuch"') });
      }
    } finally {
      await migrator.close();
    }
    await onNewSession((sql) => sql`insert into item (name) values ('still writable')`);
    expect(await target.sql('shop')`select subname from pg_subscription`).toHaveLength(1);
  });

  it('refuses while a selected database is not ready, changing nothing', async () => {
    const migrator = new Migrator(options(['shop', 'later']));
    const result = await migrator.cutover({ readOnlySource: true });
    await migrator.close();
    expect(result.isErr() && result.error).toMatchObject({ kind: 'unsafe-stop', message: expect.stringContaining('later (replication pending)') });
    await onNewSession((sql) => sql`insert into item (name) values ('still writable')`);
    expect(await target.sql('shop')`select subname from pg_subscription`).toHaveLength(1);
  });

  it('leaves replication running and the source writable when verification finds a difference', async () => {
    await target.sql('shop')`insert into item (id, name) values (100000, 'only on the destination')`;
    const migrator = new Migrator(options(['shop']));
    const steps: CutoverEvent['step'][] = [];
    migrator.on('cutover', (event) => steps.push(event.step));
    const result = await migrator.cutover({ readOnlySource: true });
    await migrator.close();
    expect(result.isErr() && result.error).toMatchObject({ kind: 'verification', message: expect.stringContaining('item') });
    expect(steps).toEqual(['read-only', 'caught-up', 'synced', 'restored']);
    // Writable again, and still replicating.
    await onNewSession((sql) => sql`insert into item (name) values ('after the failed cutover')`);
    await eventually('the row written after the failed cutover arrives', async () => {
      const rows = await target.sql('shop')`select 1 from item where name = 'after the failed cutover'`;
      return rows.length === 1;
    });
    await target.sql('shop')`delete from item where id = 100000`;
  });

  for (const at of ['read-only', 'caught-up', 'synced'] as const) {
    it(`cancelled after the step ${at}, makes the source writable again and keeps replicating`, async () => {
      const controller = new AbortController();
      const migrator = new Migrator(options(['shop']));
      const steps: CutoverEvent['step'][] = [];
      migrator.on('cutover', (event) => {
        steps.push(event.step);
        if (event.step === at) controller.abort();
      });
      const result = await migrator.cutover({ readOnlySource: true, signal: controller.signal });
      await migrator.close();
      expect(result.isErr() && result.error.kind).toBe('cancelled');
      expect(steps.at(-1)).toBe('restored');
      await onNewSession((sql) => sql`insert into item (name) values (${`after the cutover cancelled at ${at}`})`);
      await eventually('the row written after the cancelled cutover arrives', async () => {
        const rows = await target.sql('shop')`select 1 from item where name = ${`after the cutover cancelled at ${at}`}`;
        return rows.length === 1;
      });
    });
  }

  it('says the source is still read-only, and the statement that undoes it, when the source is gone before it could be restored', async () => {
    const controller = new AbortController();
    const migrator = new Migrator(options(['shop']));
    const steps: CutoverEvent['step'][] = [];
    migrator.on('cutover', (event) => {
      steps.push(event.step);
      if (event.step === 'caught-up') {
        source.stopServerNow('immediate');
        controller.abort();
      }
    });
    const result = await migrator.cutover({ readOnlySource: true, signal: controller.signal });
    await migrator.close();
    await source.startServer();
    expect(steps).toEqual(['read-only', 'caught-up']);
    const statement = 'ALTER DATABASE shop RESET default_transaction_read_only';
    expect(result.isErr() && result.error).toMatchObject({
      kind: 'cancelled',
      message: expect.stringContaining('"shop" on the source is still read-only'),
      hint: expect.stringContaining(statement),
    });
    await expect(onNewSession((sql) => sql`insert into item (name) values ('refused')`)).rejects.toThrow(/read-only transaction/);
    await source.exec(statement);
    await onNewSession((sql) => sql`insert into item (name) values ('after the source came back')`);
    await eventually('the row written once the source came back arrives', async () => {
      const rows = await target.sql('shop')`select 1 from item where name = 'after the source came back'`;
      return rows.length === 1;
    });
  });

  it('switches over: read-only source, caught up, sequences and large objects synced, verified, replication stopped; cancelled once it began removing the subscription, it finishes', async () => {
    await source.exec(`insert into item (name) select 'late' || g from generate_series(1, 100) g; select lo_put(picture, 0, 'PIC') from item where id = 1;`, 'shop');
    const migrator = new Migrator(options(['shop']));
    const steps: CutoverEvent['step'][] = [];
    migrator.on('cutover', (event) => steps.push(event.step));
    // Past the subscription's removal, a cutover half done would leave a read-only source and a destination following nothing.
    const controller = new AbortController();
    const watching = abortOnceSubscriptionGoes(target.sql('shop'), controller);
    const result = await migrator.cutover({ readOnlySource: true, signal: controller.signal });
    await watching;
    await migrator.close();
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(result._unsafeUnwrap().databases[0]).toMatchObject({ dbname: 'shop', status: 'done' });
    expect(steps).toEqual(['read-only', 'caught-up', 'synced', 'verified', 'stopped']);
    expect(await fingerprint(target.sql('shop'))).toEqual(await fingerprint(source.sql('shop')));
    await expect(onNewSession((sql) => sql`insert into item (name) values ('refused')`)).rejects.toThrow(/read-only transaction/);
    expect(await source.sql('shop')`select slot_name from pg_replication_slots`).toEqual([]);
    expect(await source.sql('shop')`select pubname from pg_publication`).toEqual([]);
    expect(await target.sql('shop')`select subname from pg_subscription`).toEqual([]);
  });
});
