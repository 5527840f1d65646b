import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import postgres, { type Sql } from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, replicationName, type MigrationEvent } from '../src/index.js';
import { createSlotCommand } from '../src/strategies/replication/slot-snapshot.js';
import { compareWithCopy } from '../src/strategies/replication/snapshot-counts.js';
import { superuserSubscriber } from '../src/strategies/replication/rights/superuser.js';
import { runUnrecorded } from '../src/strategies/replication/rights/unrecorded.js';
import type { TableRead } from '../src/copy/copy-engine.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { watchCrashes, type CrashWatch } from './support/crashes.js';
import { eventually, fingerprint } from './support/compare.js';
import { recordEvents } from './support/events.js';

/**
 * Replication copies each row once: the slot exports its snapshot, the copy
 * engine reads under it, and the subscription streams from that slot without
 * copying. The source here is PostgreSQL 13, whose replication command takes
 * the older syntax; the destination is 15.
 */
const APP = 'datalakehouse-db-migrate';
const ROWS = 30_000;


/** Inserts, updates and deletes on every table of `live`, in small transactions, until stopped. */
function startWriters(sql: Sql, writers: number): { stop: () => Promise<number>; committed: () => number } {
  let running = true;
  let committed = 0;
  const random = (n: number): number => 1 + Math.floor(Math.random() * n);
  const loop = async (): Promise<void> => {
    while (running) {
      await sql.begin(async (tx) => {
        await tx`update accounts set balance = balance + ${random(100)} where id = ${random(ROWS)}`;
        await tx`insert into ledger (account, amount) values (${random(ROWS)}, ${random(1000)})`;
        await tx`delete from items where id = (select id from items where id >= ${random(ROWS)} order by id limit 1)`;
        await tx`insert into items (id, payload) values (${ROWS + random(10 * ROWS)}, md5(random()::text)) on conflict (id) do nothing`;
      });
      committed += 1;
    }
  };
  const loops = Array.from({ length: writers }, loop);
  return {
    committed: () => committed,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return committed;
    },
  };
}

/** Count, sum and checksum of each table: what must be equal on both sides. */
async function totals(sql: Sql): Promise<unknown> {
  const [sums] = await sql`
    select (select sum(balance)::text from accounts) as balance, (select sum(amount)::text from ledger) as amount,
           (select sum(id)::text from items) as item_ids`;
  return { sums, ...(await fingerprint(sql)).tables };
}

