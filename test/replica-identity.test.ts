import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { eventually } from './support/compare.js';
import { extensionDirectory } from './support/extras-extension.js';

/**
 * With REPLICA IDENTITY FULL and no key, the destination finds the row an
 * UPDATE or DELETE names by comparing every column, with each type's default
 * equality operator (PostgreSQL 15 to 17 alike: 16's use of an index for FULL
 * still compares every column). A type without one (json, point, a domain
 * over json, json[], a composite holding point) stops the apply worker on the
 * first such change.
 */
describe('replica identity FULL on a table with a column type that has no equality operator', () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    // The destination logs through the collector, so status() can read the apply error from its log.
    [source, target] = (await startClusters([{ major: 15 }, { major: 15, logCollector: true }])) as [Cluster, Cluster];
    for (const db of ['documents', 'strict_documents', 'wrapped', 'comparable', 'grown']) await source.exec(`create database ${db}`);
    const documents = `
      create table doc (id int, body json, pt point);
      alter table doc replica identity full;
      insert into doc values (1, '{"a":1}', '(1,2)'), (2, '{"b":2}', '(3,4)');`;
    await source.exec(documents, 'documents');
    await source.exec(documents, 'strict_documents');
    await source.exec(
      `create domain document as json;
       create type place as (label text, at point);
       create table wrapped (id int, body document, bodies json[], site place);
       alter table wrapped replica identity full;
       insert into wrapped values (1, '{}', array['{}'::json], row('home', '(0,0)'));`,
      'wrapped',
    );
    // What does compare: jsonb, arrays and ranges of comparable types, a type with only a hash
    // operator class (aclitem[]), a generated column (the destination computes it, and skips it
    // when it compares), and json in a table whose primary key finds the row.
    await source.exec(
      `create table notes (id int, body jsonb, tags text[], span int4range, acl aclitem[], rendered json generated always as (body::json) stored);
       alter table notes replica identity full;
       insert into notes (id, body, tags, span, acl) values (1, '{"a":1}', '{x}', '[1,2)', '{postgres=r/postgres}'), (2, '{"b":2}', '{y}', '[2,3)', null);
       create table keyed (id int primary key, body json, pt point);
       alter table keyed replica identity full;
       insert into keyed values (1, '{"a":1}', '(1,2)'), (2, '{"b":2}', '(3,4)');`,
      'comparable',
    );
    await source.exec(`create table events (id int, kind text); alter table events replica identity full; insert into events values (1, 'a'), (2, 'b');`, 'grown');
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('is reported by preflight naming the table and the column types, with the fix, and auto dumps that database', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['documents'] });
    try {
      const report = (await migrator.preflight())._unsafeUnwrap();
      const check = report.checks.find((c) => c.id === 'replica-identity' && c.database === 'documents');
      expect(check).toMatchObject({ status: 'warn', blocks: 'replication', side: 'source' });
      expect(check?.message).toContain('public.doc (json, point)');
      expect(check?.hint).toMatch(/primary key/i);
      expect(check?.hint).toContain('REPLICA IDENTITY USING INDEX');
      expect(report.databases).toEqual([
        expect.objectContaining({ dbname: 'documents', method: 'pg_dump', replicationBlockers: [expect.stringContaining('public.doc (json, point)')] }),
      ]);

      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases).toEqual([expect.objectContaining({ dbname: 'documents', method: 'pg_dump', status: 'done' })]);
      const rows = await target.sql('documents')<{ id: number }[]>`select id from doc order by id`;
      expect(rows.map((r) => r.id)).toEqual([1, 2]);
    } finally {
      await migrator.close();
    }
  });

  it('fails that database up front under method replication, saying why', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['strict_documents'], method: 'replication' });
    try {
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases).toEqual([
        expect.objectContaining({ dbname: 'strict_documents', method: 'replication', status: 'failed', error: expect.stringContaining('public.doc (json, point)') }),
      ]);
      expect(await target.sql()`select 1 from pg_database where datname = 'strict_documents'`).toEqual([]);
    } finally {
      await migrator.stop({ force: true });
      await migrator.close();
    }
  });

  it('looks through domains, arrays and composite types, as the destination does', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['wrapped'], method: 'replication' });
    try {
      const report = (await migrator.preflight())._unsafeUnwrap();
      const check = report.checks.find((c) => c.id === 'replica-identity' && c.database === 'wrapped');
      expect(check).toMatchObject({ status: 'fail', blocks: 'replication' });
      expect(check?.message).toContain('public.wrapped (document, json[], place)');
    } finally {
      await migrator.close();
    }
  });

  it('replicates the UPDATEs and DELETEs of full-identity tables whose columns compare, or whose primary key finds the row', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['comparable'], pollIntervalMs: 100 });
    try {
      const report = (await migrator.preflight())._unsafeUnwrap();
      expect(report.checks.find((c) => c.id === 'replica-identity' && c.database === 'comparable')).toMatchObject({ status: 'pass' });
      const status = (await migrator.migrate({ preflight: report }))._unsafeUnwrap();
      expect(status.databases).toEqual([expect.objectContaining({ dbname: 'comparable', method: 'replication', status: 'syncing' })]);

      await source.exec(
        `update notes set body = '{"c":3}', acl = '{postgres=w/postgres}' where id = 1; delete from notes where id = 2;
         update keyed set body = '{"c":3}', pt = '(5,6)' where id = 1; delete from keyed where id = 2;`,
        'comparable',
      );
      const stopped = await migrator.stop();
      expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
      const rows = async (cluster: Cluster): Promise<unknown> =>
        cluster.sql('comparable')`select (select json_agg(n order by id)::text from notes n) as notes, (select json_agg(k order by id)::text from keyed k) as keyed`;
      expect(await rows(target)).toEqual(await rows(source));
    } finally {
      await migrator.stop({ force: true });
      await migrator.close();
    }
  });

  it('says, when a column that cannot be compared arrives later, that the table needs a key, not that a row conflicts', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['grown'], pollIntervalMs: 100 });
    try {
      const status = (await migrator.migrate())._unsafeUnwrap();
      expect(status.databases).toEqual([expect.objectContaining({ dbname: 'grown', method: 'replication', status: 'syncing' })]);
      // A schema change made on both sides, as replication requires of one.
      await target.exec(`alter table events add column payload json`, 'grown');
      await source.exec(`alter table events add column payload json; update events set payload = '{}'; update events set kind = 'c' where id = 1`, 'grown');

      let error = '';
      await eventually('status reports the failing apply', async () => {
        const db = (await migrator.status())._unsafeUnwrap().databases[0];
        error = db?.error ?? '';
        return db?.status === 'failed' && error.includes('could not identify an equality operator for type json');
      });
      expect(error).toContain('public.events has REPLICA IDENTITY FULL and no primary key');
      expect(error).toContain('Give the table a primary key');
      expect(error).not.toContain('conflicting row');

      await target.exec(`alter table events add primary key (id)`, 'grown');
      const stopped = await migrator.stop();
      expect(stopped.isOk(), JSON.stringify(stopped)).toBe(true);
      const rows = async (cluster: Cluster): Promise<unknown> => cluster.sql('grown')`select id, kind, payload::text from events order by id`;
      expect(await rows(target)).toEqual(await rows(source));
    } finally {
      await migrator.stop({ force: true });
      await migrator.close();
    }
  });
});

