import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, EXIT, type WrapperIo } from '../examples/cli-wrapper.js';
import { createService, type MigrationService } from '../examples/service.js';
import { Migrator, toServiceResponse, type ServiceResponse } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';

/**
 * The examples shipped in examples/, run as their users would: the HTTP
 * service driven over fetch, and the in-house command's main() with its
 * arguments and environment, against throwaway clusters.
 */
describe('the examples', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    for (const database of ['shop', 'legacy', 'stuck', 'inventory']) await source.exec(`create database ${database}`);
    await source.exec(
      `create table customers (id serial primary key, name text not null);
       insert into customers (name) select 'customer ' || g from generate_series(1, 2000) g;
       create table orders (id bigserial primary key, customer_id int references customers, amount numeric);
       insert into orders (customer_id, amount) select 1 + g % 2000, g * 1.25 from generate_series(1, 5000) g;`,
      'shop',
    );
    await source.exec(
      `create table audit_log (at timestamptz default now(), message text);
       insert into audit_log (message) select 'event ' || g from generate_series(1, 3000) g;`,
      'legacy',
    );
    await source.exec(
      `create table job (id int primary key, payload text);
       insert into job select g, md5(g::text) from generate_series(1, 1000) g;
       create table event (at date not null, what text) partition by range (at);
       create table event_2024 partition of event for values from ('2024-01-01') to ('2025-01-01');
       insert into event select '2024-01-01'::date + g % 300, 'event ' || g from generate_series(1, 500) g;`,
      'stuck',
    );
    await source.exec(
      `create table item (sku text primary key, quantity int not null);
       insert into item select 'sku-' || g, g % 17 from generate_series(1, 4000) g;
       create sequence ticket_no; select setval('ticket_no', 77);`,
      'inventory',
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  async function destinationHas(database: string): Promise<boolean> {
    return (await target.sql()`select 1 from pg_database where datname = ${database}`).length > 0;
  }

  describe('examples/service.ts, the migration worker', () => {
    const services: MigrationService[] = [];

    afterAll(async () => {
      await Promise.all(services.map((service) => service.shutdown()));
    });

    /** A service on a free port, logging JSON lines into `logs`. */
    async function startService(options: Parameters<typeof createService>[0] = {}): Promise<{ url: string; logs: () => Record<string, unknown>[]; raw: string[] }> {
      const raw: string[] = [];
      const logger = pino({ level: 'debug' }, { write: (line: string) => void raw.push(line) });
      const service = createService({ logger, ...options, defaults: { pollIntervalMs: 100, ...options.defaults } });
      services.push(service);
      await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
      const { port } = service.address() as AddressInfo;
      return {
        url: `http://127.0.0.1:${port}`,
        raw,
        logs: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>),
      };
    }

    async function call(url: string, method: string, body?: unknown): Promise<{ status: number; body: any; run: string | null }> {
      const response = await fetch(url, { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
      return { status: response.status, body: await response.json(), run: response.headers.get('migration-run') };
    }

    /** GETs the status until the service's migrate() has ended. */
    async function settled(url: string): Promise<ServiceResponse> {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const { status, body, run } = await call(`${url}/migrations`, 'GET');
        expect(status).toBe(200);
        if (run === 'idle') return body as ServiceResponse;
        expect(run).toBe('active');
        if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(body)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }

    it('starts a migration on POST, answers GET with exactly the service JSON until done, logs every event, and stops on POST /migrations/stop', async () => {
      const { url, logs, raw } = await startService();
      const started = await call(`${url}/migrations`, 'POST', { source: source.uri(), target: target.uri(), databases: ['shop', 'legacy'] });
      expect(started.status).toBe(202);
      expect(started.body.databases).toEqual([
        { dbname: 'legacy', method: 'pg_dump', action: 'create' },
        { dbname: 'shop', method: 'replication', action: 'create' },
      ]);

      const migrated = await settled(url);
      expect(migrated).toEqual({
        migration: { error: null, method: '', status: 'done' },
        migration_detail: [
          { dbname: 'legacy', error: null, method: 'pg_dump', status: 'done' },
          { dbname: 'shop', error: null, method: 'replication', status: 'syncing' },
        ],
      });
      // The same JSON any process reads through the library.
      const reader = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop', 'legacy'] });
      expect(migrated).toEqual(toServiceResponse((await reader.status())._unsafeUnwrap()));
      await reader.close();

      // Every event, one structured line each, its type as the message; never a password.
      const events = logs().filter((line) => typeof line['event'] === 'object');
      for (const line of events) expect(line['msg']).toBe((line['event'] as { type: string }).type);
      expect(events.map((line) => line['msg'])).toEqual(expect.arrayContaining(['check', 'plan', 'database:start', 'schema', 'table:copied', 'replication:state', 'database:done']));
      expect(events.filter((line) => line['msg'] === 'database:done').map((line) => (line['event'] as { dbname: string; status: string })))
        .toEqual(expect.arrayContaining([expect.objectContaining({ dbname: 'shop', status: 'syncing' }), expect.objectContaining({ dbname: 'legacy', status: 'done' })]));
      expect(raw.join('')).not.toContain(source.password);

      // A second POST while nothing runs is refused for a bad option, naming it.
      const wrong = await call(`${url}/migrations`, 'POST', { source: source.uri(), target: target.uri(), databases: 'shop' });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toMatchObject({ kind: 'options', message: expect.stringContaining('options.databases') });

      // A worker started afresh over the same clusters answers the same.
      const restarted = await startService({ source: source.uri(), target: target.uri(), defaults: { databases: ['shop', 'legacy'] } });
      expect((await call(`${restarted.url}/migrations`, 'GET')).body).toEqual(migrated);

      const stopped = await call(`${restarted.url}/migrations/stop`, 'POST', {});
      expect(stopped.status).toBe(200);
      expect(stopped.body.migration_detail).toEqual([
        { dbname: 'legacy', error: null, method: 'pg_dump', status: 'done' },
        { dbname: 'shop', error: null, method: 'replication', status: 'done' },
      ]);
      expect(await source.sql('shop')`select slot_name from pg_replication_slots`).toHaveLength(0);
      expect(await target.sql()`select subname from pg_subscription`).toHaveLength(0);
    });

    it('cancels a running migrate() on DELETE, leaving no unfinished database, and migrates on the next POST', async () => {
      const { url, logs } = await startService({ source: source.uri(), target: target.uri() });
      // A lock on the partitioned table's parent keeps the migration running:
      // its schema dump waits for it (pg_dump locks every table it dumps),
      // while the preflight, which reads the partitions only, does not.
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked = (): void => undefined;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const lock = source.sql('stuck').begin(async (sql) => {
        await sql`lock table only event in access exclusive mode`;
        locked();
        await held;
      });
      try {
        await isLocked;
        const started = await call(`${url}/migrations`, 'POST', { databases: ['stuck'], method: 'dump' });
        expect(started.status).toBe(202);
        const deadline = Date.now() + 30_000;
        while (!logs().some((line) => line['msg'] === 'database:start')) {
          if (Date.now() > deadline) throw new Error('the migration did not start');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(await call(`${url}/migrations`, 'GET')).toMatchObject({ run: 'active', body: { migration: { status: 'running' } } });
        expect((await call(`${url}/migrations`, 'POST', { databases: ['stuck'] })).status).toBe(409);

        const cancelled = await call(`${url}/migrations`, 'DELETE');
        expect(cancelled.status).toBe(200);
        expect(cancelled.body.migration_detail).toEqual([{ dbname: 'stuck', error: expect.stringContaining('cancelled'), method: 'pg_dump', status: 'failed' }]);
        expect(await destinationHas('stuck')).toBe(false);
        expect((await call(`${url}/migrations`, 'DELETE')).status).toBe(409);
      } finally {
        release();
        await lock;
      }

      expect((await call(`${url}/migrations`, 'POST', { databases: ['stuck'], method: 'dump' })).status).toBe(202);
      expect((await settled(url)).migration_detail).toEqual([{ dbname: 'stuck', error: null, method: 'pg_dump', status: 'done' }]);
      expect(await target.sql('stuck')`select (select count(*)::int from job) as jobs, (select count(*)::int from event) as events`).toEqual([{ jobs: 1000, events: 500 }]);
    });
  });

  describe('examples/cli-wrapper.ts, an in-house command', () => {
    function io(env: Record<string, string>): WrapperIo & { out: () => string; err: () => string } {
      let out = '';
      let err = '';
      return {
        stdout: { write: (text: string) => (out += text) },
        stderr: { write: (text: string) => (err += text) },
        env,
        out: () => out,
        err: () => err,
      };
    }

    it('prints the preflight plan and migrates nothing without --yes', async () => {
      const run = io({ DLH_TARGET_URI: target.uri() });
      expect(await main([source.uri(), '--databases', 'inventory'], run)).toBe(EXIT.notConfirmed);
      expect(run.out()).toContain('Plan (method dump):');
      expect(run.out()).toMatch(/^inventory\s+pg_dump\s+create$/m);
      expect(run.err()).toContain('Run again with --yes');
      expect(await destinationHas('inventory')).toBe(false);
    });

    it('migrates with --yes, by dump by default, taking the password from SRC_PASSWORD', async () => {
      const run = io({ DLH_TARGET_URI: target.uri(), SRC_PASSWORD: source.password });
      const code = await main([source.uri('postgres', { password: '' }), '--databases=inventory', '--yes'], run);
      expect(code, run.err()).toBe(EXIT.ok);
      expect(run.out()).toContain('inventory: 1/1 tables');
      expect(run.out()).toMatch(/^inventory\s+done\s+pg_dump$/m);
      expect(await target.sql('inventory')`select count(*)::int as n, sum(quantity)::int as q from item`).toEqual(
        await source.sql('inventory')`select count(*)::int as n, sum(quantity)::int as q from item`,
      );
      expect(await target.sql('inventory')`select last_value::int from ticket_no`).toEqual([{ last_value: 77 }]);
    });

    it('answers a usage error with exit code 2 and what to do', async () => {
      const cases: [string[], Record<string, string>, string][] = [
        [['--bogus'], {}, "Unknown option '--bogus'"],
        [[], { DLH_TARGET_URI: 'postgres://u@h/db' }, 'name exactly one source'],
        [['postgres://u@h/db', '--method', 'copy'], { DLH_TARGET_URI: 'postgres://u@h/db' }, '--method must be one of auto, replication, dump'],
        [['postgres://u@h/db'], {}, 'set DLH_TARGET_URI'],
        [['postgres://u@h/db', '--jobs', 'many'], { DLH_TARGET_URI: 'postgres://u@h/db' }, '--jobs must be a positive integer'],
      ];
      for (const [argv, env, message] of cases) {
        const run = io(env);
        expect(await main(argv, run), argv.join(' ')).toBe(EXIT.usage);
        expect(run.err()).toContain(message);
      }
    });
  });
});
