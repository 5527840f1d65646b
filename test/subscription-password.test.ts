import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';

const SOURCE_PASSWORD = 'Sub-Secret-5e0c1d';
// Every server-side record of statement text that configuration can turn on.
const RECORDING = { log_statement: "'all'", log_min_duration_statement: 0, log_min_error_statement: 'debug5' };

/** Where the destination kept the source password: its log lines and pg_stat_statements entries. */
async function kept(target: Cluster): Promise<{ log: string[]; statements: string[] }> {
  const statements = await target.sql()<{ query: string }[]>`select query from pg_stat_statements`;
  return {
    log: readFileSync(target.logFile, 'utf8').split('\n').filter((line) => line.includes(SOURCE_PASSWORD)),
    statements: statements.map((row) => row.query).filter((query) => query.includes(SOURCE_PASSWORD)),
  };
}

describe('the source password in a subscription', () => {
  let source: Cluster;
  let superTarget: Cluster;
  let roleTarget: Cluster;

  beforeAll(async () => {
    [source, superTarget, roleTarget] = (await startClusters([
      { major: 15, password: SOURCE_PASSWORD, settings: { wal_level: 'logical' } },
      { major: 16, settings: { ...RECORDING, shared_preload_libraries: "'pg_stat_statements'", 'pg_stat_statements.track': "'all'" } },
      { major: 16, settings: { ...RECORDING, shared_preload_libraries: "'pg_stat_statements'", 'pg_stat_statements.track': "'all'" } },
    ])) as [Cluster, Cluster, Cluster];
    await source.exec('create database shop');
    await source.exec('create database depot');
    await source.exec('create table items (id int primary key, name text); insert into items values (1, $$pen$$)', 'shop');
    await source.exec('create table crates (id int primary key); insert into crates values (1)', 'depot');
    await superTarget.exec('create extension pg_stat_statements');
    await roleTarget.exec('create extension pg_stat_statements');
    await roleTarget.exec(`create role dlh_admin login createdb password 'admin-secret'; grant pg_create_subscription to dlh_admin`);
    await roleTarget.exec('create database defaultdb owner dlh_admin');
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), superTarget?.stop(), roleTarget?.stop()]);
  });

  it('reaches no log line and no pg_stat_statements entry of a superuser destination that records every statement', async () => {
    const migrator = new Migrator({ source: source.uri(), target: superTarget.uri(), method: 'replication', databases: ['shop'] });
    const run = await migrator.migrate();
    expect(run.isOk() ? 'ok' : run.error.message).toBe('ok');
    expect(run._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'shop', status: 'syncing' })]);
    await migrator.stop();
    await migrator.close();
    expect(await kept(superTarget)).toEqual({ log: [], statements: [] });
    expect(await superTarget.sql()`show log_statement`).toEqual([{ log_statement: 'all' }]);
  });

  it('warns, naming each setting, when a pg_create_subscription destination records statements its role may not stop recording', async () => {
    const target = roleTarget.uri('defaultdb');
    const migrator = new Migrator({ source: source.uri(), target: target.replace(/\/\/[^@]*@/, '//dlh_admin:admin-secret@'), method: 'replication', databases: ['shop'] });
    const report = await migrator.preflight();
    await migrator.close();
    const warning = report._unsafeUnwrap().checks.find((check) => check.id === 'target-privileges' && check.status === 'warn');
    expect(warning?.message).toMatch(/log_min_duration_statement = 0, log_min_error_statement = debug5, log_statement = all, pg_stat_statements.track = all, pg_stat_statements.track_utility = on would record CREATE SUBSCRIPTION/);
    expect(warning?.hint).toContain('GRANT SET ON PARAMETER log_min_duration_statement, log_min_error_statement, log_statement, pg_stat_statements.track, pg_stat_statements.track_utility TO dlh_admin');
    expect(JSON.stringify(report)).not.toContain(SOURCE_PASSWORD);
  });

  it('reaches no record once the role may set those settings, and preflight then has nothing to warn of', async () => {
    await roleTarget.exec('grant set on parameter log_statement, log_min_duration_statement, log_min_error_statement, pg_stat_statements.track, pg_stat_statements.track_utility to dlh_admin');
    const target = roleTarget.uri('defaultdb').replace(/\/\/[^@]*@/, '//dlh_admin:admin-secret@');
    const migrator = new Migrator({ source: source.uri(), target, method: 'replication', databases: ['depot'] });
    const report = await migrator.preflight();
    const run = await migrator.migrate();
    expect(run.isOk() ? 'ok' : run.error.message).toBe('ok');
    expect(run._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'depot', status: 'syncing' })]);
    await migrator.stop();
    await migrator.close();
    expect(report._unsafeUnwrap().checks.filter((check) => check.id === 'target-privileges' && check.status !== 'pass')).toEqual([]);
    expect(await kept(roleTarget)).toEqual({ log: [], statements: [] });
  });
});
