import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, type MigrationError, type MigrationStatus } from '../src/index.js';
import type { Result } from 'neverthrow';
import { startClusters, type Cluster } from './support/cluster.js';
import { watchCrashes, type CrashWatch } from './support/crashes.js';
import { eventually, fingerprint, within } from './support/compare.js';

/**
 * Faults injected while data moves: a server stopped or restarted, the
 * library's backends terminated. Each must end, within a bound, in a typed
 * outcome, never a crash of the host process or a migrate() that never
 * resolves; and a later run must finish the job without duplicating a row.
 */
const APP = 'datalakehouse-db-migrate';
const BOUND_MS = 60_000;



/** Waits until one of the library's backends on `cluster` runs a statement matching `pattern`. */
async function untilRunning(cluster: Cluster, pattern: string): Promise<void> {
  await eventually(
    `a backend runs ${pattern}`,
    async () => {
      const rows = await cluster.sql()`
        select 1 from pg_stat_activity
        where application_name = ${APP} and state = 'active' and query ilike ${pattern}`.catch(() => []);
      return rows.length > 0;
    },
    BOUND_MS,
  ).catch(async (error: unknown) => {
    // What the library's backends were doing instead, for a wait that never ended.
    const activity = await cluster.sql()`
      select state, wait_event_type, wait_event, left(query, 120) as query from pg_stat_activity where application_name = ${APP}`.catch(() => []);
    throw new Error(`${String(error)}; the library's backends: ${JSON.stringify(activity)}`);
  });
}

async function terminateBackends(cluster: Cluster): Promise<number> {
  const rows = await cluster.sql()`
    select pg_terminate_backend(pid) as done from pg_stat_activity
    where application_name = ${APP} and pid <> pg_backend_pid()`;
  return rows.length;
}

/** The per-database outcome of a run that may fail as a whole, as one comparable value. */
function outcome(result: Result<MigrationStatus, MigrationError>, dbname: string): { kind: string; error: string } {
  if (result.isErr()) return { kind: `error:${result.error.kind}`, error: `${result.error.message} ${result.error.hint ?? ''}` };
  const db = result.value.databases.find((d) => d.dbname === dbname);
  return { kind: db?.status ?? 'missing', error: db?.error ?? '' };
}

const LOST_CONNECTION = /closed the connection/i;

