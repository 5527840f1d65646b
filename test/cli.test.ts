import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Migrator, toServiceResponse } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { seed } from './support/fixtures.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The `datalakehouse-db-migrate` command as a user runs it: the built
 * binary, in a child process, against throwaway clusters; its terminal
 * output in a real pseudo-terminal (util-linux `script`).
 */
describe('the datalakehouse-db-migrate command', () => {
  let source: Cluster;
  let target: Cluster;
  let buildDir: string;
  let bin: string;

  /** The clusters as the environment names them, so no password is ever in argv. */
  const uris = (): Record<string, string> => ({ SOURCE_SERVICE_URI: source.uri(), TARGET_SERVICE_URI: target.uri() });

  /** Runs the binary with only `env` (and PATH) in its environment, stdout and stderr on pipes. */
  function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Ran> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env['PATH'] ?? '', TMPDIR: tmpdir(), ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  function jsonLines(stdout: string): Record<string, unknown>[] {
    return stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  beforeAll(async () => {
    // Built as the package ships it, into a directory of its own that resolves the project's dependencies.
    buildDir = mkdtempSync(join(tmpdir(), 'dlh-cli-build-'));
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
    writeFileSync(join(buildDir, 'package.json'), JSON.stringify({ type: 'module', version: manifest.version }));
    symlinkSync(join(root, 'node_modules'), join(buildDir, 'node_modules'));
    const outDir = join(buildDir, 'dist');
    mkdirSync(outDir);
    bin = join(buildDir, manifest.bin['datalakehouse-db-migrate'] ?? 'missing-bin');
    const build = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir, '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false']);
    const clusters = startClusters([{ major: 15 }, { major: 15 }]).then(async (started) => {
      const [src] = started as [Cluster, Cluster];
      await Promise.all([seed(src, 'shop', 'shop'), seed(src, 'archive', 'archive')]);
      await src.exec('create database ledger');
      await src.exec(`create table entry (id bigint primary key, note text); insert into entry select g, md5(g::text) from generate_series(1, 20000) g;`, 'ledger');
      await src.exec('create database journal');
      await src.exec(`create table page (id bigint primary key, body text); insert into page select g, md5(g::text) from generate_series(1, 5000) g;`, 'journal');
      await src.exec('create database orders');
      await src.exec(`create table line (id bigint primary key, note text); insert into line select g, repeat(md5(g::text), 3) from generate_series(1, 200000) g;`, 'orders');
      return started;
    });
    const [, started] = await Promise.all([build, clusters]);
    [source, target] = started as [Cluster, Cluster];
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  });

  describe('help and usage', () => {
    it.each([
      ['', ['preflight', 'migrate', 'status', 'stop', 'SRC_HOSTNAME', 'DEST_PASSWORD', 'Exit codes']],
      ['preflight', ['--source <uri>', '--databases <names>']],
      ['migrate', ['--dry-run', '--method <method>', '--jobs <n>', '--log-format <format>']],
      ['status', ['--json', '--ignore-databases <names>']],
      ['stop', ['--force', '--timeout <duration>']],
      ['verify', ['--catch-up-timeout <duration>']],
      ['cutover', ['--read-only-source', '--no-verify', '--timeout <duration>']],
    ])('prints help for "%s" and exits 0', async (command, mentions) => {
      const ran = await cli([...(command ? [command] : []), '--help']);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toContain(`Usage: datalakehouse-db-migrate ${command}`.trim());
      for (const mention of mentions) expect(ran.stdout).toContain(mention);
    });

    it('prints its version', async () => {
      const ran = await cli(['--version']);
      expect(ran.code).toBe(0);
      expect(ran.stdout.trim()).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
    });

    it.each([
      [['migrate', '--jbos', '3'], "unknown option '--jbos'"],
      [['migrate', '--jobs', 'many'], "option '--jobs <n>' argument 'many' is invalid"],
      [['migrate', '--method', 'copy'], "option '--method <method>' argument 'copy' is invalid"],
      [['stop', '--timeout', 'soon'], "option '--timeout <duration>' argument 'soon' is invalid"],
      [['migrat'], "unknown command 'migrat'"],
    ])('exits 2 on %j, naming what is wrong', async (args, message) => {
      const ran = await cli(args, uris());
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain(message);
      expect(ran.stdout).toBe('');
    });

    it('exits 2 without a source, naming where one comes from', async () => {
      const ran = await cli(['status'], { TARGET_SERVICE_URI: target.uri() });
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain('No source cluster given');
      expect(ran.stderr).toContain('SOURCE_SERVICE_URI');
    });

    it('never echoes the password of a URI in a mistyped flag', async () => {
      const ran = await cli([`--sorce=${source.uri()}`, 'status']);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain("unknown option '--sorce=");
      expect(ran.stderr).not.toContain(source.password);
    });
  });

  describe('against two clusters', () => {
    it('preflight --json prints the report as one JSON document and exits 0', async () => {
      const ran = await cli(['preflight', '--json', '--databases', 'shop,archive'], uris());
      expect(ran.code, ran.stderr).toBe(0);
      const report = JSON.parse(ran.stdout) as { ok: boolean; checks: { id: string }[]; databases: { dbname: string; method: string }[] };
      expect(report.ok).toBe(true);
      expect(report.checks.map((c) => c.id)).toContain('wal-level');
      expect(report.databases.map((d) => [d.dbname, d.method])).toEqual([
        ['archive', 'pg_dump'],
        ['shop', 'replication'],
      ]);
    });

    it('migrate --dry-run prints the plan as text and changes nothing', async () => {
      const ran = await cli(['migrate', '--dry-run', '--databases', 'shop,archive', '--log-format', 'text'], uris());
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stdout).toMatch(/^shop +replication +create/m);
      expect(ran.stdout).toMatch(/^archive +pg_dump +create +not replicated: /m);
      expect(ran.stdout).toContain('Dry run: nothing was changed.');
      expect(await target.sql()`select datname from pg_database where datname in ('shop', 'archive')`).toHaveLength(0);
    });

    it('migrate on a pipe writes one JSON line per event, then the service response, and exits 0', async () => {
      const ran = await cli(['migrate', '--databases', 'shop,archive', '--jobs', '2'], uris());
      expect(ran.code, ran.stderr).toBe(0);
      const lines = jsonLines(ran.stdout);
      const events = lines.slice(0, -1);
      expect(events.length).toBeGreaterThan(10);
      for (const event of events) expect(typeof event['type']).toBe('string');
      expect(events.filter((e) => e['type'] === 'database:done').map((e) => [e['dbname'], e['status']]).sort()).toEqual([
        ['archive', 'done'],
        ['shop', 'syncing'],
      ]);
      expect(events.some((e) => e['type'] === 'copy:progress')).toBe(true);
      expect(lines.at(-1)).toEqual({
        migration: { error: null, method: '', status: 'done' },
        migration_detail: [
          { dbname: 'archive', error: null, method: 'pg_dump', status: 'done' },
          { dbname: 'shop', error: null, method: 'replication', status: 'syncing' },
        ],
      });
    });

    it('status --json prints exactly the service response', async () => {
      const ran = await cli(['status', '--json', '--databases', 'shop,archive'], uris());
      expect(ran.code, ran.stderr).toBe(0);
      const migrator = new Migrator({ source: source.uri(), target: target.uri(), databases: ['shop', 'archive'] });
      const status = (await migrator.status())._unsafeUnwrap();
      await migrator.close();
      expect(JSON.parse(ran.stdout)).toStrictEqual(toServiceResponse(status));
      expect(Object.keys(JSON.parse(ran.stdout) as object)).toEqual(['migration', 'migration_detail']);
    });

    it("status prints the migration guide's table, then a row per database", async () => {
      const ran = await cli(['status', '--databases', 'shop,archive'], uris());
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stdout).toBe(
        [
          'STATUS  METHOD  ERROR',
          '======  ======  =====',
          'done            null',
          '',
          'DBNAME   STATUS   METHOD       ERROR',
          '=======  =======  ===========  =====',
          'archive  done     pg_dump      null',
          'shop     syncing  replication  null',
          '',
        ].join('\n'),
      );
    });

    it('takes both clusters from the SRC_* and DEST_* fields and never prints a password', async () => {
      const env = (dest: Partial<Record<string, string>> = {}): Record<string, string> => ({
        SRC_HOSTNAME: source.host,
        SRC_PORT: String(source.port),
        SRC_DATABASE: 'postgres',
        SRC_USERNAME: source.username,
        SRC_PASSWORD: source.password,
        SRC_SSL: 'false',
        DEST_HOSTNAME: target.host,
        DEST_PORT: String(target.port),
        DEST_USERNAME: target.username,
        DEST_PASSWORD: target.password,
        DEST_SSL: 'disable',
        ...dest,
      });
      const status = await cli(['status', '--json', '--databases', 'shop,archive'], env());
      expect(status.code, status.stderr).toBe(0);
      expect((JSON.parse(status.stdout) as { migration: { status: string } }).migration.status).toBe('done');

      const preflight = await cli(['preflight', '--log-format', 'json', '--databases', 'shop'], env());
      expect(preflight.code, preflight.stderr).toBe(0);
      expect(jsonLines(preflight.stdout).some((line) => line['type'] === 'check')).toBe(true);

      // A URI written without its password takes it from SRC_PASSWORD / DEST_PASSWORD.
      const filled = await cli(['status', '--json', '--databases', 'shop,archive'], {
        SOURCE_SERVICE_URI: source.uri('postgres', { password: '' }),
        SRC_PASSWORD: source.password,
        TARGET_SERVICE_URI: target.uri('postgres', { password: '' }),
        DEST_PASSWORD: target.password,
      });
      expect(filled.code, filled.stderr).toBe(0);
      expect(JSON.parse(filled.stdout)).toEqual(JSON.parse(status.stdout));

      const wrong = 'not-the-password-3f1c';
      const refused = await cli(['preflight', '--databases', 'shop'], env({ DEST_PASSWORD: wrong }));
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain('error (auth)');

      for (const ran of [status, preflight, filled, refused]) {
        for (const secret of [source.password, target.password, wrong]) {
          expect(ran.stdout).not.toContain(secret);
          expect(ran.stderr).not.toContain(secret);
        }
      }
    });

    it('verify --json compares every database and exits 0 when all are equal', async () => {
      const ran = await cli(['verify', '--databases', 'shop,archive', '--json'], uris());
      expect(ran.code, ran.stderr).toBe(0);
      const report = JSON.parse(ran.stdout) as { ok: boolean; databases: { dbname: string; status: string }[] };
      expect(report.ok).toBe(true);
      expect(report.databases.map((d) => [d.dbname, d.status]).sort()).toEqual([
        ['archive', 'equal'],
        ['shop', 'equal'],
      ]);
    });

    it('stop ends the migration, leaves no replication object, and exits 0', async () => {
      const ran = await cli(['stop', '--databases', 'shop,archive', '--timeout', '60s', '--log-format', 'text'], uris());
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stderr).toMatch(/^shop: catch-up caught-up /m);
      expect(ran.stderr).toMatch(/^shop: replication stopped$/m);
      expect(ran.stdout).toMatch(/^archive +done +pg_dump +null$/m);
      expect(ran.stdout).toMatch(/^shop +done +replication +null$/m);
      expect(await source.sql()`select slot_name from pg_replication_slots`).toHaveLength(0);
      expect(await source.sql('shop')`select pubname from pg_publication`).toHaveLength(0);
      expect(await target.sql('shop')`select subname from pg_subscription`).toHaveLength(0);
    });

    it('draws a progress bar per database and a summary table in a terminal', async () => {
      const command = `stty cols 140 rows 40 2>/dev/null; exec "${process.execPath}" "${bin}" migrate --databases ledger,journal --method dump`;
      const env = { ...process.env, ...uris() };
      const { stdout } = await run('script', ['-qfec', command, '/dev/null'], { env, maxBuffer: 64 * 1024 * 1024 });
      // What the terminal shows, without cursor movements and colours.
      const screen = stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
      expect(stdout).toContain('\x1b[?25l'); // the cursor hidden while bars are drawn
      expect(screen).toMatch(/ledger +\u2588{24} 100% \| [\d.]+ [KM]iB\/[\d.]+ [KM]iB \| 20,000 rows \| ETA 0s \| done in /);
      expect(screen).toMatch(/journal \u2588{24} 100% \| .* \| 5,000 rows \| ETA 0s \| done in /);
      expect(screen).toContain(['STATUS  METHOD   ERROR', '======  =======  =====', 'done    pg_dump  null'].join('\n'));
      expect(screen).toMatch(/^DBNAME +STATUS +METHOD +ROWS +SIZE +TIME +ERROR$/m);
      expect(screen).toMatch(/^ledger +done +pg_dump +20,000 +[\d.]+ [KM]iB +\S+ +null$/m);
      expect(screen).not.toContain('{"type"');
    });

    it('cancels on Ctrl-C (SIGINT): exit code 130, no replication slot left, and stop then refuses (5) without --force', async () => {
      const child = spawn(process.execPath, [bin, 'migrate', '--databases', 'orders', '--method', 'replication'], {
        env: { PATH: process.env['PATH'] ?? '', TMPDIR: tmpdir(), ...uris() },
      });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const copying = stdout.split('\n').some((line) => line.startsWith('{"type":"copy:progress"') && !line.includes('"bytesDone":0,'));
        if (copying && child.exitCode === null && !child.killed) child.kill('SIGINT');
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, stderr).toBe(130);
      expect(jsonLines(stdout).at(-1)).toMatchObject({ error: { kind: 'cancelled' } });
      expect(stderr).toContain('Cancelling');
      expect(await source.sql()`select slot_name from pg_replication_slots`).toHaveLength(0);
      expect(await source.sql('orders')`select pubname from pg_publication`).toHaveLength(0);
      expect(await target.sql()`select datname from pg_database where datname = 'orders'`).toHaveLength(0);
      expect(readdirSync(tmpdir()).filter((name) => name.startsWith('dlh-migrate-') && name.includes(`-${child.pid}-`))).toEqual([]);

      const refused = await cli(['stop', '--databases', 'orders'], uris());
      expect(refused.code).toBe(5);
      expect(refused.stderr).toContain('stop --force');
    });

    it('quits at once on a second Ctrl-C', async () => {
      // Quitting at once leaves the run's temporary files: they go with this directory.
      const scratch = mkdtempSync(join(tmpdir(), 'dlh-cli-quit-'));
      onTestFinished(() => rmSync(scratch, { recursive: true, force: true }));
      const child = spawn(process.execPath, [bin, 'migrate', '--databases', 'orders', '--method', 'replication'], {
        env: { PATH: process.env['PATH'] ?? '', TMPDIR: scratch, ...uris() },
      });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (!child.killed && stdout.includes('{"type":"copy:start"')) {
          child.kill('SIGINT');
          setTimeout(() => child.kill('SIGINT'), 20);
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code, stderr).toBe(130);
      // It did not wait for the cleanup to report the cancelled run.
      expect(stderr).not.toContain('error (cancelled)');
    });
  });
});
