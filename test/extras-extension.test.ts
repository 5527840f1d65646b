import { readFileSync } from 'node:fs';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusters, type Cluster } from './support/cluster.js';
import { eventually } from './support/compare.js';

/**
 * The `datalakehouse_extras` extension lets the owner of a database, without
 * superuser, publish tables on a source and subscribe to them on a
 * destination — and nothing more: every refusal below is part of its promise.
 */

const OWNER = { user: 'shop_owner', password: 'owner-Pw-7731' };
const OUTSIDER = { user: 'outsider', password: 'outsider-Pw-7731' };
const DEPUTY = { user: 'deputy', password: 'deputy-Pw-7731' };
/** A table that injected SQL would drop. */
const VICTIM = 'victim';

let source: Cluster;
let target: Cluster;
let target17: Cluster;
const sessions: Sql[] = [];

function connect(cluster: Cluster, role: { user: string; password: string }, database = 'shop'): Sql {
  const { host, port } = cluster.fields();
  const sql = postgres({ host, port, database, username: role.user, password: role.password, ssl: false, max: 1, onnotice: () => undefined });
  sessions.push(sql);
  return sql;
}

/** The SQLSTATE a statement fails with, or `ok`. */
async function outcome(run: () => PromiseLike<unknown>): Promise<string> {
  try {
    await run();
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

function connection(cluster: Cluster, extra = ''): string {
  return `host=127.0.0.1 port=${cluster.port} dbname=shop user=${OWNER.user} password=${OWNER.password}${extra}`;
}

async function victimExists(cluster: Cluster): Promise<boolean> {
  const [row] = await cluster.sql('shop')`select to_regclass(${`public.${VICTIM}`}) is not null as present`;
  return row?.present === true;
}

/** Roles, a database `shop` owned by a non-superuser, the extension installed by that owner, and its tables. */
async function prepare(cluster: Cluster, role: 'source' | 'destination'): Promise<void> {
  const replication = role === 'source' ? 'replication' : '';
  await cluster.exec(`
    create role ${OWNER.user} login createdb nosuperuser ${replication} password '${OWNER.password}';
    create role ${OUTSIDER.user} login password '${OUTSIDER.password}';
    create role ${DEPUTY.user} login password '${DEPUTY.password}';
    grant ${OWNER.user} to ${DEPUTY.user};`);
  await cluster.exec(`create database shop owner ${OWNER.user}`);
  const owner = connect(cluster, OWNER);
  await owner.unsafe('create extension datalakehouse_extras cascade');
  await owner.unsafe(`
    create table items (id int primary key, note text);
    create table ${VICTIM} (id int);
    create table "weird""; drop table ${VICTIM}; --" (id int primary key);
    create table applied_by (who name);
    create function record_applier() returns trigger language plpgsql as $$
      begin insert into public.applied_by values (current_user); return new; end $$;
    create trigger record_applier after insert on items for each row execute function record_applier();
    alter table items enable always trigger record_applier;`);
}

beforeAll(async () => {
  [source, target, target17] = (await startClusters([
    { major: 15, extras: true },
    { major: 15, extras: true },
    { major: 17, extras: true },
  ])) as [Cluster, Cluster, Cluster];
  await Promise.all([prepare(source, 'source'), prepare(target, 'destination'), prepare(target17, 'destination')]);
});

afterAll(async () => {
  await Promise.all(sessions.map((sql) => sql.end({ timeout: 1 }).catch(() => undefined)));
  await Promise.all([source?.stop(), target?.stop(), target17?.stop()]);
});

describe('the datalakehouse_extras extension, used by a database owner without superuser', () => {
  it('is installed by the database owner with CREATE EXTENSION, in a schema that owner can neither change nor add to', async () => {
    const [schema] = await target.sql('shop')`
      select pg_get_userbyid(n.nspowner) as owner, r.rolsuper as superuser
        from pg_namespace n join pg_roles r on r.oid = n.nspowner
       where n.nspname = 'datalakehouse_extras'`;
    expect(schema).toEqual({ owner: 'postgres', superuser: true });
    const functions = await target.sql('shop')`
      select count(*)::int as n, bool_and(p.prosecdef) as definer, bool_and(r.rolsuper) as superuser_owned,
             bool_and(p.proconfig @> array['search_path=pg_catalog, pg_temp']) as pinned_path
        from pg_proc p join pg_roles r on r.oid = p.proowner
       where p.pronamespace = 'datalakehouse_extras'::regnamespace`;
    expect(functions[0]).toMatchObject({ definer: true, superuser_owned: true, pinned_path: true });

    const owner = connect(target, OWNER);
    expect(await outcome(() => owner.unsafe('alter schema datalakehouse_extras rename to planted'))).toBe('42501');
    expect(await outcome(() => owner.unsafe('create function datalakehouse_extras.planted() returns int language sql as $$ select 1 $$'))).toBe('42501');
    expect(await outcome(() => owner`select * from datalakehouse_extras.managed_objects`)).toBe('42501');
  });

  it('refuses to install into a schema of its name that already exists', async () => {
    await target.exec(`create database preexisting owner ${OWNER.user}`);
    const owner = connect(target, OWNER, 'preexisting');
    await owner.unsafe('create schema datalakehouse_extras');
    expect(await outcome(() => owner.unsafe('create extension datalakehouse_extras cascade'))).toBe('42P06');
  });

  it('publishes the listed tables, subscribes on a slot the owner made on the source, and replicates rows', async () => {
    const publisher = connect(source, OWNER);
    const subscriber = connect(target, OWNER);
    await publisher`select datalakehouse_extras.create_publication('shop_pub', ${['items']})`;
    await publisher`select pg_create_logical_replication_slot('shop_slot', 'pgoutput')`;
    await subscriber`select datalakehouse_extras.create_subscription('shop_sub', ${connection(source)}, 'shop_pub', 'shop_slot')`;

    await publisher`insert into items select g, 'row ' || g from generate_series(1, 3) g`;
    await eventually('the rows reach the destination', async () => {
      const [row] = await subscriber`select count(*)::int as n from items`;
      return row?.n === 3;
    });
    const published = await source.sql('shop')`select schemaname, tablename from pg_publication_tables where pubname = 'shop_pub'`;
    expect(published).toEqual([{ schemaname: 'public', tablename: 'items' }]);
  });

  it('lists its subscriptions without their connection strings', async () => {
    const subscriber = connect(target, OWNER);
    const rows = await subscriber`select * from datalakehouse_extras.subscriptions()`;
    expect(rows.columns.map((c) => c.name)).toEqual(['subname', 'subenabled', 'subslotname', 'subpublications', 'subowner']);
    expect(rows).toEqual([{ subname: 'shop_sub', subenabled: true, subslotname: 'shop_slot', subpublications: ['shop_pub'], subowner: 'postgres' }]);
    expect(JSON.stringify(rows)).not.toContain(OWNER.password);
  });

  it('reports the subscription’s worker on the destination and the slot’s progress on the source', async () => {
    const subscriber = connect(target, OWNER);
    const publisher = connect(source, OWNER);
    const workers = await subscriber`select * from datalakehouse_extras.subscription_status()`;
    expect(workers).toHaveLength(1);
    expect(workers[0]).toMatchObject({ subname: 'shop_sub', relid: null, apply_error_count: '0', sync_error_count: '0' });
    expect(workers[0]?.pid).toBeGreaterThan(0);

    const slots = await publisher`select * from datalakehouse_extras.replication_status() where slot_name = 'shop_slot'`;
    expect(slots).toHaveLength(1);
    expect(slots[0]).toMatchObject({ slot_name: 'shop_slot', active: true, wal_status: 'reserved', state: 'streaming' });
    expect(JSON.stringify(slots)).not.toContain(OWNER.password);
  });

  it('on PostgreSQL 15 runs the owner’s ENABLE ALWAYS triggers as the superuser that owns the subscription (see SECURITY.md)', async () => {
    const [row] = await target.sql('shop')`select array_agg(distinct who)::text[] as who from applied_by`;
    expect(row?.who).toEqual(['postgres']);
  });

  it('disables and enables its subscription', async () => {
    const subscriber = connect(target, OWNER);
    await subscriber`select datalakehouse_extras.disable_subscription('shop_sub')`;
    expect((await subscriber`select subenabled from datalakehouse_extras.subscriptions()`)[0]?.subenabled).toBe(false);
    await subscriber`select datalakehouse_extras.enable_subscription('shop_sub')`;
    expect((await subscriber`select subenabled from datalakehouse_extras.subscriptions()`)[0]?.subenabled).toBe(true);
  });

  it('adds tables to its publication, skipping those already in it', async () => {
    const publisher = connect(source, OWNER);
    await publisher`select datalakehouse_extras.add_tables_to_publication('shop_pub', ${['items', 'public.victim', '"weird""; drop table victim; --"']})`;
    const published = await source.sql('shop')`select tablename from pg_publication_tables where pubname = 'shop_pub' order by 1`;
    expect(published.map((r) => r.tablename)).toEqual(['items', VICTIM, `weird"; drop table ${VICTIM}; --`]);
  });

  it('keeps the connection string out of the server log when creating a subscription fails', async () => {
    const subscriber = connect(target, OWNER);
    const secret = 'Pw-for-the-log-0451';
    const failed = await subscriber
      .unsafe(`select datalakehouse_extras.create_subscription('logged_sub', 'host=127.0.0.1 port=1 dbname=shop user=x password=${secret}', 'shop_pub', 'logged_slot')`)
      .then(() => undefined, (error: Error & { code?: string }) => error);
    expect(failed?.code).toBe('08006');
    expect(failed?.message).not.toContain(secret);
    // The control: the same session's failing statements are logged with their text.
    await subscriber.unsafe(`select 1/0 as "Marker-0451"`).catch(() => undefined);
    const log = readFileSync(target.logFile, 'utf8');
    expect(log).toContain('Marker-0451');
    expect(log).not.toContain(secret);
  });

  it('drops its subscription without the source, returning the slot for the caller to drop there, then its publication', async () => {
    const subscriber = connect(target, OWNER);
    const publisher = connect(source, OWNER);
    await source.stopServer('fast');
    try {
      expect((await subscriber`select datalakehouse_extras.drop_subscription('shop_sub') as slot`)[0]?.slot).toBe('shop_slot');
    } finally {
      await source.startServer();
    }
    expect(await target.sql('shop')`select subname from pg_subscription where subname = 'shop_sub'`).toHaveLength(0);
    expect(await subscriber`select * from datalakehouse_extras.subscriptions()`).toHaveLength(0);

    await eventually('the slot is released', async () => {
      const [slot] = await publisher`select active from datalakehouse_extras.replication_status() where slot_name = 'shop_slot'`;
      return slot?.active === false;
    });
    await publisher`select pg_drop_replication_slot('shop_slot')`;
    await publisher`select datalakehouse_extras.drop_publication('shop_pub')`;
    expect(await source.sql('shop')`select pubname from pg_publication where pubname = 'shop_pub'`).toHaveLength(0);
    await publisher`select datalakehouse_extras.drop_publication('shop_pub')`;
  });
});

describe('what the datalakehouse_extras extension refuses', () => {
  it('refuses every function to a role that neither owns the database nor is a member of its owner', async () => {
    const outsider = connect(target, OUTSIDER);
    const calls: [string, () => PromiseLike<unknown>][] = [
      ['assert_manager', () => outsider`select datalakehouse_extras.assert_manager()`],
      ['create_subscription', () => outsider`select datalakehouse_extras.create_subscription('s', ${connection(source)}, 'p', 'slot')`],
      ['enable_subscription', () => outsider`select datalakehouse_extras.enable_subscription('s')`],
      ['disable_subscription', () => outsider`select datalakehouse_extras.disable_subscription('s')`],
      ['drop_subscription', () => outsider`select datalakehouse_extras.drop_subscription('s')`],
      ['subscriptions', () => outsider`select * from datalakehouse_extras.subscriptions()`],
      ['subscription_status', () => outsider`select * from datalakehouse_extras.subscription_status()`],
      ['create_publication', () => outsider`select datalakehouse_extras.create_publication('p', ${['items']})`],
      ['create_publication for all tables', () => outsider`select datalakehouse_extras.create_publication('p')`],
      ['add_tables_to_publication', () => outsider`select datalakehouse_extras.add_tables_to_publication('p', ${['items']})`],
      ['drop_publication', () => outsider`select datalakehouse_extras.drop_publication('p')`],
      ['replication_status', () => outsider`select * from datalakehouse_extras.replication_status()`],
    ];
    const outcomes: Record<string, string> = {};
    for (const [name, call] of calls) outcomes[name] = await outcome(call);
    expect(outcomes).toEqual(Object.fromEntries(calls.map(([name]) => [name, '42501'])));

    const deputy = connect(target, DEPUTY);
    expect(await outcome(() => deputy`select * from datalakehouse_extras.subscriptions()`)).toBe('ok');
  });

  it('refuses a subscription of another database, even one recorded as its own', async () => {
    await target.exec(`create database other owner ${OWNER.user}`);
    await target.exec(`create subscription other_sub connection 'host=127.0.0.1 port=1 dbname=x password=x' publication p with (connect = false)`, 'other');
    await target.exec(`insert into datalakehouse_extras.managed_objects (kind, name, object_id, created_by)
      select 'subscription', subname, oid, '${OWNER.user}' from pg_subscription where subname = 'other_sub'`, 'shop');
    const owner = connect(target, OWNER);
    for (const fn of ['enable_subscription', 'disable_subscription', 'drop_subscription']) {
      expect(await outcome(() => owner.unsafe(`select datalakehouse_extras.${fn}('other_sub')`)), fn).toBe('42501');
    }
    expect(await owner`select * from datalakehouse_extras.subscriptions()`).toHaveLength(0);
    expect(await owner`select * from datalakehouse_extras.subscription_status()`).toHaveLength(0);
    await target.exec(`delete from datalakehouse_extras.managed_objects where name = 'other_sub'`, 'shop');
  });

  it('refuses subscriptions and publications it did not create, even under a name it once recorded', async () => {
    await target.exec(`create subscription manual_sub connection 'host=127.0.0.1 port=1 dbname=x password=x' publication p with (connect = false)`, 'shop');
    await target.exec(`insert into datalakehouse_extras.managed_objects (kind, name, object_id, created_by) values ('subscription', 'manual_sub', 1, '${OWNER.user}')`, 'shop');
    await source.exec('create publication manual_pub for table items', 'shop');
    const subscriber = connect(target, OWNER);
    const publisher = connect(source, OWNER);
    for (const fn of ['enable_subscription', 'disable_subscription', 'drop_subscription']) {
      expect(await outcome(() => subscriber.unsafe(`select datalakehouse_extras.${fn}('manual_sub')`)), fn).toBe('42501');
    }
    expect(await subscriber`select * from datalakehouse_extras.subscriptions()`).toHaveLength(0);
    expect(await outcome(() => publisher`select datalakehouse_extras.add_tables_to_publication('manual_pub', ${[VICTIM]})`)).toBe('42501');
    expect(await outcome(() => publisher`select datalakehouse_extras.drop_publication('manual_pub')`)).toBe('42501');
    expect(await outcome(() => subscriber`select datalakehouse_extras.drop_subscription('no_such_sub')`)).toBe('42704');
    expect(await target.sql('shop')`select 1 from pg_subscription where subname = 'manual_sub'`).toHaveLength(1);
    expect(await source.sql('shop')`select 1 from pg_publication where pubname = 'manual_pub'`).toHaveLength(1);
  });

  it('takes table names only as names, never as SQL', async () => {
    const publisher = connect(source, OWNER);
    expect(await outcome(() => publisher`select datalakehouse_extras.create_publication('inj_pub', ${[`t; drop table ${VICTIM}`]})`)).toBe('22023');
    expect(await outcome(() => publisher`select datalakehouse_extras.create_publication('inj_pub', ${[`items; drop table ${VICTIM}`]})`)).toBe('22023');
    expect(await outcome(() => publisher`select datalakehouse_extras.create_publication('inj_pub', ${[`"x""; drop table ${VICTIM}; --"`]})`)).toBe('42P01');
    expect(await outcome(() => publisher`select datalakehouse_extras.create_publication('inj_pub', ${[`items) ; drop table ${VICTIM}; --`]})`)).toBe('22023');

    await publisher`select datalakehouse_extras.create_publication('inj_pub', ${[`"weird""; drop table ${VICTIM}; --"`]})`;
    const published = await source.sql('shop')`select tablename from pg_publication_tables where pubname = 'inj_pub'`;
    expect(published).toEqual([{ tablename: `weird"; drop table ${VICTIM}; --` }]);
    expect(await victimExists(source)).toBe(true);
    await publisher`select datalakehouse_extras.drop_publication('inj_pub')`;
  });

  it('creates publications and subscriptions whose names carry quotes and semicolons under exactly those names', async () => {
    const name = `o'q"; drop table ${VICTIM}; --`;
    const publisher = connect(source, OWNER);
    const subscriber = connect(target, OWNER);
    await publisher`select datalakehouse_extras.create_publication(${name}, ${['items']})`;
    expect(await source.sql('shop')`select pubname from pg_publication where pubname = ${name}`).toHaveLength(1);

    await subscriber`select datalakehouse_extras.create_subscription(${name}, ${connection(source)}, ${name}, 'names_slot', false, false)`;
    expect(await target.sql('shop')`select subpublications from pg_subscription where subname = ${name}`).toEqual([{ subpublications: [name] }]);
    expect((await subscriber`select datalakehouse_extras.drop_subscription(${name}) as slot`)[0]?.slot).toBe('names_slot');
    await publisher`select datalakehouse_extras.drop_publication(${name})`;
    expect(await source.sql('shop')`select pubname from pg_publication where pubname = ${name}`).toHaveLength(0);
    expect(await victimExists(source)).toBe(true);
    expect(await victimExists(target)).toBe(true);
  });

  it('passes a connection string carrying SQL to CREATE SUBSCRIPTION only as a literal', async () => {
    const publisher = connect(source, OWNER);
    const subscriber = connect(target, OWNER);
    await publisher`select datalakehouse_extras.create_publication('literal_pub', ${['items']})`;

    // Quoted so that libpq takes it: the whole text reaches the subscription as one value.
    const carried = connection(source, ` application_name=x';drop\\ table\\ ${VICTIM};--`);
    await subscriber`select datalakehouse_extras.create_subscription('literal_sub', ${carried}, 'literal_pub', 'literal_slot', false, false)`;
    expect(await victimExists(target)).toBe(true);
    const [stored] = await target.sql('shop')`select subconninfo from pg_subscription where subname = 'literal_sub'`;
    expect(stored?.subconninfo).toBe(carried);
    await subscriber`select datalakehouse_extras.drop_subscription('literal_sub')`;

    const broken = `${connection(source)}' ; drop table ${VICTIM}; --`;
    expect(await outcome(() => subscriber`select datalakehouse_extras.create_subscription('broken_sub', ${broken}, 'literal_pub', 'broken_slot', false, false)`)).toBe('22023');
    expect(await victimExists(target)).toBe(true);
    await publisher`select datalakehouse_extras.drop_publication('literal_pub')`;
  });

  it('refuses connection strings without a password of their own or without a TCP host to the source', async () => {
    const subscriber = connect(target, OWNER);
    const base = `port=${source.port} dbname=shop user=${OWNER.user}`;
    const refused = {
      'no password': `host=127.0.0.1 ${base}`,
      'a password only inside another value': `host=127.0.0.1 ${base} application_name='x password=y'`,
      'an empty password': `host=127.0.0.1 ${base} password=''`,
      'a URI': `postgresql://${OWNER.user}:${OWNER.password}@127.0.0.1:${source.port}/shop`,
      'a Unix-domain socket': `host=/var/run/postgresql ${base} password=x`,
      'no host': `${base} password=x`,
      'a connection string as dbname': `host=127.0.0.1 port=${source.port} user=${OWNER.user} password=x dbname='host=/tmp dbname=shop'`,
      'a service': `service=anything host=127.0.0.1 ${base} password=x`,
      'not keyword = value pairs': `host=127.0.0.1 ${base} password`,
    };
    const outcomes: Record<string, string> = {};
    for (const [what, conninfo] of Object.entries(refused)) {
      outcomes[what] = await outcome(() => subscriber`select datalakehouse_extras.create_subscription('refused_sub', ${conninfo}, 'p', 'refused_slot', false, false)`);
    }
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(refused).map((what) => [what, '22023'])));
    expect(await target.sql('shop')`select 1 from pg_subscription where subname = 'refused_sub'`).toHaveLength(0);
  });

  it('refuses a subscription to a source that publishes a table named like the extension’s own', async () => {
    await source.exec('create publication tracking_pub for table datalakehouse_extras.managed_objects', 'shop');
    const subscriber = connect(target, OWNER);
    expect(await outcome(() => subscriber`select datalakehouse_extras.create_subscription('tracking_sub', ${connection(source)}, 'tracking_pub', 'tracking_slot', false, false)`)).toBe('42501');
    expect(await target.sql('shop')`select 1 from pg_subscription where subname = 'tracking_sub'`).toHaveLength(0);
  });

  it('refuses to publish a table the caller cannot read every row of, a system table, or what is not a table', async () => {
    await source.exec(`
      create table unreadable (id int);
      create table guarded (id int);
      grant select on guarded to ${OWNER.user};
      alter table guarded enable row level security;`, 'shop');
    const publisher = connect(source, OWNER);
    await publisher.unsafe('create view items_view as select * from items');
    const attempts = {
      'no SELECT': 'unreadable',
      'row-level security': 'public.guarded',
      'a system catalog': 'pg_catalog.pg_authid',
      'the extension’s own table': 'datalakehouse_extras.managed_objects',
      'a view': 'items_view',
      'a missing table': 'nowhere.items',
    };
    const outcomes: Record<string, string> = {};
    for (const [what, table] of Object.entries(attempts)) {
      outcomes[what] = await outcome(() => publisher`select datalakehouse_extras.create_publication('refused_pub', ${[table]})`);
    }
    expect(outcomes).toEqual({
      'no SELECT': '42501',
      'row-level security': '42501',
      'a system catalog': '42501',
      'the extension’s own table': '42501',
      'a view': '42809',
      'a missing table': '42P01',
    });
    expect(await source.sql('shop')`select 1 from pg_publication where pubname = 'refused_pub'`).toHaveLength(0);
    await source.exec('drop table unreadable, guarded; drop view items_view', 'shop');
  });

  it('publishes every table only while the caller can read each, and never the extension’s own table', async () => {
    await source.exec('create table secret (id int)', 'shop');
    const publisher = connect(source, OWNER);
    const refused = await publisher`select datalakehouse_extras.create_publication('all_pub')`.then(
      () => undefined,
      (error: Error & { code?: string }) => error,
    );
    expect(refused?.code).toBe('42501');
    expect(refused?.message).toContain('public.secret');

    await source.exec(`grant select on secret to ${OWNER.user}`, 'shop');
    await publisher`select datalakehouse_extras.create_publication('all_pub')`;
    const published = await source.sql('shop')`select schemaname || '.' || tablename as t from pg_publication_tables where pubname = 'all_pub' order by 1`;
    expect(published.map((r) => r.t)).toEqual(['public.applied_by', 'public.items', 'public.secret', `public.${VICTIM}`, `public.weird"; drop table ${VICTIM}; --`]);
    await publisher`select datalakehouse_extras.drop_publication('all_pub')`;
    await source.exec('drop table secret', 'shop');
  });

  it('refuses names that are empty, missing, or longer than PostgreSQL’s 63 bytes', async () => {
    const subscriber = connect(target, OWNER);
    const publisher = connect(source, OWNER);
    const create = (name: string | null) => () =>
      subscriber`select datalakehouse_extras.create_subscription(${name}, ${connection(source)}, 'p', 'slot', false, false)`;
    expect(await outcome(create('s'.repeat(64)))).toBe('22023');
    expect(await outcome(create('é'.repeat(32)))).toBe('22023');
    expect(await outcome(create(''))).toBe('22023');
    expect(await outcome(create(null))).toBe('22023');
    expect(await outcome(() => subscriber`select datalakehouse_extras.enable_subscription(${'é'.repeat(31)})`)).toBe('42704');
    expect(await outcome(() => publisher`select datalakehouse_extras.create_publication(${'p'.repeat(64)}, ${['items']})`)).toBe('22023');
    expect(await outcome(() => publisher`select datalakehouse_extras.create_publication('p', ${[`public.${'t'.repeat(64)}`]})`)).toBe('22023');
    expect(await target.sql('shop')`select 1 from pg_subscription where subname like 'sss%'`).toHaveLength(0);
  });
});

