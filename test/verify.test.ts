import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, type DatabaseVerification, type MigratorOptions, type VerifyReport } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { eventually, within } from './support/compare.js';
import { watchCrashes } from './support/crashes.js';
import { recordEvents } from './support/events.js';
import { seed } from './support/fixtures.js';
import { splitKeys } from '../src/verify/key-ranges.js';

/**
 * verify() proves that every row is there: per table a row count and a
 * content checksum on both sides, sequences, large objects and
 * materialized views; for a replicating database, once the destination has
 * caught up.
 */
describe('key ranges', () => {
  it('splits by the estimated rows, not by a sparse key span, into ranges whose ends are open', () => {
    const ranges = splitKeys('id', { min: 1n, max: 1_000_000_000n }, 300, 100);
    expect(ranges).toEqual([
      { column: 'id', from: null, to: 333_333_335n },
      { column: 'id', from: 333_333_335n, to: 666_666_669n },
      { column: 'id', from: 666_666_669n, to: null },
    ]);
  });

  it('estimates from the key span when the server has no estimate, and keeps a small table in one scan', () => {
    expect(splitKeys('id', { min: 1n, max: 300_000n }, -1, 100_000)).toHaveLength(3);
    expect(splitKeys('id', { min: 1n, max: 300_000n }, 0, 1_000_000)).toEqual([]);
    expect(splitKeys('id', { min: -5n, max: 5n }, 11, 4).map((r) => [r.from, r.to])).toEqual([[null, -1n], [-1n, 3n], [3n, null]]);
  });
});

