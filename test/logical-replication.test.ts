import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, replicationName, toServiceResponse } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { eventually, fingerprint } from './support/compare.js';
import { recordEvents } from './support/events.js';
import { seed } from './support/fixtures.js';

const run = promisify(execFile);

describe('logical replication from PostgreSQL 15 to 17', () => {
  let source: Cluster;
  let target: Cluster;
  let migrator: Migrator;
  const options = (): ConstructorParameters<typeof Migrator>[0] => ({
    source: source.fields(),
    target: target.uri(),
    databases: ['shop', 'archive'],
    pollIntervalMs: 100,
  });

  beforeAll(async () => {
    // A password that needs quoting in a URI, a libpq connection string and a passfile alike.
    const password = `it's a p@ss:w\\or d/"x"?&=`;
    [source, target] = (await startClusters([{ major: 15, password }, { major: 17 }])) as [Cluster, Cluster];
    await seed(source, 'shop', 'shop');
    await seed(source, 'archive', 'archive');
    migrator = new Migrator(options());
  });

  afterAll(async () => {
    await migrator?.close();
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('replicates a database that can, and dumps one that cannot, saying why', async () => {
    const events = recordEvents(migrator);
    const result = await migrator.migrate();
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(toServiceResponse(result._unsafeUnwrap())).toEqual({
      migration: { error: null, method: '', status: 'done' },
      migration_detail: [
        { dbname: 'archive', error: null, method: 'pg_dump', status: 'done' },
        { dbname: 'shop', error: null, method: 'replication', status: 'syncing' },
      ],
    });
    const archiveStart = events.find((e) => e.type === 'database:start' && e.dbname === 'archive');
    expect(archiveStart).toMatchObject({ method: 'pg_dump' });
    const reasons = archiveStart?.type === 'database:start' ? archiveStart.fallbackReasons.join('\n') : '';
    expect(reasons).toMatch(/public\.events/);
    // Large objects no longer keep a database from replicating: they are copied, and brought level at stop().
    expect(reasons).not.toMatch(/large object/);
    expect(reasons).toMatch(/unlogged/);
    expect(events).toContainEqual(expect.objectContaining({ type: 'replication:state', dbname: 'shop', state: 'syncing' }));
  });

  it('carries the lag of a replicated database, in bytes and seconds, in its status', async () => {
    const status = (await migrator.status())._unsafeUnwrap();
    const shop = status.databases.find((d) => d.dbname === 'shop');
    expect(shop).toMatchObject({ status: 'syncing', lag: { bytes: expect.any(Number), seconds: expect.any(Number) } });
    expect(status.databases.find((d) => d.dbname === 'archive')?.lag).toBeUndefined();
  });

  it('is syncing only with every table ready and its rows there', async () => {
    const states = await target.sql('shop')<{ state: string }[]>`select srsubstate::text as state from pg_subscription_rel`;
    expect(states.map((s) => s.state)).toEqual(['r', 'r']);
    const [expected, actual] = await Promise.all([fingerprint(source.sql('shop')), fingerprint(target.sql('shop'))]);
    expect(actual.tables).toEqual(expected.tables);
  });

  it('carries inserts, updates and deletes made after migrate() resolved', async () => {
    await source.exec(
      `insert into customers (name, email) values ('late arrival', 'late@example.com');
       update orders set amount = amount + 1 where id <= 100;
       delete from orders where id between 9001 and 9100;`,
      'shop',
    );
    await eventually('the destination matches the source', async () => {
      const [expected, actual] = await Promise.all([fingerprint(source.sql('shop')), fingerprint(target.sql('shop'))]);
      return JSON.stringify(actual.tables) === JSON.stringify(expected.tables);
    });
    const [late] = await target.sql('shop')`select name from customers where email = 'late@example.com'`;
    expect(late?.name).toBe('late arrival');
  });

  it('reports the same status to another process that never ran migrate()', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./support/print-status.ts', import.meta.url))], {
      env: { ...process.env, SOURCE_URI: source.uri(), TARGET_URI: target.uri() },
    });
    expect(JSON.parse(stdout)).toEqual({
      migration: { error: null, method: '', status: 'done' },
      migration_detail: [
        { dbname: 'archive', error: null, method: 'pg_dump', status: 'done' },
        { dbname: 'shop', error: null, method: 'replication', status: 'syncing' },
      ],
    });
  });

  it('resumes rather than copies again when migrate() runs a second time', async () => {
    const events = recordEvents(migrator);
    const again = await migrator.migrate();
    expect(again._unsafeUnwrap().status).toBe('done');
    expect(events).toContainEqual(expect.objectContaining({ type: 'database:start', dbname: 'shop', resumed: true }));
    expect(events.filter((e) => e.type === 'table:copied')).toEqual([]);
    const [expected, actual] = await Promise.all([fingerprint(source.sql('shop')), fingerprint(target.sql('shop'))]);
    expect(actual.tables).toEqual(expected.tables);
  });

  it('leaves no publication, subscription or slot of its own on either side after stop(), and stops twice safely', async () => {
    await source.exec(`select nextval('orders_id_seq') from generate_series(1, 5)`, 'shop');
    const stopped = await migrator.stop();
    expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
    expect(toServiceResponse(stopped._unsafeUnwrap()).migration).toEqual({ error: null, method: '', status: 'done' });

    const name = replicationName('shop');
    const publications = await source.sql('shop')`select pubname from pg_publication`;
    const slots = await source.sql()`select slot_name from pg_replication_slots`;
    const subscriptions = await target.sql()`select subname from pg_subscription`;
    expect({ publications, slots, subscriptions }).toEqual({ publications: [], slots: [], subscriptions: [] });
    expect(name).toBe('dlh_mig_shop');

    const [sourceSeq, targetSeq] = await Promise.all([fingerprint(source.sql('shop')), fingerprint(target.sql('shop'))]);
    expect(targetSeq.sequences).toEqual(sourceSeq.sequences);

    const twice = await migrator.stop();
    expect(twice.isOk(), JSON.stringify(twice)).toBe(true);
  });

  it('never writes the source password to either server log', () => {
    for (const cluster of [source, target]) expect(readFileSync(cluster.logFile, 'utf8')).not.toContain(source.password);
  });

  it('removes its subscription, slots and publication when a replication fails, so nothing holds WAL on the source', async () => {
    await seed(source, 'hurried', 'shop');
    const impatient = new Migrator({ ...options(), databases: ['hurried'], method: 'replication', syncTimeoutMs: 1 });
    // A change made during the copy streams only once the subscription runs: longer than the timeout.
    const written = new Promise<void>((resolve) =>
      impatient.on('copy:start', () => void source.exec('update orders set amount = amount + 1 where id = 1', 'hurried').then(resolve)),
    );
    const status = (await impatient.migrate())._unsafeUnwrap();
    await impatient.close();
    await written;
    expect(status.databases).toContainEqual(
      expect.objectContaining({ dbname: 'hurried', status: 'failed', error: expect.stringContaining('did not reach syncing') }),
    );
    const publications = await source.sql('hurried')`select pubname from pg_publication`;
    const slots = await source.sql()`select slot_name from pg_replication_slots`;
    const subscriptions = await target.sql()`select subname from pg_subscription`;
    expect({ publications, slots, subscriptions }).toEqual({ publications: [], slots: [], subscriptions: [] });
  });
});