/**
 * Tables whose UPDATEs and DELETEs the source itself would refuse once they
 * are published: a deferrable primary key is never a replica identity, and
 * an extension's own tables are published too (`FOR ALL TABLES`), though the
 * extension's script, not the copy, fills them.
 */
describe('tables a publication would leave without a replica identity', () => {
  let source: Cluster;
  let target: Cluster;
  const control = `comment = 'a member table without a key'\ndefault_version = '1.0'\nrelocatable = false\nschema = public\n`;
  const script = `create table keyless_log (note text); insert into keyless_log values ('builtin');`;

  beforeAll(async () => {
    for (const [file, text] of [['keyless_member.control', control], ['keyless_member--1.0.sql', script]] as const) writeFileSync(join(extensionDirectory(15), file), text);
    [source, target] = (await startClusters([{ major: 15 }, { major: 15 }])) as [Cluster, Cluster];
    await source.exec('create database deferred_key');
    await source.exec(`create table t (id int primary key deferrable, v text); insert into t values (1, 'a');`, 'deferred_key');
    await source.exec('create database with_member');
    await source.exec('create extension keyless_member; create table t (id int primary key); insert into t values (1);', 'with_member');
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    for (const file of ['keyless_member.control', 'keyless_member--1.0.sql']) rmSync(join(extensionDirectory(15), file), { force: true });
  });

  it.each([
    ['deferred_key', 'a deferrable primary key', /public\.t/],
    ['with_member', "an extension's table without a key", /public\.keyless_log/],
  ])('are reported by preflight, and auto dumps the database: %s (%s)', async (db, _what, table) => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: [db] });
    try {
      const report = (await migrator.preflight())._unsafeUnwrap();
      expect(report.checks.find((c) => c.id === 'replica-identity' && c.database === db)).toMatchObject({ status: 'warn', message: expect.stringMatching(table) });
      expect(report.databases[0]).toMatchObject({ method: 'pg_dump' });
    } finally {
      await migrator.close();
    }
  });
});