describe('verify()', () => {
  let source: Cluster;
  let target: Cluster;
  const open: Migrator[] = [];
  const migrator = (databases: string[], extra: Partial<MigratorOptions> = {}): Migrator => {
    const m = new Migrator({ source: source.uri(), target: target.uri(), databases, pollIntervalMs: 100, ...extra });
    open.push(m);
    return m;
  };
  const verify = async (database: string, options: Parameters<Migrator['verify']>[0] = {}): Promise<VerifyReport> => {
    const result = await migrator([database]).verify(options);
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    return result._unsafeUnwrap();
  };
  const only = (report: VerifyReport): DatabaseVerification => {
    expect(report.databases).toHaveLength(1);
    return report.databases[0]!;
  };

  const dumped = ['same', 'archive', 'edited', 'shortened', 'dropped', 'objects', 'big', 'rendering'];

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    for (const db of ['same', 'edited', 'shortened', 'dropped']) await seed(source, db, 'shop');
    for (const db of ['archive', 'objects']) await seed(source, db, 'archive');
    await source.exec('create database big');
    await source.exec(`create table events (id bigint primary key, kind text, at timestamptz);
      insert into events select g, 'kind ' || (g % 17), timestamptz '2024-01-01' + g * interval '1 minute' from generate_series(1, 300000) g`, 'big');
    await source.exec('create database rendering');
    await source.exec(`create table samples (id int primary key, at timestamptz, day date, stamp timestamp, ratio float8, ratio4 float4, raw bytea, span interval);
      insert into samples select g, timestamptz '2024-03-10 12:34:56.789+00' + g * interval '1 hour', date '2024-01-01' + g,
                                 timestamp '2024-01-01 08:00' + g * interval '1 day', 0.1 + 0.2 * g, (1.0 / 3)::float4 * g,
                                 decode(lpad(to_hex(g), 8, '0') || 'ff00', 'hex'), make_interval(days => g, hours => 3, mins => g % 60)
      from generate_series(1, 200) g`, 'rendering');
    await source.exec('create database live');
    await source.exec(`create table items (id serial primary key, note text); insert into items (note) select md5(g::text) from generate_series(1, 1000) g`, 'live');

    const dump = await migrator(dumped, { method: 'dump', jobs: 2 }).migrate();
    expect(dump.isOk() && dump.value.databases.map((d) => d.status), JSON.stringify(dump)).toEqual(dumped.map(() => 'done'));
    const replication = await migrator(['live'], { method: 'replication' }).migrate();
    expect(replication.isOk() && replication.value.databases.map((d) => d.status), JSON.stringify(replication)).toEqual(['syncing']);
  });

  afterAll(async () => {
    await Promise.all(open.map((m) => m.close()));
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('reports a database copied by dump as equal, with every table and its rows on both sides', async () => {
    const m = migrator(['same']);
    const events = recordEvents(m);
    const report = (await m.verify())._unsafeUnwrap();
    expect(report.ok).toBe(true);
    const db = only(report);
    expect(db).toMatchObject({ dbname: 'same', method: 'pg_dump', status: 'equal', differences: [] });
    expect(db.tables).toEqual([
      { schema: 'public', table: 'customers', sourceRows: 2000, targetRows: 2000, equal: true, ranges: 1 },
      { schema: 'public', table: 'orders', sourceRows: 10000, targetRows: 10000, equal: true, ranges: 1 },
    ]);
    expect(events.filter((e) => e.type === 'verify:table')).toHaveLength(2);
    expect(events.find((e) => e.type === 'verify:table' && e.table === 'orders')).toMatchObject({ dbname: 'same', equal: true, rows: 10000 });
    expect(events.filter((e) => e.type === 'verify:database')).toEqual([{ type: 'verify:database', dbname: 'same', status: 'equal' }]);
  });

  it('finds partitions, tables without a key, odd names, sequences, large objects and materialized views equal after a dump', async () => {
    const db = only(await verify('archive'));
    expect(db.differences).toEqual([]);
    expect(db.status).toBe('equal');
    expect(db.tables.map((t) => t.table)).toEqual(['Odd "Name" Table', 'blobs', 'events', 'measurements', 'readings_2024', 'readings_2025', 'scratch']);
    expect(db.tables.every((t) => t.equal && t.sourceRows === t.targetRows)).toBe(true);
  });

  it('reports a row whose content changed on the destination, the count unchanged, as a checksum difference', async () => {
    await target.exec(`update customers set name = 'someone else' where id = 42`, 'edited');
    const report = await verify('edited');
    expect(report.ok).toBe(false);
    const db = only(report);
    expect(db.status).toBe('different');
    expect(db.differences).toEqual([
      { kind: 'checksum', object: 'public.customers', expected: false, detail: 'Same 2000 rows on both sides, with different content' },
    ]);
    expect(db.tables.find((t) => t.table === 'customers')).toMatchObject({ sourceRows: 2000, targetRows: 2000, equal: false });
    expect(db.tables.find((t) => t.table === 'orders')).toMatchObject({ equal: true });
  });

  it('reports a row deleted on the destination as a rows difference', async () => {
    await target.exec('delete from orders where id = 7', 'shortened');
    const db = only(await verify('shortened'));
    expect(db.status).toBe('different');
    expect(db.differences).toEqual([
      { kind: 'rows', object: 'public.orders', expected: false, detail: 'The source has 10000 rows, the destination 9999' },
    ]);
  });

  it('reports a table dropped on the destination as a missing table', async () => {
    await target.exec('drop table orders', 'dropped');
    const db = only(await verify('dropped'));
    expect(db.status).toBe('different');
    expect(db.differences).toEqual([
      { kind: 'missing-table', object: 'public.orders', expected: false, detail: 'The source has it with 10000 rows; the destination has no such table' },
      // Its serial column's sequence went with it.
      { kind: 'sequence', object: 'public.orders_id_seq', expected: false, detail: 'The source has this sequence; the destination does not' },
    ]);
    expect(db.tables.find((t) => t.table === 'orders')).toMatchObject({ sourceRows: 10000, targetRows: 0, equal: false });
  });

  it('reports a changed large object, a moved sequence and an emptied materialized view of a dumped database', async () => {
    await target.exec(`select lo_put(doc, 0, '\\x58') from blobs where id = 2; select setval('invoice_numbers', 5000); refresh materialized view event_totals with no data`, 'objects');
    const [lo] = await target.sql('objects')<{ doc: string }[]>`select doc::text from blobs where id = 2`;
    const db = only(await verify('objects'));
    expect(db.status).toBe('different');
    expect(db.differences).toEqual([
      expect.objectContaining({ kind: 'materialized-view', object: 'public.event_totals', expected: false }),
      { kind: 'sequence', object: 'public.invoice_numbers', expected: false, detail: 'The source is at 1036, the destination at 5000' },
      expect.objectContaining({ kind: 'large-object', object: `large object ${lo?.doc}`, expected: false, detail: expect.stringContaining('content differs') }),
    ]);
    expect(db.tables.every((t) => t.equal)).toBe(true);
  });

  it('checks a big table with an integer primary key in key ranges read in parallel, and finds it equal', async () => {
    const m = migrator(['big'], { jobs: 3 });
    const events = recordEvents(m);
    const running = m.verify({ rangeRows: 100_000 });
    // Sessions on the source that have run a checksum query, seen while the verification runs.
    let readers = 0;
    const finished = (async (): Promise<boolean> => (await running, true))();
    for (let settled = false; !settled; ) {
      const [row] = await source.sql()<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where datname = 'big' and backend_type = 'client backend' and query like '%md5(convert_to(%' and pid <> pg_backend_pid()`;
      readers = Math.max(readers, row?.n ?? 0);
      settled = await Promise.race([finished, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20))]);
    }
    const db = only((await running)._unsafeUnwrap());
    expect(readers).toBeGreaterThanOrEqual(2);
    expect(db.status).toBe('equal');
    expect(db.tables).toEqual([{ schema: 'public', table: 'events', sourceRows: 300000, targetRows: 300000, equal: true, ranges: expect.any(Number) }]);
    expect(db.tables[0]!.ranges).toBeGreaterThanOrEqual(3);
    expect(events.filter((e) => e.type === 'verify:table')).toHaveLength(1);
  });

  it('names the key range a difference lies in', async () => {
    await target.exec(`update events set kind = 'edited' where id = 150000`, 'big');
    const db = only(await verify('big', { rangeRows: 100_000 }));
    expect(db.differences).toEqual([
      {
        kind: 'checksum',
        object: 'public.events',
        expected: false,
        detail: expect.stringMatching(/^Same 300000 rows on both sides, with different content \(1 of \d+ key ranges differ, the first where id >= \d+ and id < \d+\)$/),
      },
    ]);
    const [, from, to] = /id >= (\d+) and id < (\d+)/.exec(db.differences[0]!.detail)!;
    expect(Number(from)).toBeLessThanOrEqual(150000);
    expect(Number(to)).toBeGreaterThan(150000);
  });

  it('counts rows only the destination has beyond the source\'s key span', async () => {
    await target.exec(`insert into events values (900000, 'only here', now())`, 'big');
    const db = only(await verify('big', { rangeRows: 100_000 }));
    expect(db.differences).toContainEqual(expect.objectContaining({ kind: 'rows', object: 'public.events', detail: expect.stringContaining('The source has 300000 rows, the destination 300001') }));
  });

  it('reports a database with a table it may not read as unverifiable, with the server\'s reason', async () => {
    for (const cluster of [source, target]) await cluster.exec(`create role verifier login password 'verifier-secret'`);
    await target.exec('grant usage on schema datalakehouse_migrate to verifier; grant select on datalakehouse_migrate.database_state to verifier');
    await source.exec('grant select on all tables in schema public to verifier; grant select on all sequences in schema public to verifier', 'same');
    await target.exec('grant select on customers to verifier; grant select on all sequences in schema public to verifier', 'same');
    const as = (cluster: Cluster): string => `postgres://verifier:verifier-secret@${cluster.host}:${cluster.port}/postgres?sslmode=disable`;
    const m = new Migrator({ source: as(source), target: as(target), databases: ['same'] });
    open.push(m);
    const events = recordEvents(m);
    const report = (await m.verify())._unsafeUnwrap();
    expect(report.ok).toBe(false);
    expect(only(report)).toMatchObject({ status: 'unverifiable', reason: 'Reading it on the target failed: permission denied for table orders' });
    expect(events.filter((e) => e.type === 'verify:database')).toEqual([{ type: 'verify:database', dbname: 'same', status: 'unverifiable' }]);
  });

  it('compares values whose text depends on session settings alike, whatever the destination database defaults to', async () => {
    await target.exec(`alter database rendering set timezone = 'Asia/Kolkata';
      alter database rendering set datestyle = 'SQL, DMY';
      alter database rendering set bytea_output = 'escape';
      alter database rendering set extra_float_digits = 0;
      alter database rendering set intervalstyle = 'sql_standard'`);
    // Under each side's defaults the same rows read differently: without pinned settings the checksums would differ.
    const render = async (cluster: Cluster): Promise<string> => {
      const sql = cluster.sql('rendering');
      const [row] = await sql<{ text: string }[]>`select s::text as text from samples s where id = 7`;
      return row!.text;
    };
    const [onSource, onTarget] = await Promise.all([render(source), render(target)]);
    expect(onTarget).not.toBe(onSource);

    const db = only(await verify('rendering'));
    expect(db.differences).toEqual([]);
    expect(db).toMatchObject({ status: 'equal', tables: [{ table: 'samples', sourceRows: 200, targetRows: 200, equal: true }] });
  });

  it('waits for a replicating destination to apply the latest writes, then reports it equal, its sequences an expected difference', async () => {
    await source.exec(`insert into items (note) select 'late ' || g from generate_series(1, 500) g`, 'live');
    const m = migrator(['live']);
    const events = recordEvents(m);
    const report = (await m.verify())._unsafeUnwrap();
    const db = only(report);
    expect(db.differences.filter((d) => !d.expected)).toEqual([]);
    expect(db).toMatchObject({ dbname: 'live', method: 'replication', status: 'equal' });
    expect(report.ok).toBe(true);
    expect(db.tables).toEqual([{ schema: 'public', table: 'items', sourceRows: 1500, targetRows: 1500, equal: true, ranges: 1 }]);
    expect(db.differences).toEqual([
      {
        kind: 'sequence',
        object: 'public.items_id_seq',
        expected: true,
        detail: 'The source is at 1500, the destination at 1000',
        hint: expect.stringContaining('stop()'),
      },
    ]);
    expect(events.filter((e) => e.type === 'catch-up').map((e) => e.type === 'catch-up' && e.phase)).toEqual(['waiting', 'caught-up']);
  });

  it('compares a replicating table that differed again once the destination caught up, and reports only what stays different', async () => {
    // The destination applies nothing while this lock is held; verify's reads pass it.
    const blocker = await target.sql('live').reserve();
    await blocker`begin`;
    await blocker`lock table items in share mode`;
    const m = migrator(['live']);
    const events = recordEvents(m);
    let unblock: Promise<void> | undefined;
    m.on('catch-up', (e) => {
      if (e.phase !== 'caught-up' || unblock) return;
      // Written after the first wait, before the tables are read: on the source only when they are first compared.
      unblock = source
        .sql('live')`insert into items (note) values ('in flight')`
        .then(() => new Promise((resolve) => setTimeout(resolve, 800)))
        .then(() => blocker`commit`)
        .then(() => blocker.release());
    });
    let report: VerifyReport;
    try {
      report = (await m.verify())._unsafeUnwrap();
    } finally {
      await (unblock ?? blocker`commit`.then(() => blocker.release()));
    }
    const db = only(report);
    expect(db).toMatchObject({ status: 'equal', tables: [{ table: 'items', sourceRows: 1501, targetRows: 1501, equal: true }] });
    // A first wait, the comparison that found the row in flight, a second wait, the comparison that found it there.
    expect(events.filter((e) => e.type === 'catch-up').map((e) => e.type === 'catch-up' && e.phase)).toEqual(['waiting', 'caught-up', 'waiting', 'caught-up']);
    expect(events.filter((e) => e.type === 'verify:table')).toEqual([{ type: 'verify:table', dbname: 'live', schema: 'public', table: 'items', equal: true, rows: 1501 }]);
  });

  it('reports a replicating database whose destination does not catch up in time as unverifiable, and still compares it', async () => {
    // SHARE blocks the apply worker's inserts, not verify's reads.
    const blocker = await target.sql('live').reserve();
    try {
      await blocker`begin`;
      await blocker`lock table items in share mode`;
      await source.exec(`insert into items (note) select 'stuck ' || g from generate_series(1, 9) g`, 'live');
      const report = await verify('live', { catchUpTimeoutMs: 500 });
      const db = only(report);
      expect(report.ok).toBe(false);
      expect(db.status).toBe('unverifiable');
      expect(db.reason).toMatch(/did not catch up with the source within \d+ s .*changes are still arriving/);
      expect(db.differences).toContainEqual({ kind: 'rows', object: 'public.items', expected: false, detail: 'The source has 1510 rows, the destination 1501' });
    } finally {
      await blocker`commit`;
      blocker.release();
    }
    await eventually('the destination applies the blocked rows', async () => {
      const [row] = await target.sql('live')<{ n: number }[]>`select count(*)::int as n from items`;
      return row?.n === 1510;
    });
  });

  it('lists a selected database no migration recorded as skipped, and is not ok', async () => {
    const m = migrator(['never_migrated']);
    const events = recordEvents(m);
    const report = (await m.verify())._unsafeUnwrap();
    expect(report).toEqual({
      ok: false,
      databases: [expect.objectContaining({ dbname: 'never_migrated', status: 'skipped', reason: expect.stringContaining('No migration'), tables: [] })],
    });
    expect(events).toEqual([{ type: 'verify:database', dbname: 'never_migrated', status: 'skipped' }]);
  });

  it('runs while another process holds the migration lock: it only reads', async () => {
    const holder = await target.sql().reserve();
    try {
      await holder`select pg_advisory_lock(${0x646c6820})`;
      const db = only(await within(30_000, 'verify() under a held lock', verify('same')));
      expect(db.status).toBe('equal');
    } finally {
      await holder`select pg_advisory_unlock(${0x646c6820})`;
      holder.release();
    }
  });

  it('refuses options it cannot use with an options error', async () => {
    const result = await migrator(['same']).verify({ rangeRows: 0 });
    expect(result.isErr() && result.error).toMatchObject({ kind: 'options', message: expect.stringContaining('rangeRows') });
    const typo = await migrator(['same']).verify({ catchUpTimeout: 5 } as never);
    expect(typo.isErr() && typo.error.message).toContain('did you mean catchUpTimeoutMs');
  });

  it('ends with kind connection, never a crash or a hang, when a connection is lost mid-verification', async () => {
    const crashes = watchCrashes();
    try {
      const running = migrator(['big']).verify({ rangeRows: 5_000 });
      await eventually('a checksum query runs on the destination', async () => {
        const killed = await target.sql()<{ pid: number }[]>`
          select pg_terminate_backend(pid) as done, pid from pg_stat_activity
          where datname = 'big' and query like '%md5(convert_to(%' and pid <> pg_backend_pid()`;
        return killed.length > 0;
      }, 20_000);
      const result = await within(60_000, 'verify() after a lost connection', running);
      expect(result.isErr() && result.error).toMatchObject({ kind: 'connection', database: 'big', side: 'target' });
      expect(crashes.take()).toEqual([]);
    } finally {
      crashes.stop();
    }
  });
});
