import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { eventually } from './support/compare.js';
import { recordEvents } from './support/events.js';

/**
 * A source database is often taken by more than one destination: a trial
 * copy next to the real one, or a staging service next to production. Each
 * destination's migration owns its own publication and slot on the source,
 * so one destination's run or stop never touches another's replication.
 */
let source: Cluster;
let a: Cluster;
let b: Cluster;

const replicating = (target: Cluster, dbname: string): Migrator =>
  new Migrator({ source: source.uri(), target: target.uri(), method: 'replication', databases: [dbname], pollIntervalMs: 100 });

/** The slot and publication a destination's subscription streams from, as that destination knows them. */
async function subscriptionOf(target: Cluster, dbname: string): Promise<{ subname: string; slot: string; publications: string[] }> {
  const [row] = await target.sql(dbname)<{ subname: string; slot: string; publications: string[] }[]>`
    select subname::text, subslotname::text as slot, subpublications::text[] as publications from pg_subscription`;
  if (!row) throw new Error(`no subscription in "${dbname}" on the destination`);
  return row;
}

async function sourceObjects(dbname: string): Promise<{ slots: string[]; publications: string[] }> {
  const slots = await source.sql()<{ name: string }[]>`select slot_name::text as name from pg_replication_slots where slot_name like 'dlh\\_mig\\_%' order by 1`;
  const publications = await source.sql(dbname)<{ name: string }[]>`select pubname::text as name from pg_publication where pubname like 'dlh\\_mig\\_%' order by 1`;
  return { slots: slots.map((s) => s.name), publications: publications.map((p) => p.name) };
}

async function systemIdentifier(cluster: Cluster): Promise<string> {
  const [row] = await cluster.sql()<{ id: string }[]>`select system_identifier::text as id from pg_control_system()`;
  return row?.id ?? '';
}

async function arrives(target: Cluster, dbname: string, id: number): Promise<void> {
  await eventually(`row ${id} arrives in "${dbname}" on the destination on port ${target.port}`, async () => {
    const rows = await target.sql(dbname)`select 1 from items where id = ${id}`;
    return rows.length === 1;
  });
}

beforeAll(async () => {
  [source, a, b] = (await startClusters([{ major: 15 }, { major: 15 }, { major: 15 }])) as [Cluster, Cluster, Cluster];
  for (const db of ['shop', 'legacy']) {
    await source.exec(`create database ${db}`);
    await source.exec(`create table items (id int primary key, note text); insert into items select g, md5(g::text) from generate_series(1, 500) g`, db);
  }
});

afterAll(async () => {
  await Promise.all([source?.stop(), a?.stop(), b?.stop()]);
});

describe('a migration an earlier version started, whose record names no replication objects', () => {
  // What such a version left: publication, slot and subscription named after the database, and a record without their name.
  beforeAll(async () => {
    await a.exec('create database legacy');
    await a.exec('create table items (id int primary key, note text)', 'legacy');
    await source.exec('create publication dlh_mig_legacy for all tables', 'legacy');
    await source.exec(`select pg_create_logical_replication_slot('dlh_mig_legacy', 'pgoutput')`, 'legacy');
    await a.exec(
      `create subscription dlh_mig_legacy connection 'host=${source.host} port=${source.port} user=postgres password=${source.password} dbname=legacy'
       publication dlh_mig_legacy with (create_slot = false, slot_name = 'dlh_mig_legacy', copy_data = true)`,
      'legacy',
    );
    await eventually('the earlier version\'s subscription has copied every row', async () => {
      const [row] = await a.sql('legacy')<{ n: number }[]>`select count(*)::int as n from items`;
      const states = await a.sql('legacy')<{ state: string }[]>`select srsubstate::text as state from pg_subscription_rel`;
      return row?.n === 500 && states.every((s) => s.state === 'r');
    });
    const system = await systemIdentifier(source);
    const [sourceDb] = await source.sql()<{ oid: number }[]>`select oid::int from pg_database where datname = 'legacy'`;
    const [targetDb] = await a.sql()<{ oid: number }[]>`select oid::int from pg_database where datname = 'legacy'`;
    await a.exec(`
      create schema datalakehouse_migrate;
      create table datalakehouse_migrate.database_state (
        dbname text primary key,
        method text not null check (method in ('replication', 'pg_dump')),
        status text not null check (status in ('running', 'syncing', 'done', 'failed')),
        error text, fallback_reasons text[] not null default '{}', created_database boolean not null default false,
        started_at timestamptz not null default now(), updated_at timestamptz not null default now(),
        error_kind text, source_system_id text, source_database_oid bigint, target_database_oid bigint,
        apply_errors_baseline bigint not null default 0, replication_rights jsonb, source_dbname text);
      insert into datalakehouse_migrate.database_state
        (dbname, method, status, created_database, source_system_id, source_database_oid, target_database_oid, source_dbname)
      values ('legacy', 'replication', 'syncing', true, '${system}', ${sourceDb?.oid}, ${targetDb?.oid}, 'legacy');`);
  });

  it('reads it as syncing, by the objects named after the database', async () => {
    const m = replicating(a, 'legacy');
    const status = (await m.status())._unsafeUnwrap();
    await m.close();
    expect(status.databases).toEqual([expect.objectContaining({ dbname: 'legacy', status: 'syncing', replicationName: 'dlh_mig_legacy' })]);
  });

  it('resumes it on a re-run, copying nothing again', async () => {
    const m = replicating(a, 'legacy');
    const events = recordEvents(m);
    const status = (await m.migrate())._unsafeUnwrap();
    await m.close();
    expect(status.databases).toEqual([expect.objectContaining({ dbname: 'legacy', status: 'syncing' })]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'database:start', dbname: 'legacy', resumed: true }));
    expect(events.filter((e) => e.type === 'table:copied')).toEqual([]);
    await source.exec(`insert into items values (501, 'after the re-run')`, 'legacy');
    await arrives(a, 'legacy', 501);
    expect(await sourceObjects('legacy')).toEqual({ slots: ['dlh_mig_legacy'], publications: ['dlh_mig_legacy'] });
  });

  it('stops it, removing the objects named after the database on both sides', async () => {
    // A table copy the server made leaves a slot named by the subscription's OID and the subscriber's system identifier;
    // another destination's subscription may well have the same OID, and its slot is not this migration's to drop.
    const [sub] = await a.sql('legacy')<{ oid: number }[]>`select oid::int from pg_subscription where subname = 'dlh_mig_legacy'`;
    const [ofA, ofB] = await Promise.all([systemIdentifier(a), systemIdentifier(b)]);
    const [mine, theirs] = [`pg_${sub?.oid}_sync_99999_${ofA}`, `pg_${sub?.oid}_sync_99999_${ofB}`];
    for (const slot of [mine, theirs]) await source.sql('legacy')`select pg_create_logical_replication_slot(${slot}, 'pgoutput')`;

    const m = replicating(a, 'legacy');
    const stopped = await m.stop();
    await m.close();
    expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
    expect(stopped._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'legacy', status: 'done' })]);
    expect(await sourceObjects('legacy')).toEqual({ slots: [], publications: [] });
    expect(await a.sql('legacy')`select subname from pg_subscription`).toEqual([]);
    const syncSlots = await source.sql()<{ name: string }[]>`select slot_name::text as name from pg_replication_slots where slot_name like 'pg\\_%\\_sync\\_%'`;
    expect(syncSlots.map((s) => s.name)).toEqual([theirs]);
    await source.sql()`select pg_drop_replication_slot(${theirs})`;
  });
});

