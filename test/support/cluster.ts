/**
 * Throwaway PostgreSQL clusters for tests and the demo: `initdb` in a
 * temporary directory, a free loopback port, password authentication over
 * TCP, optional TLS, and `pg_ctl stop` however the test ends. As root, the
 * server runs as the `postgres` OS user, because PostgreSQL refuses root.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, appendFileSync, writeFileSync, unlinkSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres, { type Sql } from 'postgres';
import { binariesFor, type Major } from './binaries.js';
import { installExtrasExtension } from './extras-extension.js';

export type { Major } from './binaries.js';
export { binariesFor } from './binaries.js';

const run = promisify(execFile);

export interface ClusterOptions {
  readonly major?: Major;
  /** Installs the `datalakehouse_extras` extension's files into this major's server before it starts. */
  readonly extras?: boolean;
  readonly walLevel?: 'logical' | 'replica';
  /** `on`: TLS offered with a self-signed certificate; `required`: plain TCP connections refused. */
  readonly tls?: 'off' | 'on' | 'required';
  readonly settings?: Readonly<Record<string, string | number>>;
  readonly password?: string;
  /** Runs the logging collector, so `pg_current_logfile()` names a log the server itself can read. */
  readonly logCollector?: boolean;
  /** The directory the cluster's own directory is made in; the system's temporary directory by default. */
  readonly baseDir?: string;
}

export interface Cluster {
  readonly major: Major;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** The CA certificate that signed the server's, when TLS is on. */
  readonly caFile: string | undefined;
  uri(database?: string, overrides?: { password?: string; sslmode?: string }): string;
  fields(database?: string): { host: string; port: number; database: string; username: string; password: string; ssl: 'disable' | 'require' };
  /** A pool on `database` (default `postgres`), closed by {@link stop}. */
  sql(database?: string): Sql;
  /** Runs a multi-statement script. */
  exec(text: string, database?: string): Promise<void>;
  /** Stops the server as a crash (`immediate`) or an administrator (`fast`) would, keeping its data and port. */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  /**
   * {@link stopServer} (as a crash, by default) finished before it returns: a
   * fault injected inside an event listener, which cannot await, lands before
   * the library's next step.
   */
  stopServerNow(mode?: 'fast' | 'immediate'): void;
  /** Starts a server stopped by {@link stopServer} again, on the same data directory and port. */
  startServer(): Promise<void>;
  /** {@link stopServer} then {@link startServer}. */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  stop(): Promise<void>;
}

/** Where every running cluster is listed, so the global teardown can stop what a crashed worker left. */
export const REGISTRY = join(tmpdir(), 'dlh-migrate-test-clusters');

const running = new Set<{ pgCtl: string; dataDir: string; root: string }>();
process.on('exit', () => {
  for (const cluster of running) stopNow(cluster.pgCtl, cluster.dataDir, cluster.root);
});

function asPostgres(): boolean {
  return process.getuid?.() === 0;
}

function owner(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  };
}

function command(binary: string, args: readonly string[]): [string, string[]] {
  return asPostgres() ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, [...args]];
}

/** Stops a cluster at once and removes its files; used where nothing can be awaited. */
export function stopNow(pgCtl: string, dataDir: string, root: string): void {
  if (existsSync(join(dataDir, 'postmaster.pid'))) {
    const [file, args] = command(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30']);
    spawnSync(file, args, { stdio: 'ignore' });
  }
  rmSync(root, { recursive: true, force: true });
  rmSync(join(REGISTRY, registryName(root)), { force: true });
}

function registryName(root: string): string {
  return root.replace(/[^a-zA-Z0-9]/g, '_');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function makeCertificate(dir: string): Promise<{ cert: string; key: string; ca: string }> {
  const ca = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.crt');
  const ext = join(dir, 'server.ext');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=test CA', '-keyout', caKey, '-out', ca]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', csr]);
  writeFileSync(ext, 'subjectAltName = IP:127.0.0.1, DNS:localhost\n');
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert]);
  return { cert, key, ca };
}

