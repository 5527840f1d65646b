import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Migrator, type MigrationError } from '../src/index.js';
import { startClusters, type Cluster } from './support/cluster.js';
import { recordEvents } from './support/events.js';

const WRONG_PASSWORD = 'Wr0ng-but-Secret-Passw0rd';

describe('connecting', () => {
  let plain: Cluster;
  let tls: Cluster;

  beforeAll(async () => {
    [plain, tls] = (await startClusters([{ major: 15 }, { major: 15, tls: 'required' }])) as [Cluster, Cluster];
  });

  afterAll(async () => {
    await Promise.all([plain?.stop(), tls?.stop()]);
  });

  async function preflightError(source: string, target = plain.uri()): Promise<MigrationError> {
    const migrator = new Migrator({ source, target });
    const result = await migrator.preflight();
    await migrator.close();
    return result._unsafeUnwrapErr();
  }

  it('with a wrong password fails as auth, and the password appears in no error, event, output or server log', async () => {
    const output: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void output.push(args.map(String).join(' '))),
    );
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    });
    try {
      const migrator = new Migrator({ source: plain.uri('postgres', { password: WRONG_PASSWORD }), target: plain.uri() });
      const events = recordEvents(migrator);
      const preflight = await migrator.preflight();
      const migrate = await migrator.migrate();
      const status = await migrator.status();
      await migrator.close();

      expect(preflight._unsafeUnwrapErr()).toMatchObject({ kind: 'auth', side: 'source', hint: expect.stringContaining('password') });
      expect(migrate._unsafeUnwrapErr().kind).toBe('auth');
      for (const value of [preflight, migrate, status, events, output]) {
        expect(JSON.stringify(value)).not.toContain(WRONG_PASSWORD);
      }
      expect(readFileSync(plain.logFile, 'utf8')).not.toContain(WRONG_PASSWORD);
    } finally {
      for (const spy of spies) spy.mockRestore();
      write.mockRestore();
    }
  });

  it('without a password ignores PGPASSWORD, as the client tools and the subscription do: an auth error at preflight, not a failed migration', async () => {
    const before = process.env['PGPASSWORD'];
    process.env['PGPASSWORD'] = plain.password;
    try {
      const error = await preflightError(`postgres://postgres@127.0.0.1:${plain.port}/postgres?sslmode=disable`);
      expect(error).toMatchObject({ kind: 'auth', side: 'source', hint: expect.stringContaining('No password was given for the source') });
      expect(error.hint).toContain('PGPASSWORD');
    } finally {
      if (before === undefined) delete process.env['PGPASSWORD'];
      else process.env['PGPASSWORD'] = before;
    }
  });

  it('to a closed port fails as connection, naming host and port', async () => {
    const error = await preflightError('postgres://postgres:x@127.0.0.1:1/postgres');
    expect(error).toMatchObject({ kind: 'connection', side: 'source', message: expect.stringContaining('127.0.0.1:1') });
  });

  it('to a database that does not exist fails as database-missing', async () => {
    const error = await preflightError(plain.uri('no_such_db'));
    expect(error).toMatchObject({ kind: 'database-missing', database: 'no_such_db' });
  });

  it('without TLS to a server that requires it fails as tls, with the sslmode to use', async () => {
    const error = await preflightError(tls.uri('postgres', { sslmode: 'disable' }));
    expect(error).toMatchObject({ kind: 'tls', hint: expect.stringContaining('sslmode=require') });
  });

  it('with TLS to a server that does not offer it fails as tls', async () => {
    const error = await preflightError(plain.uri('postgres', { sslmode: 'require' }));
    expect(error).toMatchObject({ kind: 'tls' });
  });

  describe('over TLS', () => {
    let files: string;
    let otherCa: string;
    let clientCert: string;
    let clientKey: string;

    beforeAll(() => {
      files = mkdtempSync(join(tmpdir(), 'dlh-tls-files-'));
      otherCa = join(files, 'other-ca.crt');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=another CA', '-keyout', join(files, 'other-ca.key'), '-out', otherCa], { stdio: 'ignore' });
      writeFileSync(join(files, 'not-pem.crt'), 'not a certificate\n');
      // A client certificate the servers do not ask for: libpq sends it only where TLS is used.
      clientCert = join(files, 'client.crt');
      clientKey = join(files, 'client.key');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=postgres', '-keyout', clientKey, '-out', clientCert], { stdio: 'ignore' });
    });

    afterAll(() => {
      if (files) rmSync(files, { recursive: true, force: true });
    });

    /** A source URI on `cluster` with TLS settings, and the preflight error it gets. */
    async function tlsError(cluster: Cluster, sslmode: string, extra: { host?: string; sslrootcert?: string; sslcert?: string; sslkey?: string } = {}): Promise<MigrationError> {
      const uri = new URL(cluster.uri('postgres', { sslmode }));
      if (extra.host) uri.hostname = extra.host;
      for (const key of ['sslrootcert', 'sslcert', 'sslkey'] as const) if (extra[key]) uri.searchParams.set(key, extra[key]);
      const error = await preflightError(uri.toString());
      expect(JSON.stringify(error), 'no password in the error').not.toContain(cluster.password);
      return error;
    }

    it.each(['require', 'verify-ca', 'verify-full'])('under %s to a server without TLS says the server does not offer TLS, not that a certificate is wrong', async (sslmode) => {
      const error = await tlsError(plain, sslmode, { sslrootcert: tls.caFile ?? '' });
      expect(error).toMatchObject({ kind: 'tls', side: 'source', message: expect.stringContaining('does not offer TLS') });
      expect(error.hint).toMatch(/Enable TLS on the source server .*or connect with sslmode=prefer or disable/);
      expect(error.hint).not.toMatch(/certificate|sslrootcert/i);
    });

    it.each(['verify-ca', 'verify-full'])('under %s with sslrootcert of another CA says the certificate is not trusted by that file', async (sslmode) => {
      const error = await tlsError(tls, sslmode, { sslrootcert: otherCa });
      expect(error).toMatchObject({ kind: 'tls', side: 'source', message: expect.stringContaining('certificate is not trusted') });
      expect(error.hint).toContain(`not signed by a CA in sslrootcert "${otherCa}"`);
    });

    it('under require with sslrootcert verifies the chain against it, as libpq does: another CA is a tls error up front', async () => {
      const error = await tlsError(tls, 'require', { sslrootcert: otherCa });
      expect(error).toMatchObject({ kind: 'tls', side: 'source', message: expect.stringContaining('certificate is not trusted') });
      expect(error.hint).toContain(`not signed by a CA in sslrootcert "${otherCa}"`);
    });

    /** Preflight through 127.1, which reaches the server but is no name in its certificate, with the CA that signed it. */
    async function preflightByAnotherName(sslmode: 'require' | 'verify-ca'): Promise<Awaited<ReturnType<Migrator['preflight']>>> {
      const uri = new URL(tls.uri('postgres', { sslmode }));
      uri.hostname = '127.1';
      uri.searchParams.set('sslrootcert', tls.caFile ?? '');
      const migrator = new Migrator({ source: uri.toString(), target: plain.uri() });
      const report = await migrator.preflight();
      await migrator.close();
      return report;
    }

    it('under require with the sslrootcert that signed the certificate connects, without checking the host name', async () => {
      const report = await preflightByAnotherName('require');
      expect(report.isOk(), JSON.stringify(report)).toBe(true);
    });

    it.each([
      ['allow', 'a server without TLS', 'plain'],
      ['allow', 'a server that accepts only TLS', 'tls'],
      ['prefer', 'a server without TLS', 'plain'],
    ] as const)('under %s to %s connects, as libpq does, even with a client certificate', async (sslmode, _what, which) => {
      const cluster = which === 'plain' ? plain : tls;
      const migrator = new Migrator({
        source: { ...cluster.fields(), ssl: sslmode, sslcert: clientCert, sslkey: clientKey },
        target: plain.uri(),
      });
      const report = await migrator.preflight();
      await migrator.close();
      expect(report.isOk(), JSON.stringify(report)).toBe(true);
    });

    it('under allow without a client certificate to a server that accepts only TLS connects', async () => {
      const migrator = new Migrator({ source: tls.uri('postgres', { sslmode: 'allow' }), target: plain.uri() });
      const report = await migrator.preflight();
      await migrator.close();
      expect(report.isOk(), JSON.stringify(report)).toBe(true);
    });

    it('under verify-full without sslrootcert says none was given', async () => {
      const error = await tlsError(tls, 'verify-full');
      expect(error).toMatchObject({ kind: 'tls', side: 'source', hint: expect.stringContaining('No sslrootcert was given') });
    });

    it('under verify-full to a host name the certificate does not name says so, and what it names', async () => {
      // 127.1 reaches 127.0.0.1, but is not a name in the certificate (IP 127.0.0.1, DNS localhost).
      const error = await tlsError(tls, 'verify-full', { host: '127.1', sslrootcert: tls.caFile ?? '' });
      expect(error).toMatchObject({ kind: 'tls', side: 'source', message: expect.stringContaining('not for the host name "127.1"') });
      expect(error.hint).toContain('IP Address:127.0.0.1, DNS:localhost');
      expect(error.hint).toContain('sslmode=verify-ca');
      expect(error.hint).not.toContain('not signed by');
    });

    it('under verify-ca to that host name connects, since only the CA is checked', async () => {
      const report = await preflightByAnotherName('verify-ca');
      expect(report.isOk(), JSON.stringify(report)).toBe(true);
    });

    it.each([
      ['sslrootcert', 'does not exist', { sslrootcert: '/nonexistent/ca.crt' }, '/nonexistent/ca.crt'],
      ['sslrootcert', 'is a directory', { sslrootcert: tmpdir() }, tmpdir()],
      ['sslrootcert', 'holds no PEM certificate', { sslrootcert: 'NOT_PEM' }, 'not-pem.crt'],
      ['sslcert', 'holds no PEM certificate', { sslcert: 'NOT_PEM', sslkey: 'NOT_PEM' }, 'not-pem.crt'],
      ['sslkey', 'is set but sslcert is not', { sslkey: 'NOT_PEM' }, 'not-pem.crt'],
    ] as const)('with a %s file that %s fails as options naming the setting and the file', async (setting, problem, extra, file) => {
      const paths = Object.fromEntries(Object.entries(extra).map(([key, value]) => [key, value === 'NOT_PEM' ? join(files, 'not-pem.crt') : value]));
      const error = await tlsError(tls, 'verify-full', { sslrootcert: tls.caFile ?? '', ...paths });
      expect(error).toMatchObject({ kind: 'options', side: 'source' });
      expect(error.message).toContain(setting);
      expect(error.message).toContain(problem);
      expect(error.message).toContain(file);
    });
  });

  it('verifies the server certificate against sslrootcert under verify-full', async () => {
    const migrator = new Migrator({
      source: `${tls.uri('postgres', { sslmode: 'verify-full' })}&sslrootcert=${encodeURIComponent(tls.caFile ?? '')}`,
      target: plain.uri(),
    });
    const report = await migrator.preflight();
    await migrator.close();
    expect(report.isOk(), JSON.stringify(report)).toBe(true);
  });

  it('migrates over verify-full TLS, the client tools connecting exactly as the library does', async () => {
    await tls.exec('create database secure; ');
    await tls.exec('create table notes (id int primary key, body text); insert into notes values (1, $$sealed$$)', 'secure');
    const migrator = new Migrator({
      source: { ...tls.fields(), ssl: 'verify-full', sslrootcert: tls.caFile ?? '' },
      target: plain.uri(),
      method: 'dump',
      databases: ['secure'],
    });
    const status = await migrator.migrate();
    await migrator.close();
    expect(status._unsafeUnwrap().databases).toEqual([expect.objectContaining({ dbname: 'secure', status: 'done' })]);
    const rows = await plain.sql('secure')`select body from notes`;
    expect(rows).toEqual([{ body: 'sealed' }]);
  });

  it('names the tools to install when pg_dump is missing', async () => {
    const migrator = new Migrator({ source: plain.uri(), target: plain.uri(), pgBinDir: '/nonexistent/bin' });
    const report = (await migrator.preflight())._unsafeUnwrap();
    const migrate = await migrator.migrate();
    await migrator.close();
    expect(report.checks.find((c) => c.id === 'pg-dump')).toMatchObject({ status: 'fail', hint: expect.stringContaining('apt-get install postgresql-client') });
    expect(migrate._unsafeUnwrapErr()).toMatchObject({ kind: 'preflight', message: expect.stringContaining('/nonexistent/bin') });
  });

  it('refuses to migrate a cluster into itself', async () => {
    const migrator = new Migrator({ source: plain.uri(), target: plain.uri() });
    const result = await migrator.migrate();
    await migrator.close();
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'preflight', message: expect.stringContaining('same cluster') });
  });
});
