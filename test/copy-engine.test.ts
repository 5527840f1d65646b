import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryReadable, copyDatabase, type CopyRequest } from '../src/copy/copy-engine.js';
import { copyIn, copyOut } from '../src/copy/copy-streams.js';
import type { MigrationEvent } from '../src/events.js';
import { normalizeConnection } from '../src/options.js';
import { openConnection, type Connection } from '../src/pg/connect.js';
import { createPool } from '../src/pg/pool.js';
import { tappableSocket } from '../src/pg/session-sockets.js';
import { readTableLayouts, readTargetTables } from '../src/pg/queries/table-pages.js';
import { listSizedTables } from '../src/pg/queries/tables.js';
import { planCopy } from '../src/copy/copy-plan.js';
import { Budget } from '../src/util/budget.js';
import { Redactor } from '../src/redact.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { eventually, fingerprint, within } from './support/compare.js';

const APP = 'datalakehouse-db-migrate';


/** A pool on `dbname` of `cluster`, as the engine is given one; kept in `open` to be closed. */
async function openSide(open: Connection[], cluster: Cluster, side: 'source' | 'target', dbname: string, sslmode?: string): Promise<Connection> {
  const config = normalizeConnection(cluster.uri(dbname, sslmode ? { sslmode } : {}), side)._unsafeUnwrap();
  const connection = (await openConnection(config, side, dbname, new Redactor([cluster.password]), { max: 4 }))._unsafeUnwrap();
  open.push(connection);
  return connection;
}