describe('faults while data moves', () => {
  let crashes: CrashWatch;
  let source: Cluster;
  let target: Cluster;
  const migrator = (dbname: string, method: 'dump' | 'replication'): Migrator =>
    new Migrator({
      source: source.uri(),
      target: target.uri(),
      method,
      databases: [dbname],
      jobs: 1,
      pollIntervalMs: 200,
      syncTimeoutMs: 50_000,
    });

  /** Removes what earlier tests left of `dbname` on the destination, so each test starts from nothing. */
  async function forget(dbname: string): Promise<void> {
    await target.exec(`drop database if exists ${dbname} with (force)`);
    await target.exec(
      `do $$ begin
         if to_regclass('datalakehouse_migrate.database_state') is not null then
           delete from datalakehouse_migrate.database_state where dbname = '${dbname}';
         end if;
       end $$`,
    );
  }

  /** Runs migrate() to its end and checks the destination now holds exactly the source's data. */
  async function rerunUntilEqual(dbname: string, method: 'dump' | 'replication', expected: string): Promise<void> {
    const m = migrator(dbname, method);
    const result = await within(BOUND_MS * 2, 'the re-run', m.migrate());
    if (method === 'replication' && result.isOk()) await m.stop().match(() => undefined, () => undefined);
    await m.close();
    expect(outcome(result, dbname)).toEqual({ kind: expected, error: '' });
    const [wanted, got] = await Promise.all([fingerprint(source.sql(dbname)), fingerprint(target.sql(dbname))]);
    expect(got).toEqual(wanted);
  }

  beforeAll(async () => {
    crashes = watchCrashes();
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    await source.exec('create database steady');
    await source.exec('create table items (id int primary key, note text); insert into items select g, md5(g::text) from generate_series(1, 1000) g', 'steady');
    for (const dbname of ['bulk', 'stream']) {
      await source.exec(`create database ${dbname}`);
      // Narrow rows, many of them: a copy long enough to be caught in the middle.
      await source.exec(
        `create table big (id bigint primary key, payload text not null);
         insert into big select g, md5(g::text) from generate_series(1, 600000) g;
         create table small (id serial primary key, note text);
         insert into small (note) select 'note ' || g from generate_series(1, 50) g;
         analyze;`,
        dbname,
      );
    }
  }, 180_000);

  afterEach(async () => {
    // A test that failed half-way must not leave a server down for the next one.
    await Promise.all([source.startServer().catch(() => undefined), target.startServer().catch(() => undefined)]);
    expect(crashes.take()).toEqual([]);
  });

  afterAll(async () => {
    crashes?.stop();
    await Promise.all([source?.stop(), target?.stop()]);
  });

  /** Locks a destination table, in a transaction of the test's own, as soon as the migration's pre-data created it. */
  function holdWhenCreated(m: Migrator, dbname: string, table: string): Promise<{ release(): Promise<void> }> {
    return new Promise((resolve, reject) => {
      m.on('schema', (event) => {
        if (event.step !== 'pre-data' || event.dbname !== dbname) return;
        void (async () => {
          const session = await target.sql(dbname).reserve();
          await session`begin`;
          await session.unsafe(`lock table ${table} in access exclusive mode`);
          resolve({
            release: async () => {
              await session`rollback`.catch(() => undefined);
              session.release();
            },
          });
        })().catch(reject);
      });
    });
  }

  interface CopyFault {
    readonly fault: string;
    readonly side: 'source' | 'target';
    readonly inject: () => Promise<unknown>;
    /** Brings the cluster back, where the fault took it down. */
    readonly recover?: () => Promise<void>;
  }
  it.each<CopyFault>([
    { fault: 'the source stops (fast)', side: 'source', inject: () => source.stopServer('fast'), recover: () => source.startServer() },
    { fault: 'the source crashes (immediate stop)', side: 'source', inject: () => source.stopServer('immediate'), recover: () => source.startServer() },
    { fault: 'the source terminates the copy backends', side: 'source', inject: () => terminateBackends(source) },
    { fault: 'the destination terminates the copy backends', side: 'target', inject: () => terminateBackends(target) },
  ])('ends the run with a connection error when $fault mid-copy, and a re-run finishes it', async ({ side, inject, recover }) => {
    await forget('bulk');
    const m = migrator('bulk', 'dump');
    // The copy is faster than any probe: the destination's table is held locked from the moment it
    // exists, so both COPYs stay under way (the reader held back by backpressure) until the fault.
    const held = holdWhenCreated(m, 'bulk', 'big');
    const run = m.migrate();
    await untilRunning(side === 'source' ? source : target, side === 'source' ? 'copy%to stdout%' : '%copy%from stdin%');
    await inject();
    await (await held).release();
    const result = await within(BOUND_MS, 'migrate() after the fault', Promise.resolve(run));
    await m.close();
    const seen = outcome(result, 'bulk');
    expect(seen.kind).toBe('error:connection');
    expect(seen.error).toMatch(LOST_CONNECTION);
    expect(seen.error).toMatch(side === 'source' ? /source/ : /target/i);

    await recover?.();
    await rerunUntilEqual('bulk', 'dump', 'done');
  });

  it('ends within a bound when the destination restarts during replication\'s initial copy, and a re-run reaches syncing', async () => {
    const m = migrator('stream', 'replication');
    const run = m.migrate();
    await untilRunning(target, '%copy%from stdin%');
    await target.restart('fast');
    const result = await within(BOUND_MS, 'migrate() after the destination restarted', Promise.resolve(run));
    await m.close();
    const seen = outcome(result, 'stream');
    expect(['syncing', 'failed', 'error:connection']).toContain(seen.kind);
    if (seen.kind !== 'syncing') expect(seen.error).toMatch(LOST_CONNECTION);

    await rerunUntilEqual('stream', 'replication', 'syncing');
  });

  it('reads a replication as failed while its source is down, and as syncing once it is back', async () => {
    const m = migrator('steady', 'replication');
    expect(outcome(await within(BOUND_MS, 'migrate()', m.migrate()), 'steady').kind).toBe('syncing');
    await source.stopServer('fast');
    const down = await within(BOUND_MS, 'status() with the source down', m.status());
    expect(down._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'steady', status: 'failed', errorKind: 'connection' })]);

    await source.startServer();
    await eventually('the replication is healthy again', async () => (await m.status()).map((s) => s.databases[0]?.status === 'syncing').unwrapOr(false), BOUND_MS);
    await m.close();
  });

  it('refuses to stop, dropping nothing, while the source is down, and stops once it is back', async () => {
    await source.stopServer('fast');
    const m = migrator('steady', 'replication');
    const refused = await within(BOUND_MS, 'stop() with the source down', m.stop({ timeoutMs: 2000 }));
    expect(refused.isErr() && refused.error.kind).toBe('connection');
    const subscriptions = await target.sql()`select 1 from pg_subscription where subname like 'dlh\\_mig\\_steady\\_%'`;
    expect(subscriptions).toHaveLength(1);

    await source.startServer();
    await eventually('the replication is healthy again', async () => (await m.status()).map((s) => s.databases[0]?.status === 'syncing').unwrapOr(false), BOUND_MS);
    const stopped = await within(BOUND_MS, 'stop() with the source back', m.stop());
    await m.close();
    expect(stopped._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'steady', status: 'done' })]);
  });
});
