import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, type MigrationEvent } from '../src/index.js';
import { renameDatabase } from '../src/schema/database-properties.js';
import { startClusters, uriAs, type Cluster } from './support/cluster.js';

/**
 * A database is more than its tables: its settings (`ALTER DATABASE … SET`,
 * and per role `ALTER ROLE … IN DATABASE … SET`), its connection limit, its
 * comment and who may connect to it. A destination database the migration
 * creates gets them as the source database has them; an application that
 * relies on the database's search_path, or a source that lets only some
 * roles connect, must not find the destination open to every role.
 */
const PROPERTIES = (db: string): string => `
  alter database ${db} set search_path = app, "$user", public;
  alter database ${db} set "my.tenant" = 'o''brien';
  alter database ${db} set work_mem = '12MB';
  alter role alice in database ${db} set work_mem = '64MB';
  alter database ${db} connection limit 40;
  comment on database ${db} is 'orders, "live"';
  revoke connect, temporary on database ${db} from public;
  grant connect on database ${db} to alice;
  grant create on database ${db} to "Bob X" with grant option;`;

/** Objects of the database itself: a table, a publication of the user's, and one another destination's migration made. */
const OBJECTS = (db: string): string => `
  create table orders (id int primary key, note text); insert into orders values (1, 'x');
  create publication orders_feed for table orders with (publish = 'insert, update');
  comment on publication orders_feed is 'for the warehouse';
  create publication dlh_mig_${db}_0123456789 for table orders;`;

/** The publications of a database, this library's own (another destination's, here) aside. */
const PUBLICATIONS = `
  select p.pubname as name, p.pubinsert as inserts, p.pubupdate as updates, p.pubdelete as deletes, obj_description(p.oid, 'pg_publication') as comment,
         array(select tablename::text from pg_publication_tables t where t.pubname = p.pubname order by 1) as tables
  from pg_publication p order by 1`;

/** The properties of `db` as the catalogs hold them. */
const DESCRIBE = `
  select d.datconnlimit as limit, shobj_description(d.oid, 'pg_database') as comment,
         d.datacl::text as acl,
         (select setconfig from pg_db_role_setting s where s.setdatabase = d.oid and s.setrole = 0) as settings,
         (select setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where s.setdatabase = d.oid and r.rolname = 'alice') as alice
  from pg_database d where d.datname = $1`;

describe('the destination database', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{}, {}])) as [Cluster, Cluster];
    await source.exec(`create role alice; create role "Bob X"`);
    for (const db of ['by_dump', 'by_replication', 'renamed', 'as_admin', 'filled']) {
      await source.exec(`create database ${db}`);
      await source.exec(OBJECTS(db), db);
      await source.exec(PROPERTIES(db));
    }
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  const describeDatabase = async (cluster: Cluster, db: string): Promise<unknown> => (await cluster.sql().unsafe(DESCRIBE, [db]))[0];

  for (const method of ['dump', 'replication'] as const) {
    it(`has the source database's settings, connection limit, comment, grants and publications (${method})`, async () => {
      const db = `by_${method}`;
      const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: [db], method, pollIntervalMs: 100, syncTimeoutMs: 60_000 });
      const warnings: unknown[] = [];
      migrator.on('warning', (event) => warnings.push(event));
      try {
        const status = (await migrator.migrate())._unsafeUnwrap();
        expect(status.databases[0]).toMatchObject({ status: method === 'dump' ? 'done' : 'syncing', error: null });
        expect(warnings).toEqual([]);
        const expected = await describeDatabase(source, db);
        expect(expected).toMatchObject({ limit: 40, comment: 'orders, "live"', alice: ['work_mem=64MB'] });
        expect(await describeDatabase(target, db)).toEqual(expected);
        expect(await target.sql(db).unsafe(PUBLICATIONS)).toEqual([
          { name: 'orders_feed', inserts: true, updates: true, deletes: false, comment: 'for the warehouse', tables: ['orders'] },
        ]);
      } finally {
        if (method === 'replication') (await migrator.stop())._unsafeUnwrap();
        await migrator.close();
      }
    });
  }

  it('has them too when it was there, empty, before the migration filled it', async () => {
    await target.exec('create database filled');
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['filled'], method: 'dump' });
    try {
      expect((await migrator.migrate())._unsafeUnwrap().databases[0]).toMatchObject({ status: 'done', error: null });
      expect(await describeDatabase(target, 'filled')).toEqual(await describeDatabase(source, 'filled'));
    } finally {
      await migrator.close();
    }
  });

  it('has them under its new name, and a database of the old name there is left alone', async () => {
    await target.exec('create database renamed');
    const before = await describeDatabase(target, 'renamed');
    const events: MigrationEvent[] = [];
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: [{ source: 'renamed', target: 'renamed_copy' }], method: 'dump' });
    migrator.on('schema', (event) => events.push(event));
    try {
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases[0]).toMatchObject({ dbname: 'renamed_copy', status: 'done', error: null });
      const expected = (await describeDatabase(source, 'renamed')) as Record<string, unknown>;
      expect(await describeDatabase(target, 'renamed_copy')).toEqual(expected);
      expect(await describeDatabase(target, 'renamed')).toEqual(before);
      expect(events).toContainEqual(expect.objectContaining({ step: 'properties', dbname: 'renamed_copy' }));
    } finally {
      await migrator.close();
    }
  });

  it('has what a destination user who is not a superuser may set (its grants left out with the owners), and names what it may not', async () => {
    await source.exec(`alter database as_admin set log_min_duration_statement = 250`);
    await target.exec(`create role dlh_admin login createdb createrole password 'admin-secret'`);
    await target.exec('create database defaultdb owner dlh_admin');
    const warnings: { message: string }[] = [];
    const migrator = new Migrator({ source: source.uri(), target: uriAs(target, 'dlh_admin', 'admin-secret', 'defaultdb'), databases: ['as_admin'], method: 'dump' });
    migrator.on('warning', (event) => warnings.push(event));
    try {
      const result = await migrator.migrate();
      if (result.isErr()) throw new Error(result.error.message);
      const status = result.value;
      expect(status.databases[0]).toMatchObject({ status: 'done', error: null });
      const properties = (await describeDatabase(target, 'as_admin')) as { settings: string[]; limit: number; comment: string };
      expect(properties).toMatchObject({ limit: 40, comment: 'orders, "live"' });
      // A superuser-only setting, and (from PostgreSQL 15) an extension's setting not yet defined there, are the superuser's to set.
      expect(properties.settings).toEqual(['search_path=app, "$user", public', 'work_mem=12MB']);
      expect(properties).toMatchObject({ alice: ['work_mem=64MB'] });
      expect(warnings.map((w) => w.message)).toEqual([
        expect.stringMatching(/may not act as .*without their grants/),
        expect.stringMatching(/permission denied to set parameter "my\.tenant"/),
        expect.stringMatching(/permission denied to set parameter "log_min_duration_statement"/),
      ]);
    } finally {
      await migrator.close();
    }
  });
});

