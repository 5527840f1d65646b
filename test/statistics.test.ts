import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Migrator } from '../src/index.js';
import { shareOut } from '../src/schema/statistics.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { recordEvents } from './support/events.js';

/**
 * Planner statistics on the destination: a dump is `done` with every table
 * analyzed; a replication leaves them to autovacuum while it streams, and a
 * destination it stops has them for every table. The destination runs
 * without autovacuum, so that only the library can have analyzed anything.
 */
const SCHEMA = `
  create table customers (id int primary key, name text not null, tags text[] not null);
  insert into customers select g, 'customer ' || g, array['t' || g % 7] from generate_series(1, 2000) g;
  create table events (id int, at date not null, kind text not null, primary key (id, at)) partition by range (at);
  create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01');
  create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');
  insert into events select g, date '2024-01-01' + (g % 700), 'kind ' || g % 5 from generate_series(1, 3000) g;
  create materialized view kinds as select kind, count(*) from events group by kind;`;

const ANALYZED = `
  select relname as name, (last_analyze is not null or last_autoanalyze is not null) as analyzed
  from pg_stat_user_tables where schemaname = 'public' order by relname`;

const EVERY_TABLE_ANALYZED = ['customers', 'events', 'events_2024', 'events_2025', 'kinds'].map((name) => ({ name, analyzed: true }));

describe('planner statistics on the destination', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    // Every statement the destination runs is in its log.
    [source, target] = (await startClusters([{}, { settings: { autovacuum: 'off', log_statement: "'all'" } }])) as [Cluster, Cluster];
    for (const db of ['by_dump', 'by_replication', 'held']) {
      await source.exec(`create database ${db}`);
      await source.exec(SCHEMA, db);
    }
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  const migrator = (db: string, method: 'dump' | 'replication'): Migrator =>
    new Migrator({ source: source.uri(), target: target.uri(), databases: [db], method, jobs: 2, pollIntervalMs: 100, syncTimeoutMs: 60_000 });

  it('are there for every table, partitioned parent and materialized view once a dump is done', async () => {
    const dump = migrator('by_dump', 'dump');
    try {
      const result = await dump.migrate();
      expect(result._unsafeUnwrap().databases[0]?.status).toBe('done');
      const tables = await target.sql('by_dump').unsafe<{ name: string; analyzed: boolean }[]>(ANALYZED);
      expect(tables).toEqual(EVERY_TABLE_ANALYZED);
    } finally {
      await dump.close();
    }
  });

  it('are left to autovacuum while a replication streams, and there for every table once it stops', async () => {
    const replication = migrator('by_replication', 'replication');
    try {
      const result = await replication.migrate();
      expect(result._unsafeUnwrap().databases[0]?.status).toBe('syncing');
      const sql = target.sql('by_replication');
      const streaming = await sql.unsafe<{ name: string; analyzed: boolean }[]>(ANALYZED);
      expect(streaming.filter((t) => t.analyzed)).toEqual([]);

      const events = recordEvents(replication);
      const logStart = readFileSync(target.logFile, 'utf8').length;
      expect((await replication.stop()).isOk()).toBe(true);
      const stopped = await sql.unsafe<{ name: string; analyzed: boolean }[]>(ANALYZED);
      expect(stopped).toEqual(EVERY_TABLE_ANALYZED);
      // Two statements at once (jobs: 2), each table in one of them.
      const statements = [...readFileSync(target.logFile, 'utf8').slice(logStart).matchAll(/statement: analyze \(skip_locked\) (.*)$/gm)].map((m) => m[1] as string);
      expect(statements).toHaveLength(2);
      expect(statements.flatMap((list) => list.split(', ')).sort()).toEqual(['"public"."customers"', '"public"."events"', '"public"."events_2024"', '"public"."events_2025"', '"public"."kinds"']);
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'schema', step: 'statistics', dbname: 'by_replication', detail: expect.stringMatching(/^5 tables analyzed/) }),
      );
      const [stats] = await sql<{ columns: number }[]>`select count(*)::int as columns from pg_stats where schemaname = 'public' and tablename = 'customers'`;
      expect(stats?.columns).toBe(3);
    } finally {
      await replication.close();
    }
  });

  it('never keep a stop waiting on a table another session holds: that table is named and left to autovacuum', async () => {
    const replication = migrator('held', 'replication');
    expect((await replication.migrate())._unsafeUnwrap().databases[0]?.status).toBe('syncing');
    const blocker = await target.sql('held').reserve();
    try {
      await blocker`begin`;
      await blocker`lock table customers in access exclusive mode`;
      const events = recordEvents(replication);
      const stopped = await replication.stop({ timeoutMs: 30_000 });
      expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
      expect(events).toContainEqual(
        expect.objectContaining({ type: 'warning', dbname: 'held', message: expect.stringMatching(/^1 table has no planner statistics yet .*: "public"\."customers"$/) }),
      );
      await blocker`rollback`;
      const analyzed = await target.sql('held').unsafe<{ name: string; analyzed: boolean }[]>(ANALYZED);
      expect(analyzed.filter((t) => !t.analyzed).map((t) => t.name)).toEqual(['customers']);
    } finally {
      blocker.release();
      await replication.close();
    }
  });

  it('are shared out among the sessions by size, largest first, each table once', () => {
    const tables = [
      { name: 'a', pages: 10 },
      { name: 'b', pages: 100 },
      { name: 'c', pages: 60 },
      { name: 'd', pages: 50 },
      { name: 'e', pages: 0 },
    ];
    expect(shareOut(tables, 2)).toEqual([['b', 'a', 'e'], ['c', 'd']]);
    expect(shareOut(tables, 1)).toEqual([['b', 'c', 'd', 'a', 'e']]);
    expect(shareOut(tables.slice(0, 2), 8)).toEqual([['b'], ['a']]);
    expect(shareOut([], 2)).toEqual([]);
  });
});