describe('the copy engine', () => {
  let source: Cluster;
  let target: Cluster;
  const open: Connection[] = [];

  const connect = (cluster: Cluster, side: 'source' | 'target', dbname: string): Promise<Connection> => openSide(open, cluster, side, dbname);

  /** A database on both sides with the same tables, filled on the source by `fill`. */
  async function database(dbname: string, schema: string, fill: string, targetOnly = ''): Promise<void> {
    await Promise.all([source.exec(`create database ${dbname}`), target.exec(`create database ${dbname}`)]);
    await Promise.all([source.exec(schema + fill, dbname), target.exec(schema + targetOnly, dbname)]);
  }

  async function copy(dbname: string, extra: Partial<CopyRequest> = {}): Promise<{ result: Awaited<ReturnType<typeof copyDatabase>>; events: MigrationEvent[] }> {
    const events: MigrationEvent[] = [];
    const request: CopyRequest = {
      dbname,
      source: await connect(source, 'source', dbname),
      target: await connect(target, 'target', dbname),
      sourceConfig: normalizeConnection(source.uri(dbname), 'source')._unsafeUnwrap(),
      jobs: 2,
      redactor: new Redactor([source.password, target.password]),
      emit: (event) => events.push(event),
      ...extra,
    };
    const result = await within(30_000, 'copyDatabase()', copyDatabase(request));
    return { result, events };
  }

  /** A pool whose reserved sessions are one connection each, as the engine's workers use. */
  function sessionPool(cluster: Cluster, dbname: string): ReturnType<typeof createPool> {
    const config = normalizeConnection(cluster.uri(dbname), 'source')._unsafeUnwrap();
    return createPool({ host: config.host, port: config.port, database: dbname, username: config.username, password: config.password, onnotice: () => undefined });
  }

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
  }, 120_000);

  afterAll(async () => {
    await Promise.all(open.map((c) => c.sql.end({ timeout: 1 }).catch(() => undefined)));
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('copies an empty table, and the rows of a table whose columns are all generated or dropped', async () => {
    await database(
      'shapes',
      `create table empty (id int primary key, note text);
       create table hollow (gone int, total int generated always as (42) stored);
       alter table hollow drop column gone;
       create table plain (id int primary key, note text);`,
      `insert into hollow select from generate_series(1, 7);
       insert into plain select g, 'n' || g from generate_series(1, 500) g;`,
    );
    const { result, events } = await copy('shapes');
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(result._unsafeUnwrap()).toMatchObject({ tables: 3, rows: 507 });
    expect(await fingerprint(target.sql('shapes'))).toEqual(await fingerprint(source.sql('shapes')));
    const copied = events.filter((e) => e.type === 'table:copied').map((e) => e.type === 'table:copied' && [e.table, e.rows]);
    expect(copied).toEqual(expect.arrayContaining([['empty', 0], ['hollow', 7], ['plain', 500]]));
  });

  it('writes a table of a megabyte or more frozen, so no vacuum rewrites it, and as before a small one, one a foreign key references and one a TRUNCATE trigger watches', async () => {
    const filled = (name: string): string => `insert into ${name} select g, repeat(md5(g::text), 3) from generate_series(1, 20000) g;`;
    await database(
      'frozen',
      `create table "Large ""quoted"" one" (id int primary key, note text);
       create table small (id int primary key, note text);
       create table referenced (id int primary key, note text);
       create table watched (id int primary key, note text);`,
      filled('"Large ""quoted"" one"') + filled('referenced') + filled('watched') + 'insert into small select g, md5(g::text) from generate_series(1, 100) g;',
      // On the destination only: what would make emptying a table first fail, or do something.
      `create table pointer (id int references referenced);
       create table truncations (at timestamptz);
       create function record_truncation() returns trigger language plpgsql as $$ begin insert into truncations values (now()); return null; end $$;
       create trigger on_truncate after truncate on watched for each statement execute function record_truncation();
       create extension pg_visibility;`,
    );
    const { result } = await copy('frozen');
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    const copied = (await fingerprint(target.sql('frozen'))).tables;
    expect({ ...copied, 'public.pointer': undefined, 'public.truncations': undefined }).toEqual({
      ...(await fingerprint(source.sql('frozen'))).tables,
      'public.pointer': undefined,
      'public.truncations': undefined,
    });
    const frozen = async (table: string): Promise<boolean> => {
      const [row] = await target.sql('frozen')<{ frozen: boolean }[]>`
        select count(*) > 0 and bool_and(all_frozen and all_visible) as frozen from pg_visibility_map(${table}::regclass)`;
      return row?.frozen ?? false;
    };
    expect(await frozen('"Large ""quoted"" one"')).toBe(true);
    expect(await frozen('small')).toBe(false);
    expect(await frozen('referenced')).toBe(false);
    expect(await frozen('watched')).toBe(false);
    expect(await target.sql('frozen')`select * from truncations`).toHaveLength(0);
  });

  it('moves rows larger than a gathered chunk, and the small rows around them, byte for byte', async () => {
    await database(
      'gathered',
      'create table mixed (id int primary key, payload text not null);',
      // Every tenth row is 100 kB, larger than the 64 kB chunks the rows are gathered into; the rest are a few bytes.
      `alter table mixed alter column payload set storage external;
       insert into mixed select g, case when g % 10 = 0 then repeat(md5(g::text), 3200) else 'r' || g || E'\\t\\n\\\\' end from generate_series(1, 3000) g;`,
    );
    const { result, events } = await copy('gathered', { jobs: 1, tuning: { batchBytes: 64 * 1024 } });
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(result._unsafeUnwrap()).toMatchObject({ tables: 1, rows: 3000 });
    expect(await fingerprint(target.sql('gathered'))).toEqual(await fingerprint(source.sql('gathered')));
    expect(events.filter((e) => e.type === 'copy:progress').at(-1)).toMatchObject({ fraction: 1, rowsDone: 3000 });
  });

  it('copies in binary, when asked, the same rows as in text', async () => {
    await database(
      'inbinary',
      'create table typed (id int primary key, amount numeric, at timestamptz, tags text[], doc jsonb, note text);',
      `insert into typed select g, g * 1.5, now() - g * interval '1 hour', array['a', g::text], jsonb_build_object('g', g), null
       from generate_series(1, 3000) g;`,
    );
    const { result } = await copy('inbinary', { tuning: { binary: true, splitBytes: 64 * 1024, rangeBytes: 64 * 1024 } });
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(await fingerprint(target.sql('inbinary'))).toEqual(await fingerprint(source.sql('inbinary')));
  });

  it('reads as of a snapshot the caller exported, not its own', async () => {
    await database('given', 'create table items (id int primary key);', 'insert into items select generate_series(1, 100);');
    const holder = await source.sql('given').reserve();
    try {
      await holder`begin isolation level repeatable read read only`;
      const [row] = await holder<{ id: string }[]>`select pg_export_snapshot() as id`;
      await source.exec('insert into items select generate_series(101, 150)', 'given');
      const { result } = await copy('given', { snapshot: row?.id as string });
      expect(result.isOk(), JSON.stringify(result)).toBe(true);
      const [count] = await target.sql('given')<{ n: number }[]>`select count(*)::int as n from items`;
      expect(count?.n).toBe(100);
    } finally {
      await holder`rollback`;
      holder.release();
    }
  });

  it('fails on a row the destination rejects half-way, counting no table it did not commit whole', async () => {
    await database(
      'halfway',
      'create table ledger (id int primary key, amount int not null); create table other (id int primary key);',
      `insert into ledger select g, g from generate_series(1, 20000) g;
       update ledger set amount = -1 where id = 10000;
       insert into other select generate_series(1, 10);`,
      'alter table ledger add constraint positive check (amount > 0);',
    );
    const { result, events } = await copy('halfway', { jobs: 1 });
    expect(result.isErr()).toBe(true);
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'copy' });
    expect(result._unsafeUnwrapErr().message).toMatch(/positive/);
    expect(events.filter((e) => e.type === 'table:copied' && e.table === 'ledger')).toEqual([]);
    const [count] = await target.sql('halfway')<{ n: number }[]>`select count(*)::int as n from ledger`;
    expect(count?.n).toBe(0);
  });

  it('fails when the destination rejects a COPY after its last row, instead of waiting forever (postgres.js #1173)', async () => {
    await database(
      'lastrow',
      'create table audited (id int primary key);',
      'insert into audited select generate_series(1, 50);',
      `create function refuse() returns trigger language plpgsql as $$ begin raise exception 'refused after the last row'; end $$;
       create trigger refuse after insert on audited for each statement execute function refuse();`,
    );
    const { result } = await copy('lastrow');
    expect(result.isErr()).toBe(true);
    expect(result._unsafeUnwrapErr().message).toMatch(/refused after the last row/);
  });

  it.each([
    { path: "postgres.js's readable (a connection the library did not open)", tap: false },
    { path: 'rows taken off the socket', tap: true },
  ])('answers the next query on a session whose COPY TO ended under backpressure (postgres.js #917), $path', async ({ tap }) => {
    const dbname = `paused_${tap}`;
    await source.exec(`create database ${dbname}`);
    await source.exec('create table rows (id int, payload text); insert into rows select g, repeat(md5(g::text), 8) from generate_series(1, 4000) g;', dbname);
    const config = normalizeConnection(source.uri(dbname), 'source')._unsafeUnwrap();
    const pool = createPool({ host: config.host, port: config.port, database: dbname, username: config.username, password: config.password, onnotice: () => undefined });
    const session = await pool.reserve();
    await session`select 1`;
    expect(tappableSocket(session) !== undefined).toBe(true);
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        // Each row its own chunk, as postgres.js pushes them: the last row's push then meets a full stream.
        const out = await copyOut(session, 'copy rows to stdout', { batchBytes: 1, tap });
        // A slow reader: every chunk the socket delivers waits, so pushes meet a full stream, the last one included.
        await new Promise((resolve) => setTimeout(resolve, 50));
        let rows = 0;
        for await (const chunk of out.stream) {
          rows += (chunk as Buffer).length > 0 ? 1 : 0;
          if (rows % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        }
        expect(await within(5_000, 'the COPY TO', out.done)).toBe(4000);
        const [row] = await within(5_000, 'the query after the COPY', session<{ n: number }[]>`select 1 as n`);
        expect(row?.n).toBe(1);
      }
    } finally {
      session.release();
      await pool.end({ timeout: 1 });
    }
  });

  it.each([
    { path: "postgres.js's writable (a connection the library did not open)", tap: false },
    { path: 'rows written straight to the socket', tap: true },
  ])('settles a COPY FROM the server rejects after the last row with the server\'s error (postgres.js #1173), $path', async ({ tap }) => {
    const dbname = `settles_${tap}`;
    await target.exec(`create database ${dbname}`);
    await target.exec(
      `create table t (id int);
       create function refuse() returns trigger language plpgsql as $$ begin raise exception 'no rows today'; end $$;
       create trigger refuse after insert on t for each statement execute function refuse();`,
      dbname,
    );
    const config = normalizeConnection(target.uri(dbname), 'target')._unsafeUnwrap();
    const pool = createPool({ host: config.host, port: config.port, database: dbname, username: config.username, password: config.password, onnotice: () => undefined });
    const session = await pool.reserve();
    try {
      const into = await copyIn(session, 'copy t from stdin', tap);
      into.stream.end('1\n2\n3\n');
      await expect(within(5_000, 'the COPY FROM', into.done)).rejects.toThrow(/no rows today/);
      const [row] = await within(5_000, 'the query after the COPY', session<{ n: number }[]>`select 1 as n`);
      expect(row?.n).toBe(1);
    } finally {
      session.release();
      await pool.end({ timeout: 1 });
    }
  });

  it('ends the source\'s backend when a session is closed while its COPY TO waits for rows to be read', async () => {
    await source.exec('create database abandoned');
    await source.exec('create table rows as select g as id, md5(g::text) as note from generate_series(1, 300000) g', 'abandoned');
    const pool = sessionPool(source, 'abandoned');
    const session = await pool.reserve();
    await session`select 1`;
    expect(tappableSocket(session) !== undefined).toBe(true);
    const out = await copyOut(session, 'copy rows to stdout');
    // One chunk read, then nobody reads on: the socket is paused for backpressure, as when the destination lags.
    await new Promise<void>((resolve) => out.stream.once('data', () => resolve()));
    out.stream.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // How the engine drops its sessions when a run is cancelled or fails (worker-sessions.ts).
    await session.end({ timeout: 1 }).catch(() => undefined);
    session.release();
    await pool.end({ timeout: 1 });
    const running = async (): Promise<number> => {
      const [row] = await source.sql('abandoned')<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where datname = 'abandoned' and query ilike 'copy rows%' and state = 'active'`;
      return row?.n ?? 0;
    };
    await eventually('the COPY TO ends on the source', async () => (await running()) === 0, 10_000);
    // Nothing holds the table: DDL gets its lock at once.
    await source.sql('abandoned').begin(async (tx) => {
      await tx`set local lock_timeout = '2s'`;
      await tx`lock table rows in access exclusive mode`;
    });
  });

  it('sends a small COPY FROM\'s statement, rows and end in one write, and answers the next query on the session', async () => {
    await target.exec('create database one_write');
    await target.exec('create table t (id int primary key, note text)', 'one_write');
    // A relay between the session and the server that counts what the session sends, read by read.
    const reads: Buffer[] = [];
    const relay = createServer((client) => {
      const server = netConnect(target.port, target.host);
      client.on('data', (chunk: Buffer) => {
        reads.push(chunk);
        server.write(chunk);
      });
      server.pipe(client);
      client.on('close', () => server.destroy());
      server.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const port = (relay.address() as AddressInfo).port;
    const config = normalizeConnection(target.uri('one_write'), 'target')._unsafeUnwrap();
    const pool = createPool({ host: '127.0.0.1', port, database: 'one_write', username: config.username, password: config.password, onnotice: () => undefined });
    const session = await pool.reserve();
    try {
      await session`select 1`;
      expect(tappableSocket(session) !== undefined).toBe(true);
      const before = reads.length;
      const into = await copyIn(session, 'copy t from stdin');
      into.stream.end('1\tone\n2\ttwo\n');
      expect(await within(5_000, 'the COPY FROM', into.done)).toBe(2);
      // One round trip: the statement did not wait for the server's CopyInResponse to send the rows.
      expect(reads.slice(before).map((read) => String.fromCharCode(read[0] as number))).toEqual(['Q']);
      const sent = Buffer.concat(reads.slice(before)).toString('latin1');
      expect(sent).toMatch(/^Q.{4}copy t from stdin\0d.{4}1\tone\n2\ttwo\nc\0\0\0\x04$/s);
      const rows = await within(5_000, 'the query after the COPY', session<{ id: number; note: string }[]>`select id, note from t order by id`);
      expect(rows).toEqual([{ id: 1, note: 'one' }, { id: 2, note: 'two' }]);
    } finally {
      session.release();
      await pool.end({ timeout: 1 });
      relay.close();
    }
  });

  it('fails a COPY FROM whose statement the server refuses with the server\'s error, committing nothing, and answers the next query', async () => {
    await target.exec('create database refused_copy');
    const pool = sessionPool(target, 'refused_copy');
    const session = await pool.reserve();
    try {
      await session`select 1`;
      expect(tappableSocket(session) !== undefined).toBe(true);
      const into = await copyIn(session, 'copy missing from stdin');
      into.stream.end('1\n');
      await expect(within(5_000, 'the COPY FROM', into.done)).rejects.toMatchObject({ code: '42P01', message: expect.stringContaining('"missing" does not exist') });
      const [row] = await within(5_000, 'the query after the COPY', session<{ n: number }[]>`select 1 as n`);
      expect(row?.n).toBe(1);
    } finally {
      session.release();
      await pool.end({ timeout: 1 });
    }
  });

  it('takes a COPY TO off the socket with the server\'s notices among its rows, every row in order', async () => {
    await source.exec('create database noisy');
    await source.exec(
      `create function noisy(g int) returns text language plpgsql as $$
         begin if g % 1000 = 0 then raise notice 'row %', g; end if; return g::text || repeat('.', g % 50); end $$;`,
      'noisy',
    );
    const pool = sessionPool(source, 'noisy');
    const session = await pool.reserve();
    try {
      await session`select 1`;
      const out = await copyOut(session, 'copy (select noisy(g) from generate_series(1, 20000) g) to stdout');
      const chunks: Buffer[] = [];
      for await (const chunk of out.stream) chunks.push(chunk as Buffer);
      expect(await within(5_000, 'the COPY TO', out.done)).toBe(20000);
      const lines = Buffer.concat(chunks).toString().split('\n').slice(0, -1);
      expect(lines).toEqual(Array.from({ length: 20000 }, (_, i) => `${i + 1}${'.'.repeat((i + 1) % 50)}`));
      const [row] = await within(5_000, 'the query after the COPY', session<{ n: number }[]>`select 1 as n`);
      expect(row?.n).toBe(1);
    } finally {
      session.release();
      await pool.end({ timeout: 1 });
    }
  });

  it('fails a COPY TO the source ends with an error half-way: the rows never end, the session answers again', async () => {
    await source.exec('create database brokenread');
    const pool = sessionPool(source, 'brokenread');
    const session = await pool.reserve();
    try {
      await session`select 1`;
      const out = await copyOut(session, 'copy (select 1 / (15000 - g) from generate_series(1, 20000) g) to stdout');
      let ended = false;
      out.stream.on('end', () => {
        ended = true;
      });
      const failed = new Promise<unknown>((resolve) => out.stream.once('error', resolve));
      out.stream.resume();
      await expect(within(5_000, 'the COPY TO', out.done)).rejects.toThrow(/division by zero/);
      expect(String(await within(5_000, 'the stream\'s error', failed))).toMatch(/division by zero/);
      expect(ended).toBe(false);
      const [row] = await within(5_000, 'the query after the COPY', session<{ n: number }[]>`select 1 as n`);
      expect(row?.n).toBe(1);
    } finally {
      session.release();
      await pool.end({ timeout: 1 });
    }
  });

  for (const tap of [true, false]) {
    it(`fails a COPY TO the source refuses at its first row, its error in the same read as the COPY's start, without an unheard error (${tap ? 'tapped' : 'postgres.js\'s stream'})`, async () => {
      const pool = sessionPool(source, 'postgres');
      const session = await pool.reserve();
      try {
        await session`select 1`;
        const out = await copyOut(session, 'copy (select 1 / (g - 1) from generate_series(1, 3) g) to stdout', { tap });
        out.stream.resume();
        await expect(within(5_000, 'the COPY TO', out.done)).rejects.toThrow(/division by zero/);
        const [row] = await within(5_000, 'the query after the COPY', session<{ n: number }[]>`select 1 as n`);
        expect(row?.n).toBe(1);
      } finally {
        session.release();
        await pool.end({ timeout: 1 });
      }
    });
  }

  it('copies in binary by default, and as text the tables whose types (or their arrays\' elements) can\'t travel that way or differ on the destination', async () => {
    await database(
      'formats',
      `create type mood as enum ('sad', 'ok', 'happy');
       create type pair as (a int, b text);
       create domain positive as int check (value > 0);
       create table plain (id int primary key, amount numeric, at timestamptz, tags text[], doc jsonb, money money, span int4range);
       create table moods (id int primary key, now mood, history mood[], score positive);
       create table pairs (id int primary key, p pair, ps pair[]);
       create table widened (id int primary key, n int);
       create table grants (id int primary key, acl aclitem[]);`,
      `insert into plain select g, g * 1.5, now() - g * interval '1 hour', array['a', g::text], jsonb_build_object('g', g), g, int4range(g, g + 10)
         from generate_series(1, 2000) g;
       insert into moods select g, 'ok', array['sad', 'happy']::mood[], g from generate_series(1, 2000) g;
       insert into pairs select g, row(g, 'x')::pair, array[row(g, 'y')::pair] from generate_series(1, 2000) g;
       insert into widened select g, g from generate_series(1, 2000) g;
       insert into grants values (1, '{postgres=arwdDxt/postgres}');`,
      // The destination's table was made wider by hand: binary int4 rows would not read as int8.
      'alter table widened alter column n type bigint;',
    );
    const { result } = await copy('formats', { jobs: 1 });
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(await fingerprint(target.sql('formats'))).toEqual(await fingerprint(source.sql('formats')));
    // The plan the copy made, from both clusters' catalogs.
    const [tables, layouts, targetTypes] = await Promise.all([listSizedTables(source.sql('formats')), readTableLayouts(source.sql('formats')), readTargetTables(target.sql('formats'))]);
    const plan = planCopy(tables, layouts, { binary: true, canSplit: true, splitBytes: 1e12, rangeBytes: 1e12, freeze: false }, targetTypes);
    expect(Object.fromEntries(plan.map((item) => [item.table.info.name, item.table.format]))).toEqual({ plain: 'binary', moods: 'text', pairs: 'text', widened: 'text', grants: 'text' });
  });

  it('keeps its snapshot while other databases hold every copy slot, on a source whose idle transactions time out', async () => {
    await database(
      'waits',
      `create table a (id int primary key, v text); create table b (id int primary key, v text);`,
      `insert into a select g, 'a' from generate_series(1, 1000) g; insert into b select g, 'b' from generate_series(1, 1000) g;`,
    );
    await source.exec(`alter database waits set idle_in_transaction_session_timeout = '500ms'`);
    // Another database's copies hold both slots of the run for a while.
    const budget = new Budget(2);
    const held = [budget.run(() => new Promise((resolve) => setTimeout(resolve, 2_000))), budget.run(() => new Promise((resolve) => setTimeout(resolve, 2_000)))];
    const { result } = await copy('waits', { jobs: 2, budget });
    await Promise.all(held);
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(await fingerprint(target.sql('waits'))).toEqual(await fingerprint(source.sql('waits')));
  });

  it('copies the tables foreign keys reference first, then the largest first', async () => {
    await database(
      'referenced',
      `create table lookup (id int primary key, name text);
       create table small_child (id int primary key, lookup_id int references lookup);
       create table big_child (id int primary key, lookup_id int references lookup, note text);
       create table unrelated (id int primary key, note text);`,
      `insert into lookup select g, 'l' || g from generate_series(1, 10) g;
       insert into small_child select g, 1 + g % 10 from generate_series(1, 1000) g;
       insert into big_child select g, 1 + g % 10, repeat('x', 200) from generate_series(1, 20000) g;
       insert into unrelated select g, repeat('y', 100) from generate_series(1, 5000) g;`,
    );
    const { result, events } = await copy('referenced', { jobs: 1 });
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    const order = events.flatMap((e) => (e.type === 'table:copied' ? [e.table] : []));
    expect(order).toEqual(['lookup', 'big_child', 'unrelated', 'small_child']);
  });

  it('copies 300 tiny tables on at most jobs * 2 connections a side, with progress ending at exactly 100%', async () => {
    const tables = Array.from({ length: 300 }, (_, i) => `create table t${i} (id int primary key, note text);`).join('\n');
    await database(
      'tiny',
      tables,
      `do $$ begin for i in 0..299 loop execute format('insert into t%s select g, md5(g::text) from generate_series(1, 20) g', i); end loop; end $$;`,
    );
    const peak = { source: 0, target: 0 };
    let sampling = true;
    const count = async (cluster: Cluster): Promise<number> => {
      const [row] = await cluster.sql()<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity where datname = 'tiny' and application_name = ${APP}`;
      return row?.n ?? 0;
    };
    const sampler = (async () => {
      while (sampling) {
        const [s, t] = await Promise.all([count(source), count(target)]);
        peak.source = Math.max(peak.source, s);
        peak.target = Math.max(peak.target, t);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const started = Date.now();
    const { result, events } = await copy('tiny', { jobs: 2 });
    const took = Date.now() - started;
    sampling = false;
    await sampler;
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(result._unsafeUnwrap()).toMatchObject({ tables: 300, rows: 6000 });
    expect(peak.source).toBeGreaterThan(0);
    expect(peak.source).toBeLessThanOrEqual(4);
    expect(peak.target).toBeLessThanOrEqual(4);
    expect(took).toBeLessThan(20_000);
    const last = events.filter((e) => e.type === 'table:copied').at(-1);
    expect(last?.type === 'table:copied' && last.estimatedBytes).toBe(last?.type === 'table:copied' && last.bytesDone);
    const progress = events.filter((e) => e.type === 'copy:progress').at(-1);
    expect(progress).toMatchObject({ fraction: 1, tablesDone: 300, tablesTotal: 300, rowsDone: 6000, etaMs: 0 });
    expect(progress?.type === 'copy:progress' && progress.estimatedBytes).toBe(progress?.type === 'copy:progress' && progress.bytesDone);
  });

  it('reports progress while a large table streams, not only at its end', async () => {
    await database(
      'streaming',
      'create table big (id int primary key, payload text not null);',
      `insert into big select g, md5(g::text) || md5(g::text) from generate_series(1, 400000) g;`,
    );
    const { result, events } = await copy('streaming', { jobs: 1, tuning: { batchBytes: 64 * 1024 } });
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    const during = events.filter((e) => e.type === 'copy:progress' && e.tablesDone === 0 && e.bytesDone > 0);
    expect(during.length).toBeGreaterThan(0);
    for (const e of during) expect(e.type === 'copy:progress' && e.fraction).toBeLessThan(1);
    expect(events.at(-1)).toMatchObject({ type: 'copy:progress', fraction: 1, rowsDone: 400000 });
  });
});