/** Starts one throwaway cluster. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const major = options.major ?? 15;
  const bin = binariesFor(major);
  if (options.extras) installExtrasExtension(major);
  const password = options.password ?? randomBytes(12).toString('hex');
  const tls = options.tls ?? 'off';
  mkdirSync(REGISTRY, { recursive: true });
  const root = mkdtempSync(join(options.baseDir ?? tmpdir(), `dlh-pg${major}-`));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'socket');
  const logFile = join(root, 'server.log');
  const pwfile = join(root, 'pwfile');
  mkdirSync(socketDir);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  const certs = tls === 'off' ? undefined : await makeCertificate(root);
  if (asPostgres()) {
    const { uid, gid } = owner();
    chmodSync(root, 0o755);
    for (const path of [root, socketDir, pwfile, ...(certs ? [certs.key, certs.cert, certs.ca] : [])]) chownSync(path, uid, gid);
  }
  if (certs) chmodSync(certs.key, 0o600);

  const initdb = command(join(bin, 'initdb'), [
    '-D', dataDir, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwfile}`,
    '-E', 'UTF8', '--locale=C.UTF-8', '-N',
  ]);
  try {
    await run(initdb[0], initdb[1]);
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb (PostgreSQL ${major}) failed: ${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
  unlinkSync(pwfile);
  const hostLine = tls === 'required' ? 'hostssl' : 'host';
  writeFileSync(
    join(dataDir, 'pg_hba.conf'),
    [
      'local all all trust',
      `${hostLine} all all 127.0.0.1/32 scram-sha-256`,
      `${hostLine} replication all 127.0.0.1/32 scram-sha-256`,
      ...(tls === 'required' ? ['hostnossl all all 127.0.0.1/32 reject'] : []),
      '',
    ].join('\n'),
  );
  const pgCtl = join(bin, 'pg_ctl');
  const record = { pgCtl, dataDir, root };

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const settings: Record<string, string | number> = {
      listen_addresses: "'127.0.0.1'",
      port,
      unix_socket_directories: `'${socketDir}'`,
      wal_level: options.walLevel ?? 'logical',
      max_replication_slots: 16,
      max_wal_senders: 16,
      max_logical_replication_workers: 8,
      max_worker_processes: 16,
      max_sync_workers_per_subscription: 2,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      shared_buffers: "'32MB'",
      ...(certs ? { ssl: 'on', ssl_cert_file: `'${certs.cert}'`, ssl_key_file: `'${certs.key}'` } : {}),
      ...(options.logCollector ? { logging_collector: 'on', log_directory: "'log'" } : {}),
      ...options.settings,
    };
    appendFileSync(join(dataDir, 'postgresql.conf'), Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
    writeFileSync(join(REGISTRY, registryName(root)), JSON.stringify({ ...record, owner: process.pid }));
    running.add(record);
    const start = command(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60']);
    try {
      await run(start[0], start[1]);
      return makeCluster({ major, port, password, dataDir, logFile, caFile: certs?.ca, tls, record });
    } catch (error) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (attempt < 3 && /could not bind|Address already in use/.test(log)) continue;
      running.delete(record);
      stopNow(pgCtl, dataDir, root);
      throw new Error(`PostgreSQL ${major} did not start: ${String(error)}\n${log.split('\n').slice(-20).join('\n')}`);
    }
  }
}

/** Starts clusters in parallel; if one fails, the others are stopped and the failure rethrown. */
export async function startClusters(options: readonly ClusterOptions[]): Promise<Cluster[]> {
  const results = await Promise.allSettled(options.map((o) => startCluster(o)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<Cluster>).value);
}

