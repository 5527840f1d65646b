import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, toServiceResponse, type PreflightReport } from '../src/index.js';
import { startClusters, uriAs, type Cluster } from './support/cluster.js';
import { eventually, fingerprint } from './support/compare.js';
import { recordEvents } from './support/events.js';


describe('replication without superuser: a table owner publishing to a PostgreSQL 17 admin with pg_create_subscription', () => {
  let source: Cluster;
  let target: Cluster;
  let options: ConstructorParameters<typeof Migrator>[0];

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15 }, { major: 17 }])) as [Cluster, Cluster];
    await source.exec(`create role app login replication password 'app-secret'`);
    await source.exec('create database shop owner app');
    await source.exec('create database ledger owner app');
    await source.exec(
      `set role app;
       create table customers (id serial primary key, name text not null);
       create table orders (id bigserial primary key, customer int not null references customers, total numeric(10,2));
       insert into customers (name) select 'c' || g from generate_series(1, 200) g;
       insert into orders (customer, total) select 1 + g % 200, g / 7.0 from generate_series(1, 2000) g;`,
      'shop',
    );
    // One table of ledger belongs to someone else: app may read it, but not publish it by name.
    await source.exec(
      `set role app;
       create table entries (id int primary key, amount numeric);
       insert into entries select g, g from generate_series(1, 100) g;
       reset role;
       create table audit (id int primary key, note text);
       insert into audit select g, 'a' || g from generate_series(1, 10) g;
       grant select on audit to app;`,
      'ledger',
    );
    await target.exec(`create role dlh_admin login createdb createrole password 'admin-secret'; grant pg_create_subscription to dlh_admin;`);
    await target.exec('create database defaultdb owner dlh_admin');
    options = {
      source: uriAs(source, 'app', 'app-secret', 'postgres'),
      target: uriAs(target, 'dlh_admin', 'admin-secret', 'defaultdb'),
      databases: ['shop', 'ledger'],
      pollIntervalMs: 100,
    };
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('plans replication where the role owns every table, dump where it does not, naming the rights and the statement that would open them', async () => {
    const migrator = new Migrator(options);
    const report = (await migrator.preflight())._unsafeUnwrap();
    await migrator.close();
    const plan = (name: string) => report.databases.find((d) => d.dbname === name);
    expect(plan('shop')).toMatchObject({ method: 'replication', rights: { source: 'table-owner', target: 'pg_create_subscription' } });
    expect(plan('ledger')).toMatchObject({ method: 'pg_dump', rights: null, replicationBlockers: [expect.stringContaining('does not own table public.audit')] });
    const ledgerSource = report.checks.find((c) => c.id === 'source-privileges' && c.database === 'ledger');
    expect(ledgerSource).toMatchObject({ status: 'warn', side: 'source', blocks: 'replication' });
    expect(ledgerSource?.hint).toContain('ALTER TABLE public.audit OWNER TO app;');
    expect(ledgerSource?.hint).toContain('CREATE EXTENSION datalakehouse_extras CASCADE;');
    expect(report.checks.find((c) => c.id === 'target-privileges' && c.database === 'shop')).toMatchObject({ status: 'pass' });
  });

  it('names, for each missing grant, the statement that fixes it', async () => {
    await source.exec(`create role reader login password 'reader-secret'`);
    await target.exec(`create role guest_admin login password 'guest-secret'`);
    const preflightAs = async (): Promise<PreflightReport> => {
      const migrator = new Migrator({ ...options, source: uriAs(source, 'reader', 'reader-secret', 'postgres'), target: uriAs(target, 'guest_admin', 'guest-secret', 'defaultdb'), databases: ['shop'] });
      const report = (await migrator.preflight())._unsafeUnwrap();
      await migrator.close();
      return report;
    };
    const hint = (report: PreflightReport, id: string): string => report.checks.find((c) => c.id === id && c.database === 'shop')?.hint ?? '';
    const before = await preflightAs();
    expect(hint(before, 'source-privileges')).toContain('ALTER ROLE reader REPLICATION;');
    expect(hint(before, 'target-privileges')).toContain('GRANT pg_create_subscription TO guest_admin;');
    expect(before.databases[0]).toMatchObject({ method: 'pg_dump', rights: null });

    await source.exec('alter role reader replication');
    await source.exec('revoke create on database shop from public');
    const after = await preflightAs();
    expect(hint(after, 'source-privileges')).toContain('ALTER TABLE public.customers OWNER TO reader;');
    expect(hint(after, 'source-privileges')).toContain('GRANT CREATE ON DATABASE shop TO reader;');
    expect(hint(after, 'source-privileges')).toContain('CREATE EXTENSION datalakehouse_extras CASCADE;');
    await source.exec('drop role reader');
    await target.exec('drop role guest_admin');
  });

  it('replicates one database and dumps the other, copying roles with warnings for what only a superuser may grant', async () => {
    const migrator = new Migrator(options);
    const events = recordEvents(migrator);
    const status = (await migrator.migrate())._unsafeUnwrap();
    await migrator.close();
    expect(toServiceResponse(status).migration_detail).toEqual(
      expect.arrayContaining([
        { dbname: 'shop', error: null, method: 'replication', status: 'syncing' },
        { dbname: 'ledger', error: null, method: 'pg_dump', status: 'done' },
      ]),
    );
    expect(events).toContainEqual(expect.objectContaining({ type: 'replication:rights', dbname: 'shop', source: 'table-owner', target: 'pg_create_subscription' }));
    const warnings = events.flatMap((e) => (e.type === 'warning' ? [e] : []));
    expect(warnings).toContainEqual(expect.objectContaining({ message: expect.stringContaining('Role app: REPLICATION not granted'), hint: expect.stringContaining('ALTER ROLE app REPLICATION;') }));
    expect(warnings).toContainEqual(expect.objectContaining({ message: expect.stringContaining('created without a password'), hint: expect.stringContaining('ALTER ROLE app PASSWORD') }));
    const [roles] = await target.sql()<{ login: boolean }[]>`select rolcanlogin as login from pg_roles where rolname = 'app'`;
    expect(roles?.login).toBe(true);
    for (const db of ['shop', 'ledger']) expect(await fingerprint(target.sql(db))).toEqual(await fingerprint(source.sql(db)));
  });

  it('carries changes, reports both databases to another process, and stop() removes every object it created', async () => {
    await source.sql('shop')`insert into orders (customer, total) values (7, 99.5)`;
    await eventually('the new order is on the destination', async () => {
      const [row] = await target.sql('shop')<{ n: number }[]>`select count(*)::int as n from orders where total = 99.5`;
      return row?.n === 1;
    });
    const reader = new Migrator(options);
    // A table the owner creates now is in no publication listing tables by name: reported, never silently left behind.
    await source.exec('set role app; create table returns (id int primary key); reset role;', 'shop');
    const missed = (await reader.status())._unsafeUnwrap().databases.find((d) => d.dbname === 'shop');
    expect(missed).toMatchObject({ status: 'failed', error: expect.stringContaining('not replicated: public.returns') });
    await source.exec('drop table returns', 'shop');
    const status = (await reader.status())._unsafeUnwrap();
    expect(status.databases.map((d) => [d.dbname, d.method, d.status]).sort()).toEqual([
      ['ledger', 'pg_dump', 'done'],
      ['shop', 'replication', 'syncing'],
    ]);
    expect(status.databases.find((d) => d.dbname === 'shop')?.rights).toEqual({ source: 'table-owner', target: 'pg_create_subscription' });
    const stopped = await reader.stop();
    await reader.close();
    expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
    expect(await source.sql('shop')`select slot_name from pg_replication_slots`).toEqual([]);
    expect(await source.sql('shop')`select pubname from pg_publication`).toEqual([]);
    expect(await target.sql('shop')`select subname from pg_subscription`).toEqual([]);
  });
});