describe('a property statement for a renamed database', () => {
  it('names the new database where the old one was referred to, and nowhere else', () => {
    expect(renameDatabase(`COMMENT ON DATABASE shop IS 'ON DATABASE shop';`, 'shop', 'Shop 2')).toBe(`COMMENT ON DATABASE "Shop 2" IS 'ON DATABASE shop';`);
    expect(renameDatabase(`ALTER ROLE database IN DATABASE shop SET work_mem TO '1MB';`, 'shop', 'copy')).toBe(`ALTER ROLE database IN DATABASE "copy" SET work_mem TO '1MB';`);
    expect(renameDatabase(`ALTER ROLE "x IN DATABASE shop" IN DATABASE "Odd ""db""" SET a TO 'b';`, 'Odd "db"', 'copy')).toBe(
      `ALTER ROLE "x IN DATABASE shop" IN DATABASE "copy" SET a TO 'b';`,
    );
    expect(renameDatabase(`GRANT CONNECT ON DATABASE "select" TO alice;`, 'select', 'copy')).toBe(`GRANT CONNECT ON DATABASE "copy" TO alice;`);
  });

  it('is refused when it refers to no such database, rather than sent to another', () => {
    expect(() => renameDatabase(`ALTER DATABASE other SET work_mem TO '1MB';`, 'shop', 'copy')).toThrow(/no reference to database "shop"/);
  });
});

describe('a destination database whose own settings would time the migration out', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    [source, target] = (await startClusters([{}, {}])) as [Cluster, Cluster];
    await source.exec('create database strict');
    await source.exec('create table orders (id int primary key, note text); insert into orders select g, md5(g::text) from generate_series(1, 20000) g;', 'strict');
    // An application's guard rails, which the destination database gets with the rest of its settings.
    await source.exec(`alter database strict set statement_timeout = '1ms'; alter database strict set lock_timeout = '1ms'`);
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('still answers status(), verify() and stop() there: the migration\'s own sessions are not the application\'s', async () => {
    const options = { source: source.uri(), target: target.uri(), databases: ['strict'], method: 'replication' as const, pollIntervalMs: 100, syncTimeoutMs: 60_000 };
    const migrator = new Migrator(options);
    try {
      const migrated = await migrator.migrate();
      expect(migrated.isOk() && migrated.value.databases[0], JSON.stringify(migrated)).toMatchObject({ status: 'syncing', error: null });
      const [settings] = await target.sql()<{ settings: string[] }[]>`
        select setconfig as settings from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase where d.datname = 'strict' and s.setrole = 0`;
      expect(settings?.settings).toEqual(['statement_timeout=1ms', 'lock_timeout=1ms']);
      expect((await migrator.status())._unsafeUnwrap().databases[0]).toMatchObject({ status: 'syncing', error: null });
      expect((await migrator.verify())._unsafeUnwrap().ok).toBe(true);
      expect((await migrator.stop())._unsafeUnwrap().databases[0]).toMatchObject({ status: 'done', error: null });
    } finally {
      await migrator.close();
    }
  });
});

