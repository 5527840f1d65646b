import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, toServiceResponse } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { fingerprint } from './support/compare.js';
import { recordEvents } from './support/events.js';
import { seed } from './support/fixtures.js';

describe('a source with wal_level = replica', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15, walLevel: 'replica' }, { major: 15 }])) as [Cluster, Cluster];
    await seed(source, 'shop', 'shop');
    await seed(source, 'inventory', 'shop');
    await source.exec(`create database collated template template0 encoding 'UTF8' locale_provider icu icu_locale 'de-DE'`);
    await source.exec(`create table words (w text primary key); insert into words values ('Äpfel'), ('Zebra'), ('apfel')`, 'collated');
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('is reported by preflight with the fix, for self-hosted servers and for RDS', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop'] });
    const report = (await migrator.preflight())._unsafeUnwrap();
    await migrator.close();
    const check = report.checks.find((c) => c.id === 'wal-level');
    expect(check).toMatchObject({ status: 'warn', blocks: 'replication', side: 'source' });
    expect(check?.hint).toContain('ALTER SYSTEM SET wal_level = logical');
    expect(check?.hint).toContain('rds.logical_replication = 1');
    expect(report.databases).toEqual([
      { dbname: 'shop', method: 'pg_dump', action: 'create', rights: null, replicationBlockers: [expect.stringContaining('wal_level is replica')], blockers: [] },
    ]);
  });

  it('makes auto fall back to a dump for each database, saying why', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop'] });
    const events = recordEvents(migrator);
    const status = (await migrator.migrate())._unsafeUnwrap();
    await migrator.close();
    expect(toServiceResponse(status).migration_detail).toEqual([{ dbname: 'shop', error: null, method: 'pg_dump', status: 'done' }]);
    expect(status.databases[0]?.fallbackReasons).toEqual([expect.stringContaining('wal_level')]);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'database:start', dbname: 'shop', method: 'pg_dump', fallbackReasons: [expect.stringContaining('wal_level')] }),
    );
    const [expected, actual] = await Promise.all([fingerprint(source.sql('shop')), fingerprint(target.sql('shop'))]);
    expect(actual).toEqual(expected);
  });

  it('fails a database under method replication with the reasons, and stop() refuses until forced', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['inventory'], method: 'replication' });
    const status = (await migrator.migrate())._unsafeUnwrap();
    expect(status.status).toBe('failed');
    expect(status.databases).toContainEqual(
      expect.objectContaining({ dbname: 'inventory', method: 'replication', status: 'failed', error: expect.stringContaining('wal_level') }),
    );
    const databases = await target.sql()`select 1 from pg_database where datname = 'inventory'`;
    expect(databases).toEqual([]);

    const refused = await migrator.stop();
    expect(refused._unsafeUnwrapErr()).toMatchObject({ kind: 'unsafe-stop', hint: expect.stringContaining('force') });
    const forced = await migrator.stop({ force: true });
    expect(forced.isOk(), JSON.stringify(forced)).toBe(true);
    await migrator.close();
  });

  it("creates each database with the source's encoding and ICU locale, so text sorts the same", async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['collated'] });
    const status = (await migrator.migrate())._unsafeUnwrap();
    await migrator.close();
    expect(status.databases).toContainEqual(expect.objectContaining({ dbname: 'collated', status: 'done' }));
    const [db] = await target.sql()`
      select pg_encoding_to_char(encoding) as encoding, datlocprovider as provider, daticulocale as locale
      from pg_database where datname = 'collated'`;
    expect(db).toEqual({ encoding: 'UTF8', provider: 'i', locale: 'de-DE' });
    const sorted = async (cluster: Cluster): Promise<string[]> =>
      (await cluster.sql('collated')<{ w: string }[]>`select w from words order by w`).map((r) => r.w);
    expect(await sorted(target)).toEqual(await sorted(source));
  });
});
