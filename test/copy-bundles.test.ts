import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relayBundle } from '../src/copy/bundle-relay.js';
import { heldByReadAheads, ReadAhead } from '../src/copy/read-ahead.js';
import { copyDatabase, type CopyRequest } from '../src/copy/copy-engine.js';
import type { MigrationEvent } from '../src/events.js';
import { normalizeConnection } from '../src/options.js';
import { openConnection, sideOf, type Connection } from '../src/pg/connect.js';
import { createPool } from '../src/pg/pool.js';
import { tappableSocket } from '../src/pg/session-sockets.js';
import { Redactor } from '../src/redact.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { eventually, fingerprint, within } from './support/compare.js';

/** Statements the server logged (log_statement = all) that hold more than one COPY in `direction`. */
function bundledStatements(cluster: Cluster, direction: 'to stdout' | 'from stdin'): string[] {
  return readFileSync(cluster.logFile, 'utf8')
    .split(/\n(?=\d{4}-\d\d-\d\d )/)
    .filter((entry) => entry.includes('statement: copy') && entry.split(direction).length > 2);
}

describe('small tables copied several to a query', () => {
  let source: Cluster;
  let target: Cluster;
  const open: Connection[] = [];

  const connect = async (cluster: Cluster, side: 'source' | 'target', dbname: string): Promise<Connection> => {
    const config = normalizeConnection(cluster.uri(dbname), side)._unsafeUnwrap();
    const connection = (await openConnection(config, side, dbname, new Redactor([cluster.password]), { max: 4 }))._unsafeUnwrap();
    open.push(connection);
    return connection;
  };

  async function database(dbname: string, schema: string, fill: string, targetOnly = ''): Promise<void> {
    await Promise.all([source.exec(`create database ${dbname}`), target.exec(`create database ${dbname}`)]);
    await Promise.all([source.exec(schema + fill, dbname), target.exec(schema + targetOnly, dbname)]);
  }

  async function copy(dbname: string, extra: Partial<CopyRequest> = {}): Promise<{ result: Awaited<ReturnType<typeof copyDatabase>>; events: MigrationEvent[] }> {
    const events: MigrationEvent[] = [];
    const result = await within(30_000, 'copyDatabase()', copyDatabase({
      dbname,
      source: await connect(source, 'source', dbname),
      target: await connect(target, 'target', dbname),
      sourceConfig: normalizeConnection(source.uri(dbname), 'source')._unsafeUnwrap(),
      jobs: 1,
      redactor: new Redactor([source.password, target.password]),
      emit: (event) => events.push(event),
      ...extra,
    }));
    return { result, events };
  }

  const rowsOn = async (cluster: Cluster, dbname: string, tables: readonly string[]): Promise<number[]> =>
    Promise.all(tables.map(async (table) => {
      const [row] = await cluster.sql(dbname)<{ n: number }[]>`select count(*)::int as n from ${cluster.sql(dbname)(table)}`;
      return row?.n ?? -1;
    }));

  beforeAll(async () => {
    // Timestamps in UTC, as bundledReadTimes() reads them.
    const logged = { log_statement: "'all'", log_timezone: "'UTC'" };
    [source, target] = (await startClusters([{ major: 15, settings: logged }, { major: 15, settings: logged }])) as [Cluster, Cluster];
  }, 120_000);

  afterAll(async () => {
    await Promise.all(open.map((c) => c.sql.end({ timeout: 1 }).catch(() => undefined)));
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('copies every row byte for byte, in binary and text, empty and hollow tables, names with semicolons and quotes, and rows longer than a socket read among them, each table counted in its own event and in the rows read', async () => {
    const plain = Array.from({ length: 40 }, (_, i) => `create table p${i} (id int primary key, note text, at timestamptz);`).join('\n');
    await database(
      'bundled',
      `${plain}
       create table empty (id int primary key);
       create table hollow (gone int, total int generated always as (42) stored);
       alter table hollow drop column gone;
       create table refs (id int primary key, kind regtype, tags text[]);
       create table long_rows (id int primary key, body text);
       create table noted (id int primary key);
       create table "odd; name" ("quote""d;--" text, "$1" int);`,
      `do $$ begin for i in 0..39 loop
         execute format('insert into p%s select g, md5(g::text) || E''\\t\\\\n'', now() - g * interval ''1 hour'' from generate_series(1, %s) g', i, 1 + i * 5);
       end loop; end $$;
       insert into hollow select from generate_series(1, 7);
       insert into refs values (1, 'int4', '{a,"b c"}'), (2, 'text[]', null);
       insert into long_rows select g, repeat(md5(g::text), 12000) from generate_series(1, 4) g;
       insert into noted select generate_series(1, 30);
       insert into "odd; name" select 'v;' || g || E'\\.\n', g from generate_series(1, 9) g;`,
      `create function note_it() returns trigger language plpgsql as $$ begin raise notice 'row %', new.id; return new; end $$;
       create trigger note_it before insert on noted for each row execute function note_it();`,
    );
    const { result, events } = await copy('bundled');
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(await fingerprint(target.sql('bundled'))).toEqual(await fingerprint(source.sql('bundled')));
    const [hollow] = await target.sql('bundled')<{ n: number; total: number }[]>`select count(*)::int as n, min(total) as total from hollow`;
    expect(hollow).toEqual({ n: 7, total: 42 });
    const copied = events.flatMap((e) => (e.type === 'table:copied' ? [[e.table, e.rows] as const] : []));
    expect(copied).toHaveLength(46);
    const counts = { p0: 1, p39: 196, empty: 0, hollow: 7, refs: 2, long_rows: 4, noted: 30, 'odd; name': 9 };
    expect(Object.fromEntries(copied)).toMatchObject(counts);
    // Counted off the wire, whatever the format (binary COPY's trailer is a message of its own), and the path.
    expect(Object.fromEntries(result._unsafeUnwrap().read.map((r) => [r.info.name, r.rows]))).toMatchObject(counts);
    expect(bundledStatements(source, 'to stdout').length).toBeGreaterThan(0);
    expect(bundledStatements(target, 'from stdin').length).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ type: 'copy:progress', fraction: 1, tablesDone: 46 });
  });

  it('commits none of a bundle one of whose tables the destination refuses half-way, and names the refusal', async () => {
    const tables = Array.from({ length: 8 }, (_, i) => `t${i}`);
    await database(
      'refused',
      tables.map((t) => `create table ${t} (id int primary key, amount int not null);`).join('\n'),
      `${tables.map((t) => `insert into ${t} select g, g from generate_series(1, 50) g;`).join('\n')}
       update t5 set amount = -1 where id = 25;`,
      'alter table t5 add constraint positive check (amount > 0);',
    );
    const { result, events } = await copy('refused');
    expect(result.isErr()).toBe(true);
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'copy' });
    expect(result._unsafeUnwrapErr().message).toMatch(/positive/);
    expect(events.filter((e) => e.type === 'table:copied')).toEqual([]);
    expect(await rowsOn(target, 'refused', tables)).toEqual(tables.map(() => 0));
  });

  it('commits none of a bundle whose copy is cancelled while the destination writes it, and leaves no session behind', async () => {
    const tables = Array.from({ length: 6 }, (_, i) => `s${i}`);
    await database(
      'cancelled',
      tables.map((t) => `create table ${t} (id int primary key);`).join('\n'),
      tables.map((t) => `insert into ${t} select generate_series(1, 20);`).join('\n'),
      `create function slow() returns trigger language plpgsql as $$ begin perform pg_sleep(0.05); return new; end $$;
       create trigger slow before insert on s3 for each row execute function slow();`,
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const { result, events } = await copy('cancelled', { signal: controller.signal });
    expect(result.isErr()).toBe(true);
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'cancelled' });
    expect(events.filter((e) => e.type === 'table:copied')).toEqual([]);
    expect(await rowsOn(target, 'cancelled', tables)).toEqual(tables.map(() => 0));
    await eventually('no session of the copy is left in a transaction on the destination', async () => {
      const [row] = await target.sql()<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = 'cancelled' and application_name = 'datalakehouse-db-migrate' and xact_start is not null`;
      return row?.n === 0;
    }, 10_000);
  });

  it('waits for a destination slower than the source, the source\'s socket paused and resumed, and moves every row', async () => {
    const tables = Array.from({ length: 30 }, (_, i) => `w${i}`);
    await database(
      'slowwriter',
      tables.map((t) => `create table ${t} (id int primary key, body text);`).join('\n'),
      // Under a megabyte a table (larger ones are written frozen, alone), 25 MB bundled together: more than the
      // sockets hold while the destination dawdles.
      tables.map((t) => `insert into ${t} select g, repeat(md5(g::text), 40) from generate_series(1, 600) g;`).join('\n'),
      `create function dawdle() returns trigger language plpgsql as $$ begin if new.id % 50 = 0 then perform pg_sleep(0.01); end if; return new; end $$;
       create trigger dawdle before insert on w0 for each row execute function dawdle();`,
    );
    const { result, events } = await copy('slowwriter', { tuning: { bundleBytes: 64 * 1024 * 1024 } });
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(events.filter((e) => e.type === 'table:copied')).toHaveLength(30);
    expect(await fingerprint(target.sql('slowwriter'))).toEqual(await fingerprint(source.sql('slowwriter')));
    expect(bundledStatements(target, 'from stdin').some((entry) => entry.includes('"public"."w0"'))).toBe(true);
  });

  it.each([
    { side: 'source' as const, server: () => source, query: 'copy "public"' },
    { side: 'target' as const, server: () => target, query: 'copy "public"' },
  ])('fails a bundle whose $side backend is ended mid-copy as a lost connection, committing none of it, without waiting', async ({ side, server, query }) => {
    const dbname = `ended_${side}`;
    const tables = Array.from({ length: 20 }, (_, i) => `e${i}`);
    await database(
      dbname,
      tables.map((t) => `create table ${t} (id int primary key, body text);`).join('\n'),
      tables.map((t) => `insert into ${t} select g, repeat(md5(g::text), 40) from generate_series(1, 600) g;`).join('\n'),
      // The destination writes slowly and the tables outgrow the sockets: the bundle is under way on both sides,
      // the source waiting to send, when a backend ends.
      `create function slow() returns trigger language plpgsql as $$ begin if new.id % 50 = 0 then perform pg_sleep(0.02); end if; return new; end $$;
       create trigger slow before insert on e1 for each row execute function slow();`,
    );
    const killer = (async () => {
      await eventually('the bundle runs', async () => {
        const [row] = await server().sql()<{ n: number }[]>`
          select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
          where datname = ${dbname} and state = 'active' and query like ${`${query}%`} and query like '%;%'`;
        return (row?.n ?? 0) > 0;
      }, 10_000);
    })();
    const { result, events } = await copy(dbname, { tuning: { bundleBytes: 64 * 1024 * 1024 } });
    await killer;
    expect(result.isErr()).toBe(true);
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'connection', side });
    expect(events.filter((e) => e.type === 'table:copied')).toEqual([]);
    expect(await rowsOn(target, dbname, tables)).toEqual(tables.map(() => 0));
  });

  it('rejects with the source\'s error when the source fails half-way through a bundle, and the destination keeps none of it', async () => {
    await target.exec('create database brokensource');
    await target.exec('create table a (n int); create table b (n int); create table c (n int);', 'brokensource');
    const pool = (cluster: Cluster, dbname: string): ReturnType<typeof createPool> => {
      const config = normalizeConnection(cluster.uri(dbname), 'source')._unsafeUnwrap();
      return createPool({ host: config.host, port: config.port, database: dbname, username: config.username, password: config.password, onnotice: () => undefined });
    };
    const [reading, writing] = [pool(source, 'postgres'), pool(target, 'brokensource')];
    const [reader, writer] = await Promise.all([reading.reserve(), writing.reserve()]);
    try {
      await Promise.all([reader`select 1`, writer`select 1`]);
      const meter = (): { rows: number; bytes: number } => ({ rows: 0, bytes: 0 });
      const relayed = relayBundle(tappableSocket(reader)!, tappableSocket(writer)!, [
        { read: 'copy (select g from generate_series(1, 1000) g) to stdout', write: 'copy a from stdin', meter: meter() },
        { read: 'copy (select 1 / (15000 - g) from generate_series(1, 20000) g) to stdout', write: 'copy b from stdin', meter: meter() },
        { read: 'copy (select 1) to stdout', write: 'copy c from stdin', meter: meter() },
      ], () => undefined);
      const error = await within(10_000, 'the relay', relayed.then(() => null, (e: unknown) => e));
      expect(String(error)).toMatch(/division by zero/);
      expect(sideOf(error)).toBe('source');
      await eventually('the destination\'s transaction ends', async () => {
        const [row] = await target.sql()<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = 'brokensource' and application_name = 'datalakehouse-db-migrate' and xact_start is not null`;
        return row?.n === 0;
      }, 10_000);
      expect(await rowsOn(target, 'brokensource', ['a', 'b', 'c'])).toEqual([0, 0, 0]);
    } finally {
      reader.release();
      writer.release();
      await Promise.all([reading.end({ timeout: 1 }), writing.end({ timeout: 1 })]);
    }
  });

  /**
   * Ten tables `<prefix>0` to `<prefix>9` of 30 rows in `dbname` on the source, and an empty
   * `dbname` on the destination; returns the tables' schema, for the destination to be given later.
   */
  async function smallTables(dbname: string, prefix: string): Promise<string> {
    const tables = Array.from({ length: 10 }, (_, i) => `${prefix}${i}`);
    const schema = tables.map((t) => `create table ${t} (id int primary key);`).join('\n');
    await Promise.all([source.exec(`create database ${dbname}`), target.exec(`create database ${dbname}`)]);
    await source.exec(`${schema} ${tables.map((t) => `insert into ${t} select generate_series(1, 30);`).join('\n')}`, dbname);
    return schema;
  }

  /** When the source's log shows each statement that holds more than one COPY TO (log lines start with their time). */
  const bundledReadTimes = (): number[] => bundledStatements(source, 'to stdout').map((entry) => Date.parse(entry.slice(0, 23).replace(' ', 'T') + 'Z'));

  it('reads bundles of small tables off the source while the destination\'s tables are being made, rows longer than a socket read among them, and writes them byte for byte once they are', async () => {
    const tables = Array.from({ length: 30 }, (_, i) => `r${i}`);
    const schema = `${tables.map((t) => `create table ${t} (id int primary key, note text, at timestamptz);`).join('\n')}
       create table "odd; name" ("quote""d;--" text, "$1" int);
       create table long_rows (id int primary key, body text);
       alter table long_rows alter column body set storage external;`;
    await Promise.all([source.exec('create database ahead'), target.exec('create database ahead')]);
    await source.exec(
      `${schema}
       ${tables.map((t, i) => `insert into ${t} select g, repeat('x', g % 7) || E'\\t;', now() - g * interval '1 hour' from generate_series(1, ${10 * i}) g;`).join('\n')}
       insert into "odd; name" values ('a;b', 1), (null, 2);
       insert into long_rows select g, repeat(md5(g::text), 6000) from generate_series(1, 3) g;`,
      'ahead',
    );
    const before = bundledReadTimes().length;
    // The destination's tables come a while after the copy starts, as a pre-data restore's do.
    let madeAt = 0;
    const targetReady = new Promise<void>((resolve) => setTimeout(resolve, 1_500)).then(async () => {
      madeAt = Date.now();
      await target.exec(schema, 'ahead');
    });
    const { result, events } = await copy('ahead', { targetReady, jobs: 2 });
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(await fingerprint(target.sql('ahead'))).toEqual(await fingerprint(source.sql('ahead')));
    const reads = bundledReadTimes().slice(before);
    expect(reads.length).toBeGreaterThan(0);
    // Every bundle was read before the destination had a table to put it in, and none read again.
    for (const at of reads) expect(at).toBeLessThan(madeAt);
    const counted = Object.fromEntries(result._unsafeUnwrap().read.map((r) => [r.info.name, r.rows]));
    expect(counted).toMatchObject({ r0: 0, r1: 10, r29: 290, 'odd; name': 2, long_rows: 3 });
    expect(events.filter((e) => e.type === 'table:copied')).toHaveLength(32);
    expect(events.at(-1)).toMatchObject({ type: 'copy:progress', fraction: 1, tablesDone: 32 });
    expect(heldByReadAheads()).toBe(0);
  });

  it('reads ahead only as many bytes as it may hold, and copies the other bundles live', async () => {
    const tables = Array.from({ length: 12 }, (_, i) => `c${i}`);
    const schema = tables.map((t) => `create table ${t} (id int primary key, body text);`).join('\n');
    await Promise.all([source.exec('create database capped'), target.exec('create database capped')]);
    await source.exec(`${schema} ${tables.map((t) => `insert into ${t} select g, md5(g::text) from generate_series(1, 200) g;`).join('\n')}`, 'capped');
    const before = bundledReadTimes().length;
    let madeAt = 0;
    const targetReady = new Promise<void>((resolve) => setTimeout(resolve, 1_000)).then(async () => {
      madeAt = Date.now();
      await target.exec(schema, 'capped');
    });
    // Bundles of three tables; the first one read is already more than the process may hold.
    const { result } = await copy('capped', { targetReady, tuning: { bundleTables: 3, readAheadBytes: 1 } });
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(await fingerprint(target.sql('capped'))).toEqual(await fingerprint(source.sql('capped')));
    const reads = bundledReadTimes().slice(before);
    expect(reads.filter((at) => at < madeAt)).toHaveLength(1);
    expect(reads.filter((at) => at >= madeAt)).toHaveLength(3);
    expect(heldByReadAheads()).toBe(0);
  });

  it('reads again, live, the bundles whose destination tables turn out unlike the source\'s, and copies every row right', async () => {
    const tables = Array.from({ length: 12 }, (_, i) => `m${i}`);
    const sourceSchema = tables.map((t) => `create table ${t} (id int primary key, n int not null);`).join('\n');
    await Promise.all([source.exec('create database unlike'), target.exec('create database unlike')]);
    await source.exec(`${sourceSchema} ${tables.map((t) => `insert into ${t} select g, -g from generate_series(1, 40) g;`).join('\n')}`, 'unlike');
    const before = bundledReadTimes().length;
    // Read ahead in binary as int4; the destination's bigint columns take int4's binary form as garbage, or refuse it.
    const targetReady = new Promise<void>((resolve) => setTimeout(resolve, 1_000)).then(() =>
      target.exec(tables.map((t) => `create table ${t} (id bigint primary key, n bigint not null);`).join('\n'), 'unlike'),
    );
    const { result } = await copy('unlike', { targetReady });
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(await fingerprint(target.sql('unlike'))).toEqual(await fingerprint(source.sql('unlike')));
    // Read twice: ahead, then live as text.
    const statements = bundledStatements(source, 'to stdout').slice(before);
    expect(statements.some((entry) => entry.includes('format binary'))).toBe(true);
    expect(statements.some((entry) => !entry.includes('format binary'))).toBe(true);
    expect(heldByReadAheads()).toBe(0);
  });

  it('ends the copy with the destination\'s failure when its tables never come, while bundles are read ahead, leaving no session behind', async () => {
    await smallTables('nevermade', 'f');
    const targetReady = new Promise<void>((resolve) => setTimeout(resolve, 500)).then(() => {
      throw Object.assign(new Error('the pre-data restore failed'), { restore: true });
    });
    const { result } = await copy('nevermade', { targetReady });
    expect(result.isErr()).toBe(true);
    expect(result._unsafeUnwrapErr().message).toMatch(/the pre-data restore failed/);
    // What it read ahead is let go: later copies of the process may read ahead as much.
    expect(heldByReadAheads()).toBe(0);
    await eventually('no session of the copy is left in a transaction on the source', async () => {
      const [row] = await source.sql()<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = 'nevermade' and application_name = 'datalakehouse-db-migrate' and xact_start is not null`;
      return row?.n === 0;
    }, 10_000);
  });

  it('fails as a lost source connection when the source\'s sessions end while the destination\'s tables are being made, after bundles were read ahead', async () => {
    const schema = await smallTables('sourcegone', 'g');
    const targetReady = new Promise<void>((resolve) => setTimeout(resolve, 800)).then(async () => {
      // The copy's snapshot and its reader, idle in their transactions while the destination is being made.
      const [ended] = await source.sql()<{ n: number }[]>`
        select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
        where datname = 'sourcegone' and application_name = 'datalakehouse-db-migrate' and state = 'idle in transaction'`;
      expect(ended?.n).toBeGreaterThan(0);
      await target.exec(schema, 'sourcegone');
    });
    const { result } = await copy('sourcegone', { targetReady, jobs: 2 });
    expect(result.isErr()).toBe(true);
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'connection', side: 'source' });
    expect(heldByReadAheads()).toBe(0);
  });

  it('fails as a lost source connection, saying so, when the session holding the snapshot ends before a worker could take it up', async () => {
    const schema = await smallTables('holdergone', 'h');
    const targetReady = new Promise<void>((resolve) => setTimeout(resolve, 800)).then(async () => {
      const [ended] = await source.sql()<{ n: number }[]>`
        select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
        where datname = 'holdergone' and application_name = 'datalakehouse-db-migrate' and query like 'select pg_export_snapshot()%'`;
      expect(ended?.n).toBe(1);
      await target.exec(schema, 'holdergone');
    });
    // Bundles of two tables: a second worker opens a session of its own, which must take up the snapshot.
    const { result } = await copy('holdergone', { targetReady, jobs: 2, tuning: { bundleTables: 2 } });
    expect(result.isErr()).toBe(true);
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'connection', side: 'source' });
    expect(result._unsafeUnwrapErr().message).toMatch(/holding the copy's snapshot .* ended/);
  });

  it('rejects a read ahead with the source\'s error when the source fails half-way through a bundle, and ends the session', async () => {
    const config = normalizeConnection(source.uri('postgres'), 'source')._unsafeUnwrap();
    const reading = createPool({ host: config.host, port: config.port, database: 'postgres', username: config.username, password: config.password, onnotice: () => undefined });
    const reader = await reading.reserve();
    try {
      await reader`select 1`;
      const socket = tappableSocket(reader)!;
      const ahead = new ReadAhead(socket, [
        ['copy (select g from generate_series(1, 1000) g) to stdout', 'copy (select 2) to stdout'],
        ['copy (select 1) to stdout', 'copy (select 1 / (15000 - g) from generate_series(1, 20000) g) to stdout', 'copy (select 3) to stdout'],
        ['copy (select 4) to stdout', 'copy (select 5) to stdout'],
      ]);
      await within(10_000, 'the read ahead', ahead.finished);
      const error = await ahead.stop().then(() => null, (e: unknown) => e);
      expect(String(error)).toMatch(/division by zero/);
      expect(sideOf(error)).toBe('source');
      // The bundle read before the failure is there; none after it was read.
      expect(ahead.take(['copy (select g from generate_series(1, 1000) g) to stdout', 'copy (select 2) to stdout'])?.tables).toEqual([
        { rows: 1000, bytes: expect.any(Number) },
        { rows: 1, bytes: 2 },
      ]);
      expect(ahead.take(['copy (select 4) to stdout', 'copy (select 5) to stdout'])).toBeUndefined();
    } finally {
      reader.release();
      await reading.end({ timeout: 1 });
    }
  });
});