function makeCluster(spec: {
  major: Major;
  port: number;
  password: string;
  dataDir: string;
  logFile: string;
  caFile: string | undefined;
  tls: 'off' | 'on' | 'required';
  record: { pgCtl: string; dataDir: string; root: string };
}): Cluster {
  const pools = new Map<string, Sql>();
  const host = '127.0.0.1';
  const sslmode = spec.tls === 'off' ? 'disable' : 'require';
  let stopped = false;
  const cluster: Cluster = {
    major: spec.major,
    host,
    port: spec.port,
    username: 'postgres',
    password: spec.password,
    dataDir: spec.dataDir,
    logFile: spec.logFile,
    caFile: spec.caFile,
    uri(database = 'postgres', overrides = {}) {
      const password = encodeURIComponent(overrides.password ?? spec.password);
      return `postgres://postgres:${password}@${host}:${spec.port}/${encodeURIComponent(database)}?sslmode=${overrides.sslmode ?? sslmode}`;
    },
    fields(database = 'postgres') {
      return { host, port: spec.port, database, username: 'postgres', password: spec.password, ssl: sslmode };
    },
    sql(database = 'postgres') {
      let pool = pools.get(database);
      if (!pool) {
        pool = postgres({
          host,
          port: spec.port,
          database,
          username: 'postgres',
          password: spec.password,
          ssl: spec.tls === 'off' ? false : 'require',
          max: 4,
          onnotice: () => undefined,
        });
        pools.set(database, pool);
      }
      return pool;
    },
    async exec(text, database = 'postgres') {
      await cluster.sql(database).unsafe(text).simple();
    },
    async stopServer(mode = 'fast') {
      const stop = command(spec.record.pgCtl, ['stop', '-D', spec.dataDir, '-m', mode, '-w', '-t', '60']);
      await run(stop[0], stop[1]);
    },
    stopServerNow(mode = 'immediate') {
      const stop = command(spec.record.pgCtl, ['stop', '-D', spec.dataDir, '-m', mode, '-w', '-t', '60']);
      const ended = spawnSync(stop[0], stop[1], { stdio: 'ignore' });
      if (ended.status !== 0) throw new Error(`pg_ctl stop exited with ${String(ended.status ?? ended.signal)}`);
    },
    async startServer() {
      const start = command(spec.record.pgCtl, ['start', '-D', spec.dataDir, '-l', spec.logFile, '-w', '-t', '60']);
      await run(start[0], start[1]);
    },
    async restart(mode = 'fast') {
      await cluster.stopServer(mode);
      await cluster.startServer();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all([...pools.values()].map((pool) => pool.end({ timeout: 1 }).catch(() => undefined)));
      running.delete(spec.record);
      stopNow(spec.record.pgCtl, spec.record.dataDir, spec.record.root);
    },
  };
  return cluster;
}

/**
 * Stops every cluster whose test process died without stopping it. Clusters
 * of a process still running — another test run or a demo on this machine —
 * are theirs to stop.
 */
export function stopLeftovers(): number {
  if (!existsSync(REGISTRY)) return 0;
  let stoppedCount = 0;
  for (const name of readdirSync(REGISTRY)) {
    try {
      const { pgCtl, dataDir, root, owner } = JSON.parse(readFileSync(join(REGISTRY, name), 'utf8')) as {
        pgCtl: string;
        dataDir: string;
        root: string;
        owner?: number;
      };
      if (owner !== undefined && owner !== process.pid && isAlive(owner)) continue;
      stopNow(pgCtl, dataDir, root);
      stoppedCount += 1;
    } catch {
      rmSync(join(REGISTRY, name), { force: true });
    }
  }
  return stoppedCount;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A URI for `role` on `cluster`, as a user of a managed service gets one for a role of their own. */
export function uriAs(cluster: Pick<Cluster, 'host' | 'port'>, role: string, password: string, database: string): string {
  return `postgresql://${encodeURIComponent(role)}:${encodeURIComponent(password)}@${cluster.host}:${cluster.port}/${encodeURIComponent(database)}?sslmode=disable`;
}
