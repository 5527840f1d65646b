/**
 * An extension's configuration tables (pg_extension_config_dump: pg_cron's
 * cron.job, pg_partman's part_config, PostGIS's spatial_ref_sys) hold the
 * user's rows beside the ones its script inserts. pg_dump copies the rows
 * their condition selects after CREATE EXTENSION made the table, and sets
 * the extension's configuration sequences; the migration must do the same.
 *
 * The extension is a test-only one, written into both servers' extension
 * directories for the file's run and removed after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster, type Major } from './support/cluster.js';
import { extensionDirectory } from './support/extras-extension.js';

const EXTENSION = 'dlh_config_test';
const FILES = [`${EXTENSION}.control`, `${EXTENSION}--1.0.sql`] as const;
const CONTROL = `comment = 'configuration tables, for tests'\ndefault_version = '1.0'\nrelocatable = false\nschema = cfg\n`;
// settings: the script's own row is builtin, and the condition leaves it to the script on the destination.
// targets: an empty condition, every row is the user's. notes: a member table that is not configuration.
const SCRIPT = `
create table settings (k text primary key, v text, builtin boolean not null default false);
insert into settings values ('default', '1', true);
select pg_catalog.pg_extension_config_dump('settings', 'where not builtin');
create sequence job_ids;
create table targets (id bigint primary key default nextval('job_ids'), name text);
select pg_catalog.pg_extension_config_dump('targets', '');
select pg_catalog.pg_extension_config_dump('job_ids', '');
create table notes (n text primary key);
`;
const SOURCE: Major = 14;
const TARGET: Major = 17;

const USER_ROWS = `
  create extension ${EXTENSION};
  insert into cfg.settings values ('user', '2');
  update cfg.settings set v = 'changed on the source' where k = 'default';
  insert into cfg.targets (name) select 'target ' || i from generate_series(1, 41) i;
  insert into cfg.notes values ('not configuration: the extension owns it');
  create table public.t (id int primary key);
  insert into public.t values (1);`;

describe("an extension's configuration tables", () => {
  let source: Cluster;
  let target: Cluster;

  beforeAll(async () => {
    for (const major of [SOURCE, TARGET]) {
      writeFileSync(join(extensionDirectory(major), FILES[0]), CONTROL);
      writeFileSync(join(extensionDirectory(major), FILES[1]), SCRIPT);
    }
    [source, target] = (await startClusters([{ major: SOURCE, walLevel: 'logical' }, { major: TARGET }])) as [Cluster, Cluster];
    for (const db of ['config_dump', 'config_replication']) {
      await source.exec(`create database ${db}`);
      await source.exec(USER_ROWS, db);
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    for (const major of [SOURCE, TARGET]) {
      for (const file of FILES) rmSync(join(extensionDirectory(major), file), { force: true });
    }
  });

  const rowsOf = async (cluster: Cluster, db: string) => ({
    settings: await cluster.sql(db)<{ k: string; v: string }[]>`select k, v from cfg.settings order by k`,
    targets: Number((await cluster.sql(db)<{ n: string }[]>`select count(*)::text as n from cfg.targets`)[0]?.n),
    notes: Number((await cluster.sql(db)<{ n: string }[]>`select count(*)::text as n from cfg.notes`)[0]?.n),
    sequence: (await cluster.sql(db)<{ last_value: string; is_called: boolean }[]>`select last_value::text, is_called from cfg.job_ids`)[0],
  });

  it('dump copies the rows their condition selects, keeps the script’s own, and sets their sequences, as pg_dump does', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['config_dump'], method: 'dump' });
    try {
      const status = await migrator.migrate();
      expect(status.isOk(), JSON.stringify(status)).toBe(true);
      const copied = await rowsOf(target, 'config_dump');
      // The builtin row is the destination script's, unchanged: the condition leaves it out, as pg_dump would.
      expect(copied.settings).toEqual([
        { k: 'default', v: '1' },
        { k: 'user', v: '2' },
      ]);
      expect(copied.targets).toBe(41);
      // A member table outside pg_extension_config_dump is the extension's alone; pg_dump leaves its rows too.
      expect(copied.notes).toBe(0);
      expect(copied.sequence).toEqual({ last_value: '41', is_called: true });

      const report = (await migrator.verify())._unsafeUnwrap();
      const database = report.databases.find((d) => d.dbname === 'config_dump');
      expect(database?.status, JSON.stringify(database)).toBe('equal');
      expect(database?.tables.map((t) => `${t.schema}.${t.table}`).sort()).toEqual(['cfg.settings', 'cfg.targets', 'public.t']);

      // verify() compares what the condition selects: a user's row lost on the destination is a difference.
      await target.exec(`delete from cfg.settings where k = 'user'`, 'config_dump');
      const after = (await migrator.verify())._unsafeUnwrap().databases.find((d) => d.dbname === 'config_dump');
      expect(after?.status).toBe('different');
      expect(after?.differences).toEqual([expect.objectContaining({ kind: 'rows', object: 'cfg.settings' })]);
    } finally {
      await migrator.close();
    }
  });

  it('replication copies them under the slot’s snapshot, follows their changes, and sets their sequences on stop', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['config_replication'], method: 'replication', pollIntervalMs: 100 });
    try {
      const status = await migrator.migrate();
      expect(status.isOk(), JSON.stringify(status)).toBe(true);
      const initial = await rowsOf(target, 'config_replication');
      expect(initial.settings.map((r) => r.k)).toEqual(['default', 'user']);
      expect(initial.targets).toBe(41);

      await source.exec(`insert into cfg.settings values ('later', '3'); insert into cfg.targets (name) values ('later')`, 'config_replication');
      const report = (await migrator.verify())._unsafeUnwrap().databases.find((d) => d.dbname === 'config_replication');
      // The sequence is behind until stop(), and expected to be.
      expect(report?.status, JSON.stringify(report)).toBe('equal');
      expect(report?.differences.filter((d) => !d.expected)).toEqual([]);

      (await migrator.stop())._unsafeUnwrap();
      const stopped = await rowsOf(target, 'config_replication');
      expect(stopped.settings.map((r) => r.k)).toEqual(['default', 'later', 'user']);
      expect(stopped.targets).toBe(42);
      expect(stopped.sequence).toEqual({ last_value: '42', is_called: true });
    } finally {
      await migrator.close();
    }
  });
});