describe('the datalakehouse_extras extension on a PostgreSQL 17 destination', () => {
  it('subscribes as the database owner and replicates rows, applying them as the table’s owner', async () => {
    const publisher = connect(source, OWNER);
    const subscriber = connect(target17, OWNER);
    await publisher`select datalakehouse_extras.create_publication('shop17_pub', ${['items']})`;
    await publisher`select pg_create_logical_replication_slot('shop17_slot', 'pgoutput')`;
    await subscriber`select datalakehouse_extras.create_subscription('shop17_sub', ${connection(source)}, 'shop17_pub', 'shop17_slot')`;
    await publisher`insert into items values (1001, 'for seventeen')`;
    await eventually('the row reaches PostgreSQL 17', async () => {
      const [row] = await subscriber`select count(*)::int as n from items where id = 1001`;
      return row?.n === 1;
    });
    const [row] = await subscriber`select array_agg(distinct who)::text[] as who from applied_by`;
    expect(row?.who).toEqual([OWNER.user]);

    const listed = await subscriber`select subname, subowner from datalakehouse_extras.subscriptions()`;
    expect(listed).toEqual([{ subname: 'shop17_sub', subowner: 'postgres' }]);
    expect((await subscriber`select datalakehouse_extras.drop_subscription('shop17_sub') as slot`)[0]?.slot).toBe('shop17_slot');
    await eventually('the slot is released', async () => {
      const [slot] = await publisher`select active from datalakehouse_extras.replication_status() where slot_name = 'shop17_slot'`;
      return slot?.active === false;
    });
    await publisher`select pg_drop_replication_slot('shop17_slot')`;
    await publisher`select datalakehouse_extras.drop_publication('shop17_pub')`;
  });
});