describe('two destinations replicating the same source database under the same name', () => {
  let intoA: Migrator;
  let intoB: Migrator;

  beforeAll(() => {
    intoA = replicating(a, 'shop');
    intoB = replicating(b, 'shop');
  });

  afterAll(async () => {
    await Promise.all([intoA?.close(), intoB?.close()]);
  });

  it('brings both to syncing, each streaming from a slot and publication of its own', async () => {
    expect((await intoA.migrate())._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'shop', status: 'syncing' })]);
    expect((await intoB.migrate())._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'shop', status: 'syncing' })]);

    const [ofA, ofB] = await Promise.all([subscriptionOf(a, 'shop'), subscriptionOf(b, 'shop')]);
    expect(ofA.slot).not.toBe(ofB.slot);
    expect(ofA.publications).not.toEqual(ofB.publications);
    for (const name of [ofA.slot, ofB.slot]) expect(name).toMatch(/^dlh_mig_shop_[a-z0-9_]+$/);
    expect(await sourceObjects('shop')).toEqual({ slots: [ofA.slot, ofB.slot].sort(), publications: [ofA.slot, ofB.slot].sort() });

    // The status names them, so an operator can tell the source's slots apart.
    const [statusA, statusB] = await Promise.all([intoA.status(), intoB.status()]);
    expect(statusA._unsafeUnwrap().databases[0]).toMatchObject({ status: 'syncing', replicationName: ofA.subname });
    expect(statusB._unsafeUnwrap().databases[0]).toMatchObject({ status: 'syncing', replicationName: ofB.subname });
  });

  it('carries a row written on the source afterwards into both', async () => {
    await source.exec(`insert into items values (1001, 'for both')`, 'shop');
    await Promise.all([arrives(a, 'shop', 1001), arrives(b, 'shop', 1001)]);
    const [statusA, statusB] = await Promise.all([intoA.status(), intoB.status()]);
    expect(statusA._unsafeUnwrap().databases[0]?.status).toBe('syncing');
    expect(statusB._unsafeUnwrap().databases[0]?.status).toBe('syncing');
  });

  it('keeps the other destination streaming when one of them stops', async () => {
    const ofA = await subscriptionOf(a, 'shop');
    const stopped = await intoB.stop();
    expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
    expect(stopped._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'shop', status: 'done' })]);

    expect(await sourceObjects('shop')).toEqual({ slots: [ofA.slot], publications: ofA.publications });
    await source.exec(`insert into items values (1002, 'for the one still streaming')`, 'shop');
    await arrives(a, 'shop', 1002);
    expect((await intoA.status())._unsafeUnwrap().databases[0]?.status).toBe('syncing');
  });

  it('leaves nothing of the migration on the source once the last destination stops', async () => {
    const stopped = await intoA.stop();
    expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
    expect(stopped._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'shop', status: 'done' })]);
    expect(await sourceObjects('shop')).toEqual({ slots: [], publications: [] });
    const [items] = await a.sql('shop')<{ n: number }[]>`select count(*)::int as n from items`;
    expect(items?.n).toBe(502);
  });
});
