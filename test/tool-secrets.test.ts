import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../src/index.js';
import { binariesFor, startClusters, type Cluster } from './support/cluster.js';

// Characters a passfile must escape, and a long unique string to search for.
const PASSWORD = 'Tool:Secret\\Passw0rd-7f3a9c';

interface ToolCall {
  readonly tool: string;
  readonly argv: string[];
  readonly environ: string[];
  readonly passfile: string;
  readonly passfileMode: string;
  readonly passfileContent: string;
}

describe('client tools', () => {
  let source: Cluster;
  let target: Cluster;
  let bin: string;
  let log: string;

  beforeAll(async () => {
    [source, target] = (await startClusters([{ major: 15, password: PASSWORD }, { major: 15 }])) as [Cluster, Cluster];
    await source.exec('create database shop');
    await source.exec('create table items (id int primary key, name text); insert into items values (1, $$pen$$)', 'shop');
    // Each tool is a script that records what the operating system shows of
    // its process (argv and environment from /proc) and its passfile, then
    // runs the real tool.
    bin = mkdtempSync(join(tmpdir(), 'dlh-tool-spy-'));
    log = join(bin, 'calls');
    const real = binariesFor(15);
    for (const tool of ['pg_dump', 'pg_dumpall', 'pg_restore']) {
      const script = join(bin, tool);
      writeFileSync(
        script,
        [
          '#!/bin/sh',
          `record="${log}/$$"`,
          `mkdir -p "${log}"`,
          `echo "${tool}" > "$record.tool"`,
          'cat /proc/$$/cmdline > "$record.argv"',
          'cat /proc/$$/environ > "$record.environ"',
          'echo "$PGPASSFILE" > "$record.passfile"',
          'stat -c %a "$PGPASSFILE" > "$record.mode" 2>/dev/null',
          'cat "$PGPASSFILE" > "$record.content" 2>/dev/null',
          `exec "${real}/${tool}" "$@"`,
          '',
        ].join('\n'),
      );
      chmodSync(script, 0o755);
    }
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    if (bin) rmSync(bin, { recursive: true, force: true });
  });

  function calls(): ToolCall[] {
    if (!existsSync(log)) return [];
    const read = (file: string): string => (existsSync(join(log, file)) ? readFileSync(join(log, file), 'utf8') : '');
    return readdirSync(log)
      .filter((name) => name.endsWith('.tool'))
      .map((name) => name.slice(0, -'.tool'.length))
      .map((pid) => ({
        tool: read(`${pid}.tool`).trim(),
        argv: read(`${pid}.argv`).split('\0'),
        environ: read(`${pid}.environ`).split('\0'),
        passfile: read(`${pid}.passfile`).trim(),
        passfileMode: read(`${pid}.mode`).trim(),
        passfileContent: read(`${pid}.content`),
      }));
  }

  it('get the password only through a 0600 passfile that is gone after the run, never in argv or the environment', async () => {
    const migrator = new Migrator({ source: source.uri(), target: target.uri(), method: 'dump', databases: ['shop'], pgBinDir: bin });
    const result = await migrator.migrate();
    await migrator.close();
    expect(result._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'shop', status: 'done' })]);

    const all = calls();
    const connecting = all.filter((call) => call.passfile !== '');
    // Roles (pg_dumpall) and the schema (pg_dump) connect; pg_restore only reads the dump (its scripts go through the library's own connections).
    expect(new Set(connecting.map((call) => call.tool))).toEqual(new Set(['pg_dump', 'pg_dumpall']));
    expect(all.some((call) => call.tool === 'pg_restore')).toBe(true);
    for (const call of all) {
      expect(call.argv.join(' '), `${call.tool} argv`).not.toContain(PASSWORD);
      expect(call.environ.join('\n'), `${call.tool} environment`).not.toContain(PASSWORD);
      expect(call.environ.join('\n'), `${call.tool} environment`).not.toContain(target.password);
    }
    for (const call of connecting) {
      expect(call.passfileMode, `${call.tool} passfile mode`).toBe('600');
      expect(call.passfileContent, `${call.tool} passfile`).toContain(`:postgres:Tool\\:Secret\\\\Passw0rd-7f3a9c\n`);
      expect(call.passfile).toMatch(new RegExp(`/dlh-migrate-${process.pid}-[A-Za-z0-9]{6}/pgpass$`));
      expect(existsSync(call.passfile), `${call.passfile} removed`).toBe(false);
      expect(existsSync(join(call.passfile, '..')), 'its directory removed').toBe(false);
    }
    expect(await target.sql('shop')`select name from items`).toEqual([{ name: 'pen' }]);
  });
});