describe('the copy engine splitting a large table', () => {
  let source: Cluster;
  let newer: Cluster;
  let older: Cluster;
  const open: Connection[] = [];

  beforeAll(async () => {
    // Every statement in the logs: the COPYs a table was read and written by are counted there.
    const logged = { log_statement: "'all'" };
    [source, newer, older] = (await startClusters([{ major: 15, settings: logged }, { major: 17, settings: logged }, { major: 15, settings: logged }])) as [Cluster, Cluster, Cluster];
    await source.exec('create database ranges');
    await source.exec(
      `create table wide (id int primary key, payload text not null);
       insert into wide select g, repeat(md5(g::text), 4) from generate_series(1, 40000) g;
       delete from wide where id between 5000 and 30000;
       delete from wide where id % 7 = 0;`,
      'ranges',
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(open.map((c) => c.sql.end({ timeout: 1 }).catch(() => undefined)));
    await Promise.all([source?.stop(), newer?.stop(), older?.stop()]);
  });

  /** The COPY TO statements the source has run, as its log has them. */
  const sourceReads = (): string[] =>
    readFileSync(source.logFile, 'utf8')
      .split('\n')
      .flatMap((line) => /statement: (copy .* to stdout.*)$/i.exec(line)?.[1] ?? []);

  /** copyDatabase() of `dbname` from the source into `target`, on sessions opened for it. */
  async function copyBetween(target: Cluster, dbname: string, request: Partial<CopyRequest> = {}): Promise<Awaited<ReturnType<typeof copyDatabase>>> {
    const connect = (cluster: Cluster, side: 'source' | 'target'): Promise<Connection> => openSide(open, cluster, side, dbname);
    return within(30_000, 'copyDatabase()', copyDatabase({
      dbname,
      source: await connect(source, 'source'),
      target: await connect(target, 'target'),
      sourceConfig: normalizeConnection(source.uri(dbname), 'source')._unsafeUnwrap(),
      jobs: 2,
      redactor: new Redactor([source.password, target.password]),
      emit: () => undefined,
      ...request,
    }));
  }

  async function copyInto(target: Cluster): Promise<{ result: Awaited<ReturnType<typeof copyDatabase>>; events: MigrationEvent[]; hooked: string[]; copies: number }> {
    await target.exec('create database ranges');
    await target.exec('create table wide (id int primary key, payload text not null);', 'ranges');
    const events: MigrationEvent[] = [];
    const hooked: string[] = [];
    const result = await copyBetween(target, 'ranges', {
      emit: (event) => events.push(event),
      // About 7 MB of heap in 256 KB ranges: most of them empty pages.
      tuning: { splitBytes: 512 * 1024, rangeBytes: 256 * 1024 },
      onTablesCopied: async (tables) => {
        hooked.push(...tables.map((table) => table.name));
      },
    });
    const log = readFileSync(target.logFile, 'utf8');
    const copies = log.split('\n').filter((line) => /statement: (truncate only "public"\."wide"; )?copy "public"\."wide"/i.test(line)).length;
    return { result, events, hooked, copies };
  }

  it('copies it in ctid ranges into PostgreSQL 16+, even ranges left empty by deleted rows, and counts the table once when all are in', async () => {
    const { result, events, hooked, copies } = await copyInto(newer);
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(copies).toBeGreaterThan(10);
    // A range needs a WHERE, so it is read through a query.
    expect(sourceReads().filter((read) => read.startsWith('copy (select "id", "payload" from only "public"."wide" where ctid >= ')).length).toBeGreaterThan(10);
    expect(await fingerprint(newer.sql('ranges'))).toEqual(await fingerprint(source.sql('ranges')));
    expect(hooked).toEqual(['wide']);
    const copied = events.filter((e) => e.type === 'table:copied');
    expect(copied).toHaveLength(1);
    expect(copied[0]).toMatchObject({ rows: result._unsafeUnwrap().rows, tablesDone: 1, tablesTotal: 1 });
  });

  it('copies the built-in types in binary into a newer major, every value read back the same, edge values included', async () => {
    const kinds = `create type mood as enum ('sad', 'ok', 'happy');
      create table kinds (id int primary key, n numeric, r real, d double precision, m money, b bool, bt bytea,
        ts timestamp, tz timestamptz, dt date, tm time, ttz timetz, iv interval, j json, jb jsonb, u uuid,
        ip inet, net cidr, mac macaddr, bits bit varying(16), tv tsvector, tq tsquery, ir int4range, mr int4multirange,
        words text[], grid int[], e mood, pt point, x xml, ch char(3), lsn pg_lsn)`;
    await source.exec('create database kinds');
    await source.exec(
      `${kinds};
       insert into kinds values
         (1, 'NaN', 'NaN', '-Infinity', 12.34, true, '\\x00ff', 'infinity', '-infinity', 'infinity', '24:00', '23:59:59+14',
          '-178000000 years', '[]', '{"a": [1, null, "é"]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '::1/128', '10.0.0.0/8',
          '08:00:2b:01:02:03', B'101', 'a:1A b:2B', 'a & !b', 'empty', '{[1,3), [5,7)}', '{"x,y", NULL, ""}',
          '{{1,2},{3,NULL}}', 'happy', '(1.5,-2)', '<a>é</a>', 'ab', '16/B374D848'),
         (2, 'Infinity', 1e-38, 1.7976931348623157e308, -92233720368547758.08, false, '', '4713-01-01 00:00:00 BC',
          '294276-12-31 23:59:59.999999+00', '5874897-12-31', '00:00', '00:00-15:59', '1 mon 2 days 00:00:00.000001',
          'null', '0', '00000000-0000-0000-0000-000000000000', '0.0.0.0', '::/0', '00:00:00:00:00:00', B'',
          '', 'x', '(,)', '{}', '{}', '{}', 'sad', '(0,0)', '', '', '0/0'),
         (3, -0.000000001, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
          null, null, null, null, null, null, null, null, null, null, null, null, null, null, null)`,
      'kinds',
    );
    await newer.exec('create database kinds');
    await newer.exec(kinds, 'kinds');
    const result = await copyBetween(newer, 'kinds');
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(sourceReads().filter((read) => read.startsWith('copy "public"."kinds" ')).map((read) => read.endsWith('with (format binary)'))).toEqual([true]);
    expect(await fingerprint(newer.sql('kinds'))).toEqual(await fingerprint(source.sql('kinds')));
  });

  it('copies in binary from a major into the same or a newer one, and in text into an older one', () => {
    expect(binaryReadable(150010, 150004)).toBe(true);
    expect(binaryReadable(120022, 180001)).toBe(true);
    expect(binaryReadable(170002, 160006)).toBe(false);
  });

  it('copies it in one stream into PostgreSQL 15, whose writers would queue for the table\'s extension lock', async () => {
    const { result, copies } = await copyInto(older);
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(copies).toBe(1);
    // A whole table is read by COPY itself, not through the planner.
    expect(sourceReads()).toContain('copy "public"."wide" ("id", "payload") to stdout with (format binary)');
    expect(await fingerprint(older.sql('ranges'))).toEqual(await fingerprint(source.sql('ranges')));
  });
});

describe('the copy engine over TLS', () => {
  let source: Cluster;
  let target: Cluster;
  const open: Connection[] = [];

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15, tls: 'required' }, { major: 15, tls: 'required' }])) as [Cluster, Cluster];
  }, 120_000);

  afterAll(async () => {
    await Promise.all(open.map((c) => c.sql.end({ timeout: 1 }).catch(() => undefined)));
    await Promise.all([source?.stop(), target?.stop()]);
  });

  const connect = (cluster: Cluster, side: 'source' | 'target', dbname: string): Promise<Connection> => openSide(open, cluster, side, dbname, 'require');

  it('takes the rows off the session\'s TLS socket, and moves large and small rows byte for byte', async () => {
    const schema = 'create table mixed (id int primary key, payload text not null);';
    await Promise.all([source.exec('create database secured'), target.exec('create database secured')]);
    await Promise.all([
      source.exec(`${schema} insert into mixed select g, case when g % 10 = 0 then repeat(md5(g::text), 3200) else md5(g::text) end from generate_series(1, 3000) g;`, 'secured'),
      target.exec(schema, 'secured'),
    ]);
    const sourceConnection = await connect(source, 'source', 'secured');
    const session = await sourceConnection.sql.reserve();
    try {
      await session`select 1`;
      expect(tappableSocket(session)).toBeInstanceOf(TLSSocket);
    } finally {
      session.release();
    }
    const result = await within(30_000, 'copyDatabase()', copyDatabase({
      dbname: 'secured',
      source: sourceConnection,
      target: await connect(target, 'target', 'secured'),
      sourceConfig: normalizeConnection(source.uri('secured', { sslmode: 'require' }), 'source')._unsafeUnwrap(),
      jobs: 2,
      redactor: new Redactor([source.password, target.password]),
      emit: () => undefined,
    }));
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(result._unsafeUnwrap()).toMatchObject({ tables: 1, rows: 3000 });
    expect(await fingerprint(target.sql('secured'))).toEqual(await fingerprint(source.sql('secured')));
  });

  it('relays small tables several to a query between two TLS sockets, byte for byte', async () => {
    const tables = Array.from({ length: 12 }, (_, i) => `s${i}`);
    const schema = tables.map((t) => `create table ${t} (id int primary key, payload text not null);`).join('\n');
    await Promise.all([source.exec('create database bundled_tls'), target.exec('create database bundled_tls')]);
    await Promise.all([
      // Rows of a few bytes and of 100 kB (TOASTed, longer than a TLS record and a socket read).
      source.exec(`${schema} ${tables.map((t, i) => `insert into ${t} select g, case when g % 7 = 0 then repeat(md5(g::text), 3200) else md5(g::text) end from generate_series(1, ${20 + i}) g;`).join('\n')}`, 'bundled_tls'),
      target.exec(schema, 'bundled_tls'),
    ]);
    const copied: string[][] = [];
    const result = await within(30_000, 'copyDatabase()', copyDatabase({
      dbname: 'bundled_tls',
      source: await connect(source, 'source', 'bundled_tls'),
      target: await connect(target, 'target', 'bundled_tls'),
      sourceConfig: normalizeConnection(source.uri('bundled_tls', { sslmode: 'require' }), 'source')._unsafeUnwrap(),
      jobs: 1,
      redactor: new Redactor([source.password, target.password]),
      emit: () => undefined,
      onTablesCopied: async (done) => {
        copied.push(done.map((t) => t.name));
      },
    }));
    expect(result.isOk(), JSON.stringify(result)).toBe(true);
    expect(copied.some((bundle) => bundle.length > 1)).toBe(true);
    expect(await fingerprint(target.sql('bundled_tls'))).toEqual(await fingerprint(source.sql('bundled_tls')));
  });
});
