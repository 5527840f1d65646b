import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { binariesFor, startClusters, type Cluster } from './support/cluster.js';

const PASSWORD = 'Tool-Conn-Secret-3b8e';

describe('a client tool that cannot connect', () => {
  let source: Cluster;
  let target: Cluster;
  const dirs: string[] = [];

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15, password: PASSWORD }, { major: 15 }])) as [Cluster, Cluster];
    await source.exec('create database shop');
    await source.exec('create table items (id int primary key); insert into items values (1)', 'shop');
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Client tools that connect differently from the library, as a tool
   * installed with its own libpq defaults or a different TLS build might:
   * `tools` get `environment` on top of what the library gives them.
   */
  function toolsConnectingWith(environment: string, tools: readonly string[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'dlh-tool-conn-'));
    dirs.push(dir);
    const real = binariesFor(15);
    for (const tool of ['pg_dump', 'pg_dumpall', 'pg_restore']) {
      const script = join(dir, tool);
      const env = tools.includes(tool) ? `${environment} ` : '';
      writeFileSync(script, `#!/bin/sh\n${env}exec "${real}/${tool}" "$@"\n`);
      chmodSync(script, 0o755);
    }
    return dir;
  }

  async function migrateWith(pgBinDir: string) {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: ['shop'], pgBinDir });
    const run = await migrator.migrate();
    await migrator.close();
    return run;
  }

  it('pg_dumpall refused its password: auth, with libpq\'s reason, which pg_dumpall itself drops', async () => {
    const run = await migrateWith(toolsConnectingWith('PGPASSFILE=/dev/null', ['pg_dump', 'pg_dumpall']));
    const error = run._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'auth', side: 'source' });
    expect(error.message).toMatch(/^pg_dumpall: Authentication failed for the source .*no password supplied/);
    expect(JSON.stringify(error)).not.toContain(PASSWORD);
  });

  it('pg_dump cannot reach the server: connection, naming what libpq said', async () => {
    const run = await migrateWith(toolsConnectingWith('PGPORT=1', ['pg_dump']));
    // pg_dumpall connected; the database's own dump then cannot, and an unreachable source ends the run.
    const error = run._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'connection', side: 'source', database: 'shop' });
    expect(error.message).toMatch(/^pg_dump: .*Connection refused/);
  });

  it('pg_dumpall asked for TLS the server does not offer: tls', async () => {
    const run = await migrateWith(toolsConnectingWith('PGSSLMODE=require', ['pg_dump', 'pg_dumpall']));
    const error = run._unsafeUnwrapErr();
    expect(error.kind).toBe('tls');
    expect(error.message).toMatch(/server does not support SSL/);
  });

  it('refuses, before anything connects, a password with a line break, which no tool could be given safely', async () => {
    await source.exec(`create role mover login superuser password E'first-line\\nsecond-line-77'`);
    const fields = { ...source.fields(), username: 'mover', password: 'first-line\nsecond-line-77' };
    const migrator = new Migrator({ source: fields, target: target.uri(), method: 'dump', databases: ['shop'] });
    const [checked, run] = [await migrator.preflight(), await migrator.migrate()];
    await migrator.close();
    for (const error of [checked._unsafeUnwrapErr(), run._unsafeUnwrapErr()]) {
      expect(error).toMatchObject({ kind: 'options', side: 'source' });
      expect(error.message).toMatch(/password has a line break/);
      expect(JSON.stringify(error)).not.toContain('second-line');
    }
  });
});
