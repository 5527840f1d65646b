import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, type MigrationEvent, type MigrationError } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { abortOnceSubscriptionGoes } from './support/subscription-watch.js';
import { eventually, fingerprint, within } from './support/compare.js';

/**
 * Cancelling through the AbortSignal at each phase of a run: the call ends
 * with kind `cancelled` within seconds, leaves no replication object, no
 * unfinished destination database, no temporary file and no lock, and the
 * next run finishes the job with every row there once.
 */
describe('cancelling a migration through its AbortSignal', () => {
  let source: Cluster;
  let target: Cluster;
  const options = (method: 'dump' | 'replication') => ({
    source: source.uri(),
    target: target.uri(),
    databases: ['orders'],
    method,
    pollIntervalMs: 100,
  });

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    await source.exec('create database orders');
    await source.exec(
      `create table customer (id int primary key, name text not null);
       create table line (id bigint primary key, customer int not null references customer, note text, amount numeric);
       create index on line (customer);
       insert into customer select g, 'c' || g from generate_series(1, 1000) g;
       insert into line select g, 1 + g % 1000, repeat(md5(g::text), 3), g / 3.0 from generate_series(1, 400000) g;
       create sequence invoice_no start 1000; select setval('invoice_no', 4242);`,
      'orders',
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  async function leftovers(): Promise<{ slots: unknown[]; publications: unknown[]; subscriptions: unknown[]; database: boolean; tempDirs: string[] }> {
    const [slots, publications, subscriptions, database] = await Promise.all([
      source.sql('orders')`select slot_name from pg_replication_slots`,
      source.sql('orders')`select pubname from pg_publication`,
      target.sql()`select subname from pg_subscription`,
      target.sql()`select 1 from pg_database where datname = 'orders'`,
    ]);
    const tempDirs = readdirSync(tmpdir()).filter((name) => name.startsWith(`dlh-migrate-`) && name.includes(`-${process.pid}-`));
    return { slots: [...slots], publications: [...publications], subscriptions: [...subscriptions], database: database.length > 0, tempDirs };
  }

  /** Runs migrate() and aborts it when `when` first matches an event. */
  async function cancelledAt(method: 'dump' | 'replication', when: (event: MigrationEvent) => boolean): Promise<{ error: MigrationError; afterMs: number }> {
    const controller = new AbortController();
    const migrator = new Migrator(options(method));
    let abortedAt = 0;
    migrator.on('progress', (event) => {
      if (!controller.signal.aborted && when(event)) {
        abortedAt = Date.now();
        controller.abort();
      }
    });
    const result = await within(60_000, 'the cancelled migrate()', migrator.migrate({ signal: controller.signal }));
    const afterMs = Date.now() - abortedAt;
    await migrator.close();
    expect(controller.signal.aborted).toBe(true);
    expect(result.isErr(), JSON.stringify(result)).toBe(true);
    return { error: result._unsafeUnwrapErr(), afterMs };
  }

  async function rerunCompletes(method: 'dump' | 'replication'): Promise<void> {
    const migrator = new Migrator(options(method));
    const status = (await migrator.migrate())._unsafeUnwrap();
    expect(status.databases.find((d) => d.dbname === 'orders')?.status).toBe(method === 'dump' ? 'done' : 'syncing');
    const [expected, actual] = await Promise.all([fingerprint(source.sql('orders')), fingerprint(target.sql('orders'))]);
    expect(actual.tables).toEqual(expected.tables);
    expect((await migrator.stop())._unsafeUnwrap().databases[0]?.status).toBe('done');
    await migrator.close();
    // The next scenario starts from an empty destination.
    await target.sql().unsafe('drop database orders with (force)');
  }

  const phases: [string, 'dump' | 'replication', (e: MigrationEvent) => boolean][] = [
    ['preflight', 'dump', (e) => e.type === 'check'],
    ['roles', 'dump', (e) => e.type === 'plan'],
    ['schema', 'dump', (e) => e.type === 'schema' && e.step === 'database'],
    ['copy', 'dump', (e) => e.type === 'copy:progress' && e.bytesDone > 0],
    ['post-data', 'dump', (e) => e.type === 'table:copied'],
    ['the replication copy', 'replication', (e) => e.type === 'copy:progress' && e.bytesDone > 0],
    ['waiting for syncing', 'replication', (e) => e.type === 'replication:state' && e.state === 'subscribed'],
  ];

  it.each(phases)('during %s (%s): ends cancelled, leaves nothing behind, and a re-run completes', async (_phase, method, when) => {
    const { error, afterMs } = await cancelledAt(method, when);
    expect(error.kind).toBe('cancelled');
    expect(afterMs).toBeLessThan(10_000);
    expect(await leftovers()).toEqual({ slots: [], publications: [], subscriptions: [], database: false, tempDirs: [] });
    await rerunCompletes(method);
  });

  it('cancels a stop() waiting for the destination to catch up, dropping nothing; a later stop() finishes', async () => {
    const migrator = new Migrator(options('replication'));
    expect((await migrator.migrate())._unsafeUnwrap().databases[0]?.status).toBe('syncing');
    const controller = new AbortController();
    migrator.on('catch-up', (event) => {
      if (event.phase === 'waiting') controller.abort();
    });
    const stopped = await within(30_000, 'the cancelled stop()', migrator.stop({ signal: controller.signal }));
    expect(stopped.isErr() && stopped.error.kind).toBe('cancelled');
    const [subscriptions] = await Promise.all([target.sql('orders')`select subname from pg_subscription`]);
    expect(subscriptions.length).toBe(1);
    expect((await migrator.stop())._unsafeUnwrap().databases[0]?.status).toBe('done');
    await migrator.close();
    await target.sql().unsafe('drop database orders with (force)');
  });

  it('finishes a stop() cancelled once it began removing the replication: done, nothing left on either side', async () => {
    const migrator = new Migrator(options('replication'));
    const [migrated] = (await migrator.migrate())._unsafeUnwrap().databases;
    expect(migrated?.status, migrated?.error ?? '').toBe('syncing');
    const controller = new AbortController();
    // Cancelled the moment the subscription is disabled: past that, half a stop would leave a destination that no longer
    // follows its source and a slot holding WAL there.
    const watching = abortOnceSubscriptionGoes(target.sql('orders'), controller);
    const stopped = await within(30_000, 'the cancelled stop()', migrator.stop({ signal: controller.signal }));
    await watching;
    expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
    expect(stopped._unsafeUnwrap().databases[0]?.status).toBe('done');
    await migrator.close();
    const { slots, publications, subscriptions } = await leftovers();
    expect({ slots, publications, subscriptions }).toEqual({ slots: [], publications: [], subscriptions: [] });
    await target.sql().unsafe('drop database orders with (force)');
  });

  it('leaves a replication it only resumed replicating when that migrate() is cancelled', async () => {
    const first = new Migrator(options('replication'));
    expect((await first.migrate())._unsafeUnwrap().databases[0]?.status).toBe('syncing');
    await first.close();
    const controller = new AbortController();
    const again = new Migrator(options('replication'));
    again.on('database:start', (event) => {
      if (event.resumed) controller.abort();
    });
    const result = await within(30_000, 'the cancelled migrate()', again.migrate({ signal: controller.signal }));
    expect(result.isErr() && result.error.kind).toBe('cancelled');
    await again.close();
    const other = new Migrator(options('replication'));
    try {
      expect((await other.status())._unsafeUnwrap().databases[0]).toMatchObject({ status: 'syncing', error: null });
      await source.exec(`insert into customer values (1001, 'after the cancel')`, 'orders');
      await eventually('the row reaches the destination', async () => (await target.sql('orders')`select 1 from customer where id = 1001`).length === 1);
      expect((await other.stop())._unsafeUnwrap().databases[0]?.status).toBe('done');
    } finally {
      await other.close();
      await source.exec('delete from customer where id = 1001', 'orders');
      await target.sql().unsafe('drop database orders with (force)');
    }
  });

  /** Runs `use` while a session of the source's "orders" holds `table` in ACCESS EXCLUSIVE mode. */
  async function whileLocked(table: string, use: () => Promise<void>): Promise<void> {
    const holder = await source.sql('orders').reserve();
    try {
      await holder`begin`;
      // A lock the test cannot get within seconds is news about what an earlier test left: say who holds it.
      await holder`set local lock_timeout = '20s'`;
      await holder`lock table ${holder(table)} in access exclusive mode`.catch(async (error: unknown) => {
        const holders = await source.sql('orders')`
          select a.pid, a.application_name, a.state, a.backend_type, left(a.query, 120) as query, l.mode
          from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.relation = ${table}::regclass and l.granted`;
        throw new Error(`${String(error)}; the table is held by ${JSON.stringify(holders)}`);
      });
      await use();
      await holder`rollback`;
    } finally {
      holder.release();
    }
  }

  it('answers a preflight stuck behind a lock on the source\'s catalog with cancelled as soon as its signal fires', async () => {
    // Preflight counts the large objects; a session holding their catalog keeps it waiting.
    await whileLocked('pg_largeobject_metadata', async () => {
      const migrator = new Migrator(options('dump'));
      const controller = new AbortController();
      const pending = migrator.preflight({ signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const abortedAt = Date.now();
      controller.abort();
      const result = await within(5_000, 'the cancelled preflight()', pending);
      expect(result.isErr() && result.error.kind).toBe('cancelled');
      expect(Date.now() - abortedAt).toBeLessThan(1_000);
      await migrator.close();
    });
  });

  it('reads only the catalog in preflight: a table another session holds locked does not hold it up', async () => {
    await whileLocked('line', async () => {
      const migrator = new Migrator(options('dump'));
      const result = await within(5_000, 'preflight() beside a locked table', migrator.preflight());
      expect(result.isOk(), JSON.stringify(result)).toBe(true);
      await migrator.close();
    });
  });

  it('answers a call whose signal already fired with cancelled, doing nothing', async () => {
    const migrator = new Migrator(options('dump'));
    const result = await migrator.migrate({ signal: AbortSignal.abort() });
    await migrator.close();
    expect(result.isErr() && result.error.kind).toBe('cancelled');
    expect((await leftovers()).database).toBe(false);
  });
});