describe('replication from a slot snapshot, PostgreSQL 13 to 15', () => {
  let crashes: CrashWatch;
  let source: Cluster;
  let target: Cluster;
  const options = (dbname: string, extra: Partial<ConstructorParameters<typeof Migrator>[0]> = {}): ConstructorParameters<typeof Migrator>[0] => ({
    source: source.uri(),
    target: target.uri(),
    databases: [dbname],
    method: 'replication',
    jobs: 1,
    pollIntervalMs: 100,
    syncTimeoutMs: 60_000,
    ...extra,
  });

  /**
   * Creates `dbname` with four tables. `slow`: writing `items` on the
   * destination pauses every 400 rows, so its copy lasts 1.5 s and can be
   * caught in the middle.
   */
  async function createLive(dbname: string, slow = false): Promise<void> {
    await source.exec(`create database ${dbname}`);
    const throttle = slow
      ? `case when current_setting('port')::int = ${target.port} and id % 400 = 0 then pg_sleep(0.02) is not null else true end`
      : 'true';
    await source.exec(
      `create function throttle(id int) returns boolean language sql as $$ select ${throttle} $$;
       create table accounts (id int primary key, balance bigint not null);
       insert into accounts select g, 1000 from generate_series(1, ${ROWS}) g;
       create table ledger (id bigserial primary key, account int not null, amount int not null, at timestamptz default now());
       insert into ledger (account, amount) select g, g % 100 from generate_series(1, ${ROWS}) g;
       create table items (id int primary key, payload text, check (throttle(id)));
       insert into items select g, md5(g::text) from generate_series(1, ${ROWS}) g;
       create table quiet (id int primary key, note text);
       insert into quiet select g, 'n' || g from generate_series(1, 1000) g;
       analyze;`,
      dbname,
    );
  }

  async function objects(dbname: string): Promise<{ publications: unknown[]; slots: unknown[]; subscriptions: unknown[] }> {
    const publications = [...(await source.sql(dbname)`select pubname from pg_publication`)];
    const slots = [...(await source.sql()`select slot_name from pg_replication_slots where database = ${dbname}`)];
    const subscriptions = [...(await target.sql()`select subname from pg_subscription where starts_with(subname, ${replicationName(dbname)})`)];
    return { publications, slots, subscriptions };
  }

  /** Waits until a backend of the library's on the destination runs a COPY into a table. */
  async function untilCopying(dbname: string): Promise<void> {
    await eventually('the copy runs', async () => {
      const rows = await target.sql()`
        select 1 from pg_stat_activity
        where application_name = ${APP} and datname = ${dbname} and state = 'active' and query ilike '%copy%from stdin%'`;
      return rows.length > 0;
    });
  }

  beforeAll(async () => {
    crashes = watchCrashes();
    [source, target] = (await startClusters([{ major: 13 }, { major: 15 }])) as [Cluster, Cluster];
  });

  afterEach(() => {
    expect(crashes.take()).toEqual([]);
  });

  afterAll(async () => {
    crashes?.stop();
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('words the slot command for the source major: the option list from 15, the keyword before', () => {
    expect(createSlotCommand('dlh_mig_a', 150004)).toBe(`CREATE_REPLICATION_SLOT "dlh_mig_a" LOGICAL pgoutput (SNAPSHOT 'export')`);
    expect(createSlotCommand('dlh_mig_a', 130023)).toBe('CREATE_REPLICATION_SLOT "dlh_mig_a" LOGICAL pgoutput EXPORT_SNAPSHOT');
  });

  it('compares the destination\'s row counts with the rows the copy read of each table, a configuration table on its condition', async () => {
    await target.exec('create database counted');
    await target.exec('create table a (id int primary key); create table "B c" (id int); create table config (id int, builtin bool); insert into a select generate_series(1, 100); insert into "B c" values (1), (1); insert into config values (1, true), (2, false)', 'counted');
    const info = (name: string, extensionCondition: string | null = null) => ({ schema: 'public', name, extensionCondition }) as unknown as TableRead['info'];
    const read: TableRead[] = [{ info: info('a'), rows: 100 }, { info: info('B c'), rows: 2 }, { info: info('config', 'where not builtin'), rows: 1 }];
    expect(await compareWithCopy(target.sql('counted'), read)).toEqual({ tables: 3, differing: [] });
    await target.exec('delete from a where id = 50; insert into config values (3, false)', 'counted');
    expect(await compareWithCopy(target.sql('counted'), read)).toEqual({ tables: 3, differing: ['"public"."a"', '"public"."config" where not builtin'] });
  });

  it('makes a subscription that waits for its rows to be checked in a transaction: it exists, and streams, only once the check passed', async () => {
    await source.exec('create database gated');
    await source.exec('create table t (id int primary key); insert into t values (1); create publication gated for all tables', 'gated');
    await source.exec(`select pg_create_logical_replication_slot('gated', 'pgoutput')`, 'gated');
    await target.exec('create database gated');
    await target.exec('create table t (id int primary key)', 'gated');
    const subscriptions = async (): Promise<number> => (await target.sql()`select 1 from pg_subscription where subname = 'gated'`).length;
    for (const passes of [false, true]) {
      let decide: (commit: boolean) => void = () => undefined;
      const commitIf = new Promise<boolean>((resolve) => (decide = resolve));
      const creating = superuserSubscriber.createSubscription(target.sql('gated'), { name: 'gated', conninfo: source.uri('gated'), publication: 'gated', slot: 'gated', existingSlot: true, commitIf });
      // Made and waiting: its transaction holds the lock under which it listed the subscription's tables.
      await eventually('the subscription is made, uncommitted', async () => (await target.sql()`select 1 from pg_locks where relation = 'pg_subscription_rel'::regclass and mode = 'RowExclusiveLock'`).length === 1);
      expect(await subscriptions()).toBe(0);
      decide(passes);
      await creating;
      expect(await subscriptions(), passes ? 'committed' : 'rolled back').toBe(passes ? 1 : 0);
    }
    await eventually('an apply worker streams from the slot', async () => (await source.sql()`select 1 from pg_replication_slots where slot_name = 'gated' and active`).length === 1);
    await source.exec(`insert into t values (2)`, 'gated');
    await eventually('the change arrives', async () => (await target.sql('gated')`select count(*)::int as n from t`)[0]?.n === 1);
    await superuserSubscriber.dropSubscription(target.sql('gated'), 'gated');
    await eventually('the slot is dropped', async () => (await source.sql()`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = 'gated' and not active`).length === 1);
  });

  it('leaves no statement that carries a secret as the last one pg_stat_activity shows, for a role that may not turn track_activities off', async () => {
    await target.exec(`create role plain login password 'plain-secret'`);
    const plain = postgres(target.uri().replace(/\/\/[^@]*@/, '//plain:plain-secret@'), { max: 2, onnotice: () => undefined });
    const shown = async (): Promise<{ state: string; query: string }[]> => [...(await target.sql()<{ state: string; query: string }[]>`
      select state, query from pg_stat_activity where usename = 'plain'`)];
    try {
      await runUnrecorded(plain, (session) => session`select 'the source password' as secret`);
      expect((await shown()).filter((row) => row.query.includes('password'))).toEqual([]);

      let decide: (commit: boolean) => void = () => undefined;
      const waiting = runUnrecorded(plain, (session) => session`select 'the source password' as secret`, new Promise<boolean>((resolve) => (decide = resolve)));
      await eventually('the statement waits for its transaction to end', async () => (await shown()).some((row) => row.state === 'idle in transaction'));
      expect((await shown()).filter((row) => row.query.includes('password'))).toEqual([]);
      decide(false);
      await waiting;
    } finally {
      await plain.end();
    }
  });

  it('subscribes only if every copied table holds the rows read of it: a row gone from the destination fails the run, leaving nothing', async () => {
    // `kept` is copied first (largest first, one job) and alone (too large to share a transaction); `late` then takes
    // 2 s on the destination, while a row of `kept` goes.
    await source.exec('create database tampered');
    await source.exec(
      `create function slow_on_destination() returns boolean language sql as
         $$ select case when current_setting('port')::int = ${target.port} then pg_sleep(0.2) is not null else true end $$;
       create table kept (id int primary key, note text);
       insert into kept select g, repeat('k', 80) from generate_series(1, 60000) g;
       create table late (id int primary key, check (slow_on_destination()));
       insert into late select generate_series(1, 10);
       analyze;`,
      'tampered',
    );
    const migrator = new Migrator(options('tampered'));
    const tampering: Promise<unknown>[] = [];
    migrator.on('table:copied', (e) => {
      if (e.table === 'kept') tampering.push(target.exec('delete from kept where id = 30000', 'tampered'));
    });
    const result = await migrator.migrate();
    await Promise.all(tampering);
    await migrator.close();
    expect(tampering).toHaveLength(1);
    const failed = result.isOk() ? result.value.databases[0] : undefined;
    expect(failed?.status, JSON.stringify(result)).toBe('failed');
    expect(failed?.error).toMatch(/row counts differ from the source's snapshot for "public"."kept"$/);
    expect(await objects('tampered')).toEqual({ publications: [], slots: [], subscriptions: [] });
  });

  it('loses and doubles no row while writers insert, update and delete throughout the copy', async () => {
    await createLive('live');
    const writers = startWriters(source.sql('live'), 2);
    await eventually('the writers commit', async () => writers.committed() > 20);
    const migrator = new Migrator(options('live'));
    const events = recordEvents(migrator);
    const during = { copyStart: 0, copied: 0 };
    migrator.on('copy:start', () => (during.copyStart = writers.committed()));
    migrator.on('replication:state', (e) => {
      if (e.state === 'verifying') during.copied = writers.committed();
    });
    const result = await migrator.migrate();
    const committed = await writers.stop();
    expect(result.isOk() && result.value.databases[0]?.status, JSON.stringify(result)).toBe('syncing');
    expect(during.copied - during.copyStart, 'transactions committed during the copy').toBeGreaterThan(0);
    expect(committed).toBeGreaterThan(during.copied);

    await eventually('the destination caught up', async () => JSON.stringify(await totals(source.sql('live'))) === JSON.stringify(await totals(target.sql('live'))));
    expect(await totals(target.sql('live'))).toEqual(await totals(source.sql('live')));

    // The server copied nothing itself: no table went through a synchronisation worker.
    const synced = await target.sql('live')`select srrelid::regclass::text as t from pg_subscription_rel where srsublsn is not null`;
    expect(synced).toEqual([]);
    const states = events.flatMap((e: MigrationEvent) => (e.type === 'replication:state' ? [e.state] : []));
    expect([...new Set(states)]).toEqual(['publishing', 'copying', 'verifying', 'subscribed', 'syncing']);
    expect(events).toContainEqual(expect.objectContaining({ type: 'replication:state', state: 'copying', tablesReady: 4, tablesTotal: 4 }));

    await migrator.close();
  });

  it('resumes a run interrupted after its subscription existed while writers keep going, counting nothing the copy checked', async () => {
    // What a crash after subscribing leaves: the subscription streams, the state says running.
    await target.exec(`update datalakehouse_migrate.database_state set status = 'running' where dbname = 'live'`);
    const writers = startWriters(source.sql('live'), 2);
    await eventually('the writers commit', async () => writers.committed() > 20);
    const migrator = new Migrator(options('live', { syncTimeoutMs: 15_000 }));
    const events = recordEvents(migrator);
    const result = await migrator.migrate();
    await writers.stop();
    expect(result.isOk() && result.value.databases[0]?.status, JSON.stringify(result)).toBe('syncing');
    expect(events).toContainEqual(expect.objectContaining({ type: 'database:start', dbname: 'live', resumed: true }));
    await eventually('the destination caught up', async () => JSON.stringify(await totals(source.sql('live'))) === JSON.stringify(await totals(target.sql('live'))));

    const stopped = await migrator.stop();
    await migrator.close();
    expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
    expect(await objects('live')).toEqual({ publications: [], slots: [], subscriptions: [] });
  });

  it('ends with a connection error, leaving no slot, when the connection holding the snapshot dies mid-copy; a re-run reaches syncing', async () => {
    await createLive('severed', true);
    const migrator = new Migrator(options('severed'));
    const run = migrator.migrate();
    await Promise.race([untilCopying('severed'), Promise.resolve(run).then((r) => expect.fail(`migrate() ended before the copy was caught: ${JSON.stringify(r)}`))]);
    const [killed] = await source.sql()`
      select pg_terminate_backend(pid) as done from pg_stat_activity
      where backend_type = 'walsender' and application_name = ${APP} and datname = 'severed'`;
    expect(killed?.done).toBe(true);
    const result = await run;
    await migrator.close();
    // A lost connection ends the run: the clusters must answer before anything else is tried.
    expect(result.isErr() && result.error, JSON.stringify(result)).toMatchObject({
      kind: 'connection',
      side: 'source',
      message: expect.stringMatching(/snapshot/),
      hint: expect.stringMatching(/closed the connection/),
    });
    expect(await objects('severed')).toEqual({ publications: [], slots: [], subscriptions: [] });

    const again = new Migrator(options('severed'));
    const rerun = await again.migrate();
    expect(rerun.isOk() && rerun.value.databases[0]?.status, JSON.stringify(rerun)).toBe('syncing');
    expect(await totals(target.sql('severed'))).toEqual(await totals(source.sql('severed')));
    expect((await again.stop()).isOk()).toBe(true);
    await again.close();
  });

  /** Starts migrate() of `dbname` in a child process and kills it once its slot exists and the copy runs. */
  async function killMidCopy(dbname: string): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./support/migrate-child.ts', import.meta.url))], {
      env: { ...process.env, SOURCE_URI: source.uri(), TARGET_URI: target.uri(), DATABASE: dbname },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await untilCopying(dbname);
      // The run recorded its objects' name before creating any: what it leaves, the record points at.
      const [recorded] = await target.sql()<{ name: string }[]>`select replication_name as name from datalakehouse_migrate.database_state where dbname = ${dbname}`;
      expect(recorded?.name).toMatch(new RegExp(`^${replicationName(dbname)}_[0-9a-f]+$`));
      expect((await objects(dbname)).slots).toEqual([{ slot_name: recorded?.name }]);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    expect((await objects(dbname)).subscriptions).toEqual([]);
  }

  it('redoes a run killed after its slot was created and before its subscription existed, losing and doubling no row', async () => {
    await createLive('killed', true);
    await killMidCopy('killed');
    const writers = startWriters(source.sql('killed'), 1);
    const migrator = new Migrator(options('killed'));
    const result = await migrator.migrate();
    await writers.stop();
    expect(result.isOk() && result.value.databases[0]?.status, JSON.stringify(result)).toBe('syncing');
    await eventually('the destination caught up', async () => JSON.stringify(await totals(source.sql('killed'))) === JSON.stringify(await totals(target.sql('killed'))));
    expect((await migrator.stop()).isOk()).toBe(true);
    await migrator.close();
    expect(await objects('killed')).toEqual({ publications: [], slots: [], subscriptions: [] });
  });

  it('stop() removes the slot and publication of a run killed before its subscription existed', async () => {
    await createLive('abandoned', true);
    await killMidCopy('abandoned');
    expect((await objects('abandoned')).publications).toHaveLength(1);
    const migrator = new Migrator(options('abandoned'));
    const stopped = await migrator.stop({ force: true });
    await migrator.close();
    expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
    expect(await objects('abandoned')).toEqual({ publications: [], slots: [], subscriptions: [] });
  });
});
