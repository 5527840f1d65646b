import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { seed } from './support/fixtures.js';

describe('one migration per destination cluster, and calls that keep to their databases', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    for (const db of ['a', 'b', 'c']) await seed(source, db, 'shop');
    await target.exec('create database altstate');
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('keeps out a second run whose state lives in another destination database', async () => {
    const first = new Migrator({ source: source.uri(), target: target.uri('postgres'), method: 'dump', databases: ['a'] });
    const second = new Migrator({ source: source.uri(), target: target.uri('altstate'), method: 'dump', databases: ['a'] });
    const planned = new Promise<void>((resolve) => first.once('plan', () => resolve()));
    const running = first.migrate();
    await planned;
    const refused = await second.migrate();
    const finished = await running;
    await Promise.all([first.close(), second.close()]);
    expect(refused.isErr() && refused.error.kind).toBe('busy');
    expect(finished._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'a', status: 'done' })]);
  });

  it('releases the lock when a call is rejected for its options', async () => {
    const wrong = new Migrator({ source: source.uri(), target: target.uri(), databases: 'x' } as never);
    const rejected = await wrong.migrate();
    await wrong.close();
    expect(rejected.isErr() && rejected.error.kind).toBe('options');
    const right = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: ['a'] });
    const result = await right.migrate();
    await right.close();
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
  });

  it('stops only the databases it was given, even when forced', async () => {
    const all = new Migrator({ source: source.uri(), target: target.uri(), method: 'replication', databases: ['b', 'c'], pollIntervalMs: 100 });
    expect((await all.migrate())._unsafeUnwrap().databases).toEqual([
      expect.objectContaining({ dbname: 'b', status: 'syncing' }),
      expect.objectContaining({ dbname: 'c', status: 'syncing' }),
    ]);
    await all.close();

    const onlyB = new Migrator({ source: source.uri(), target: target.uri(), databases: ['b'] });
    const stopped = (await onlyB.stop({ force: true }))._unsafeUnwrap();
    await onlyB.close();
    expect(stopped.databases).toEqual([expect.objectContaining({ dbname: 'b', status: 'done' })]);

    const subscriptions = await target.sql()<{ subname: string }[]>`select subname from pg_subscription order by 1`;
    expect(subscriptions.map((s) => s.subname)).toEqual([expect.stringMatching(/^dlh_mig_c_[0-9a-f]+$/)]);
    const observer = new Migrator({ source: source.uri(), target: target.uri(), databases: ['c'] });
    const status = (await observer.status())._unsafeUnwrap();
    expect((await observer.stop())._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'c', status: 'done' })]);
    await observer.close();
    expect(status.databases).toEqual([expect.objectContaining({ dbname: 'c', status: 'syncing' })]);
  });
});
